"""English Indices of Deprivation 2019 by LSOA 2011: IMD and domain ranks and deciles.

Reads the shipped ranks/deciles file (``lsoa11_code``, ``IMD_rank``, ``IMD_decile``,
``Crime_rank`` ...) and the official IoD2019 "File 7" CSV ("LSOA code (2011)", "Index of Multiple
Deprivation (IMD) Rank (where 1 is most deprived)", "... Decile (where 1 is most deprived 10% of
LSOAs)", domain columns likewise).

Output schema (DataFrame, one row per LSOA). Rank 1 is the most deprived of 32,844 English LSOAs;
decile 1 is the most deprived 10%.

================================= ======= ==============================================
column                            type    meaning
================================= ======= ==============================================
lsoa_code                         string  LSOA 2011 code
imd_rank, imd_decile              int     Index of Multiple Deprivation
imd_score                         float   IMD score (File 7 only; NaN otherwise)
<domain>_rank, <domain>_decile    int     for each domain present: income, employment,
                                          education, health, crime, housing, environment;
                                          and idaci (children in income deprivation)
================================= ======= ==============================================

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> cat = load_catalog(demo_catalog_path())
>>> data = load(cat.paths("imd2019"), cat.layers["imd2019"])
>>> len(data.frame), int(data.frame["imd_decile"].min()), int(data.frame["imd_decile"].max())
(1388, 1, 10)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..account import LayerData, RecordAccount, repeats
from ..errors import InputError
from ..validate import (LSOA_CODE, LSOA_CODE_WHAT, combine_files, find_column, name_empty_files, read_csv,
                        require_pattern, to_number, whole_rows)

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "deprivation"
REQUIRED = True  # every profile needs one layer in this role
EDITION = "IMD 2019 (English Indices of Deprivation 2019)"  # how the profile names the source

_CODE = ["lsoa11_code", "LSOA code (2011)", "LSOA11CD", "lsoa_code"]
# field -> (shipped name stem, File 7 name stem as a normalised regular-expression prefix)
_FIELDS = {
    "imd": ("IMD", "indexofmultipledeprivationimd"),
    "income": ("Income", "income"),
    "employment": ("Employment", "employment"),
    "education": ("Education", "educationskillsandtraining"),
    "health": ("Health", "healthdeprivationanddisability"),
    "crime": ("Crime", "crime"),
    "housing": ("Housing_and_Access", "barrierstohousingandservices"),
    "environment": ("Environment", "livingenvironment"),
    # the income domain's supplementary index for children (File 7 has it; the shipped file not)
    "idaci": ("IDACI", "incomedeprivationaffectingchildrenindexidaci"),
}
N_LSOA_ENGLAND = 32844
N_LSOA = N_LSOA_ENGLAND  # the ranks run from 1 to this (the overlay words deciles with it)
DOMAINS = tuple(_FIELDS)  # imd and the seven domains, as <domain>_rank / <domain>_decile


VINTAGE = "2011"  # the LSOA vintage of the codes


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read IMD 2019 ranks and deciles by LSOA from the CSV(s) in ``paths``."""
    return load_indices(paths, spec, code_columns=_CODE, n_lsoa=N_LSOA_ENGLAND, edition="IoD2019",
                        vintage=VINTAGE)


def load_indices(
    paths: list[Path], spec: LayerSpec, *, code_columns: list[str], n_lsoa: int, edition: str,
    vintage: str,
) -> LayerData:
    """Read an English Indices of Deprivation edition: ranks run from 1 to ``n_lsoa``."""
    parts = []
    for path in paths:
        raw = read_csv(path, file=path, encoding=spec.encoding)
        code = find_column(raw.columns, code_columns, file=path, what="LSOA code")
        whole = whole_rows(raw)  # the short last row of a cut-off file is dropped, not checked
        # no row with an LSOA code (another geography, or the wrong column): one line
        require_pattern(raw[code], LSOA_CODE, file=path, column=code, what=LSOA_CODE_WHAT, whole=whole)
        raw.loc[~whole] = pd.NA
        out = pd.DataFrame({"lsoa_code": raw[code]})
        for field, (stem, f7) in _FIELDS.items():
            required = field == "imd"
            for kind, lo, hi in (("rank", 1, n_lsoa), ("decile", 1, 10)):
                col = find_column(
                    raw.columns,
                    [f"{stem}_{kind}", f"re:{f7}{kind}.*"],
                    file=path,
                    what=f"{stem}_{kind}",
                    required=required,
                    hint=f"or the {edition} File 7 'Index of Multiple Deprivation (IMD) "
                    f"{kind.title()} ...'",
                )
                if col is None:
                    continue
                vals = to_number(raw[col], file=path, column=col, allow_missing=True)
                bad = np.isfinite(vals) & ((vals < lo) | (vals > hi) | (vals != np.round(vals)))
                if bad.any():
                    i = int(np.flatnonzero(bad)[0])
                    raise InputError(
                        f"expected a whole number from {lo} to {hi}, found '{raw[col].iloc[i]}'",
                        file=path,
                        row=i + 2,
                        column=col,
                    )
                out[f"{field}_{kind}"] = pd.Series(vals, index=raw.index).astype("Int64")
        score = find_column(raw.columns, [r"re:indexofmultipledeprivationimdscore.*"], file=path,
                            what="IMD score", required=False)
        out["imd_score"] = (
            to_number(raw[score], file=path, column=score, allow_missing=True) if score else np.nan
        )
        out.attrs.update(raw.attrs)
        parts.append((str(path), out))
    df, truncated, empty = combine_files(parts, needs=f"{edition} needs a row per LSOA")
    acc = RecordAccount(read=len(df))
    keep = acc.partition([
        *truncated,
        ("no LSOA code", df["lsoa_code"].isna()),
        ("LSOA code malformed (not E01 or W01 and 6 digits)",
         ~df["lsoa_code"].astype("string").str.upper().str.fullmatch(LSOA_CODE).fillna(False).to_numpy(dtype=bool)),
        ("no IMD rank or decile", df["imd_rank"].isna() | df["imd_decile"].isna()),
        ("duplicate LSOA code", lambda kept: repeats(df["lsoa_code"], kept)),
    ])
    df = df.loc[keep].reset_index(drop=True)
    acc.check(spec.adapter)
    return LayerData(df, acc, name_empty_files(empty, acc, {"vintage": vintage}))
