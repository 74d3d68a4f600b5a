"""Schools from Get Information About Schools (GIAS) or the older EduBase extracts.

Reads current GIAS downloads (``edubasealldata*.csv``, Windows-1252: ``URN``,
``EstablishmentName``, ``TypeOfEstablishment (name)``, ``EstablishmentStatus (name)``,
``PhaseOfEducation (name)``, ``Easting``, ``Northing``, ``Postcode``) and the older EduBase
spelled-out names ("Establishment name", "Type of establishment", "Establishment status", "Phase
of education", "Postcode"; no coordinates). Rows are placed by easting/northing where given,
else by postcode through the catalog's postcode files. Closed establishments are left out
(counted) unless ``options: {include_closed: true}``.

Output schema (GeoDataFrame, EPSG:27700, one row per establishment): ``id`` (URN), ``name``,
``category`` (phase of education), ``postcode``, ``lsoa_code`` (from the postcode files, when
they give one), ``type`` (type of establishment), ``status``, ``geometry``.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> from localprofile.loading import LoadContext
>>> cat = load_catalog(demo_catalog_path())
>>> data = LoadContext(cat).layer("schools")
>>> data.account.read, data.account.used, data.account.dropped
(214, 211, {'postcode terminated': 3})
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from ..account import LayerData, RecordAccount, repeats
from ..errors import InputError
from ..points import locate, point_frame
from ..sources import iter_tables
from ..validate import combine_files, name_empty_files, read_columns

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "points"
REQUIRED = False
USES_CONTEXT = True  # geocodes through the catalog's postcode layers: cached by them too


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    include_closed: bool = False


COLUMNS = {
    "urn": (["URN"], True),
    "name": (["EstablishmentName", "Establishment name"], True),
    "type": (["TypeOfEstablishment (name)", "Type of establishment"], False),
    "status": (["EstablishmentStatus (name)", "Establishment status"], False),
    "phase": (["PhaseOfEducation (name)", "Phase of education"], False),
    "easting": (["Easting"], False),
    "northing": (["Northing"], False),
    "postcode": (["Postcode"], False),
}
HINT = "a GIAS or EduBase schools file has URN, EstablishmentName and Easting/Northing or Postcode"


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read GIAS/EduBase CSVs (loose or zipped) into one point per open establishment."""
    tables = [(read_columns(io.BytesIO(t.read_bytes()), COLUMNS, file=t.label, encoding=spec.encoding,
                            hint=HINT), t.label) for t in iter_tables(paths, r".+\.csv")]
    df, truncated, empty = combine_files([(lab, f.assign(source=lab)) for f, lab in tables],
                                         needs="a schools layer needs at least one row")
    label = tables[0][1]
    acc = RecordAccount(read=len(df))
    has_xy = df["easting"].notna().any()
    if not has_xy and df["postcode"].isna().all():
        raise InputError(
            "no Easting/Northing or Postcode values to place the schools", file=label,
            column="Postcode",
        )
    loc = locate(
        df,
        easting="easting" if has_xy else None,
        northing="northing" if has_xy else None,
        postcode="postcode" if df["postcode"].notna().any() else None,
        file=label,
        ctx=ctx,
        layer="schools",
    )
    closed = df["status"].fillna("").str.lower().str.startswith("closed").to_numpy()
    keep = acc.partition([
        *truncated,
        ("no URN", df["urn"].isna()),
        ("closed establishment", closed & (not spec.opts().include_closed)),
        *loc.reasons,
        ("duplicate URN", lambda kept: repeats(df["urn"], kept)),
    ])
    acc.note("placed by postcode (coordinates unusable)", int((keep & loc.by_postcode).sum()))
    frame = point_frame(
        {"id": df["urn"], "name": df["name"], "category": df["phase"], "type": df["type"],
         "status": df["status"]},
        loc, keep,
    )
    acc.check(spec.adapter)
    meta = name_empty_files(empty, acc, {})  # header-only files among others: named in validate and the profile
    return LayerData(frame, acc, meta)
