"""Nominals for prioritisation (force only): people with their OCG membership and role, offence
counts, intelligence grading and the month of their latest intelligence, one row per nominal.

Reads CSVs with the columns ``Nominal ID``, ``OCG ID`` (blank for none), ``Role`` (Principal /
Significant / Peripheral member), ``Offences 12m``, ``Violent offences 12m`` (optional),
``Intelligence grading`` (3x5x2: source evaluation 1-3 and intelligence assessment A-E, e.g.
``1B``), ``Last intelligence`` (``YYYY-MM``) and a location (``Easting``/``Northing`` or
``Postcode``). The layer must be restricted: a catalog that marks it open is an error, and it is
never read for partner or public outputs.

Output schema (GeoDataFrame, EPSG:27700): ``nominal_id``, ``ocg_id``, ``role``, ``offences_12m``,
``violent_12m``, ``grading``, ``last_intelligence``, ``postcode``, ``geometry``.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> from localprofile.loading import LoadContext
>>> cat = load_catalog(demo_catalog_path())
>>> data = LoadContext(cat).layer("nominals")            # SYNTHETIC
>>> len(data.frame), sorted(data.frame["role"].unique())
(92, ['Peripheral member', 'Principal member', 'Significant member'])
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..account import LayerData, RecordAccount, repeats
from ..errors import InputError
from ..points import locate, point_frame
from ..validate import combine_files, name_empty_files, read_columns, require_pattern, to_number, whole_rows

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "nominals"
REQUIRED = False
USES_CONTEXT = True  # geocodes through the catalog's postcode layers: cached by them too

COLUMNS = {
    "nominal_id": (["Nominal ID", "nominal_id", "id"], True),
    "ocg_id": (["OCG ID", "ocg_id"], False),
    "role": (["Role", "OCG role"], True),
    "offences_12m": (["Offences 12m", "offences_12m"], True),
    "violent_12m": (["Violent offences 12m", "violent_12m"], False),
    "grading": (["Intelligence grading", "grading"], True),
    "last_intelligence": (["Last intelligence", "last_intelligence"], True),
    "postcode": (["Postcode"], False),
    "easting": (["Easting"], False),
    "northing": (["Northing"], False),
}
HINT = "a nominal table has Nominal ID, Role, Offences 12m, Intelligence grading and Last intelligence"
GRADING = r"[123][A-E]"
MONTH = r"\d{4}-(0[1-9]|1[0-2])"


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read the nominal CSV(s) in ``paths`` into one located row per nominal."""
    if spec.sensitivity != "restricted":
        raise InputError("a nominal layer holds people's records: its sensitivity must be restricted",
                         key="sensitivity")
    parts = []
    for p in paths:
        part = read_columns(p, COLUMNS, file=p, encoding=spec.encoding, hint=HINT)
        whole = whole_rows(part)
        h = part.attrs["headers"]
        require_pattern(part["grading"], GRADING, file=p, column=h["grading"],
                        what="a 3x5x2 grading (1-3 and A-E, e.g. 1B)", whole=whole)
        require_pattern(part["last_intelligence"], MONTH, file=p, column=h["last_intelligence"],
                        what="YYYY-MM", whole=whole)
        for col in ("offences_12m", "violent_12m"):
            if h[col]:
                part[col] = to_number(part[col].where(whole), file=p, column=h[col], allow_missing=True)
        parts.append((str(p), part))
    df, truncated, empty = combine_files(parts, needs="a nominal layer needs a row per nominal")
    label = parts[0][0]
    loc = locate(df, easting="easting", northing="northing", postcode="postcode", file=label, ctx=ctx,
                 layer=spec.label or "nominals")
    acc = RecordAccount(read=len(df))
    grading = df["grading"].str.upper()
    # roles as the matrix names them, whatever their case ("principal member")
    known = {"principal member": "Principal member", "significant member": "Significant member",
             "peripheral member": "Peripheral member"}
    df["role"] = df["role"].str.strip().str.lower().map(known).fillna(df["role"])
    negative = (pd.to_numeric(df["offences_12m"]) < 0) | (pd.to_numeric(df["violent_12m"]) < 0)
    keep = acc.partition([
        *truncated,
        ("no nominal ID", df["nominal_id"].isna()),
        ("intelligence grading not 1-3 and A-E", ~grading.fillna("").str.fullmatch(GRADING)),
        ("last intelligence not YYYY-MM", ~df["last_intelligence"].fillna("").str.fullmatch(MONTH)),
        ("no offence count", pd.isna(df["offences_12m"]).to_numpy()),
        ("negative offence count", negative.fillna(False).to_numpy()),
        *loc.reasons,
        ("duplicate nominal ID", lambda kept: repeats(df["nominal_id"], kept)),
    ])
    values = {c: df[c] for c in ("nominal_id", "ocg_id", "role", "last_intelligence")}
    values["grading"] = grading
    frame = point_frame(values, loc, keep).drop(columns=["id", "name", "category"])
    frame["offences_12m"] = pd.to_numeric(df.loc[keep, "offences_12m"]).to_numpy(dtype=float)
    frame["violent_12m"] = pd.to_numeric(df.loc[keep, "violent_12m"]).fillna(0).to_numpy(dtype=float)
    acc.check(spec.adapter)
    return LayerData(frame, acc, name_empty_files(empty, acc, {}))
