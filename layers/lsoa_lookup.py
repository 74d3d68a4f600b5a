"""LSOA -> MSOA / local authority district (LAD) / police force lookup.

Accepts the shipped lookup's headers ("LSOA Code", "Local authority code", "Local authority
name", "MSOA Code", "Police_force") and the ONS Open Geography names (``LSOA11CD``,
``LSOA21CD``, ``MSOA11CD``, ``LAD19CD``/``LAD19NM`` or any year, ``LTLA22CD``, ``PFA19NM``).

Output schema (DataFrame, one row per LSOA):

============ ======== ===============================================
column       type     meaning
============ ======== ===============================================
lsoa_code    string   LSOA code
lsoa_name    string   LSOA name (missing if absent)
msoa_code    string   MSOA code (missing if absent)
msoa_name    string   MSOA name (missing if absent)
lad_code     string   local authority district code, e.g. E08000035
lad_name     string   local authority district name, e.g. Leeds
force_name   string   police force area (missing if absent)
============ ======== ===============================================

Files with one row per output area (OA) list each LSOA many times: repeated rows that agree are
dropped as "repeated LSOA row"; an LSOA listed under two districts keeps its first district and
the rest are dropped with that reason.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> cat = load_catalog(demo_catalog_path())
>>> data = load(cat.paths("lsoa_lookup"), cat.layers["lsoa_lookup"])
>>> data.frame.groupby("lad_name").size().to_dict()
{'Bradford': 310, 'Calderdale': 128, 'Kirklees': 259, 'Leeds': 482, 'Wakefield': 209}
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING


from ..account import LayerData, RecordAccount, repeats
from ..validate import (LAD_CODE, LAD_CODE_WHAT, LSOA_CODE, LSOA_CODE_WHAT, combine_files, name_empty_files,
                        read_columns, require_pattern, whole_rows)

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "lookup"
REQUIRED = True  # every profile needs one layer in this role

COLUMNS: dict[str, tuple[list[str], bool]] = {
    "lsoa_code": (["LSOA Code", r"re:lsoa\d\dcd", "lsoacd", "lsoa_code"], True),
    "lsoa_name": (["LSOA Name", r"re:lsoa\d\dnm", "lsoanm"], False),
    "msoa_code": (["MSOA Code", r"re:msoa\d\dcd", "msoacd"], False),
    "msoa_name": (["MSOA Name", r"re:msoa\d\dnm", "msoanm"], False),
    "lad_code": (["Local authority code", r"re:lad\d\dcd", r"re:ltla\d\dcd", "ladcd"], True),
    "lad_name": (["Local authority name", r"re:lad\d\dnm", r"re:ltla\d\dnm", "ladnm"], True),
    "force_name": (["Police_force", "Police force", r"re:pfa\d\dnm", "pfanm"], False),
}


HINT = "an LSOA lookup needs an LSOA code and a local authority code and name, e.g. LSOA11CD, LAD19CD, LAD19NM"


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read the lookup CSV(s) in ``paths`` into one row per LSOA."""
    parts = []
    for p in paths:
        part = read_columns(p, COLUMNS, file=p, encoding=spec.encoding, hint=HINT)
        # the LSOA or district column of another geography, or mapped to the wrong field: one line
        for col, pattern, what in (("lsoa_code", LSOA_CODE, LSOA_CODE_WHAT), ("lad_code", LAD_CODE, LAD_CODE_WHAT)):
            require_pattern(part[col], pattern, file=p, column=part.attrs["headers"][col], what=what,
                            whole=whole_rows(part))
        parts.append((str(p), part))
    df, truncated, empty = combine_files(parts, needs="a lookup needs a row per LSOA")
    acc = RecordAccount(read=len(df))
    complete = df[["lsoa_code", "lad_code", "lad_name"]].notna().all(axis=1)
    first_lad = df[complete].drop_duplicates("lsoa_code").set_index("lsoa_code")["lad_code"]
    agrees = (df["lad_code"] == df["lsoa_code"].map(first_lad)).fillna(False).to_numpy()
    keep = acc.partition([
        *truncated,
        ("missing LSOA code, district code or district name", ~complete),
        ("LSOA code malformed (not E01 or W01 and 6 digits)",
         ~df["lsoa_code"].str.upper().str.fullmatch(LSOA_CODE).fillna(False).to_numpy(dtype=bool)),
        ("repeated LSOA row", lambda kept: repeats(df["lsoa_code"], kept) & agrees),
        ("LSOA listed under a second district (first kept)", lambda kept: repeats(df["lsoa_code"], kept)),
    ])
    acc.check(spec.adapter)
    return LayerData(df[keep].reset_index(drop=True), acc, name_empty_files(empty, acc, {}))
