"""Census 2011 usual resident population by LSOA.

Reads the shipped ONS/Nomis table, whose header repeats "Persons" three times (all usual
residents, household residents, communal establishment residents) and whose numbers carry
thousands separators ("1,563"). The first "Persons" column is taken as the population. Tables
with an "All usual residents" column (Nomis KS101EW style), or "Usual residents" (the shipped
England and Wales table), are read too.

Output schema (DataFrame, one row per LSOA):

============ ======= =====================================================
column       type    meaning
============ ======= =====================================================
lsoa_code    string  LSOA 2011 code
population   int     usual residents, Census day 27 March 2011
households   float   households (NaN when the table has none)
hectares     float   area in hectares (NaN when the table has none)
============ ======= =====================================================

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> cat = load_catalog(demo_catalog_path())
>>> data = load(cat.paths("census_population"), cat.layers["census_population"])
>>> int(data.frame["population"].sum())   # West Yorkshire, Census 2011
2226058
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

ROLE = "population"
REQUIRED = True  # every profile needs one layer in this role
EDITION = "Census 2011"  # how the profile names the source

_CODE = ["LSOA Code", "LSOA11CD", "geography code", "lsoa_code"]
_POP = ["Persons", "All usual residents", "Usual residents", r"re:.*allusualresidents.*"]


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read usual residents by LSOA from the CSV(s) in ``paths``."""
    parts = []
    for path in paths:
        # header=None keeps repeated header names as they are written ("Persons" x 3).
        raw = read_csv(path, file=path, encoding=spec.encoding, header=None)
        header = [("" if pd.isna(h) else str(h)) for h in raw.iloc[0]]
        whole = whole_rows(raw)[1:]  # the short last row of a cut-off file is dropped, not checked
        body = raw.iloc[1:].reset_index(drop=True)
        body.columns = range(len(header))
        body.loc[~whole] = pd.NA
        by_name = {h: i for i, h in reversed(list(enumerate(header)))}  # first occurrence wins

        def col(cands: list[str], what: str, required: bool = True) -> int | None:
            name = find_column(by_name, cands, file=path, what=what, required=required)
            return None if name is None else by_name[name]

        code_i = col(_CODE, "LSOA code")
        pop_i = col(_POP, "population (Persons / All usual residents)")
        require_pattern(body[code_i], LSOA_CODE, file=path, column=header[code_i], what=LSOA_CODE_WHAT, whole=whole)
        out = pd.DataFrame({"lsoa_code": body[code_i]})
        out.attrs["truncated"] = not whole.all()
        out["population"] = to_number(body[pop_i], file=path, column=header[pop_i], allow_missing=True)
        for name, cands in (("households", ["Households"]), ("hectares", ["Hectares"])):
            i = col(cands, name, required=False)
            out[name] = (
                to_number(body[i], file=path, column=header[i], allow_missing=True)
                if i is not None
                else np.nan
            )
        negative = out["population"] < 0
        if negative.any():
            r = int(np.flatnonzero(negative.to_numpy())[0])
            raise InputError("population cannot be negative", file=path, row=r + 2, column=header[pop_i])
        parts.append((str(path), out))
    df, truncated, empty = combine_files(parts, needs="a population table needs a row per LSOA")
    acc = RecordAccount(read=len(df))
    keep = acc.partition([
        *truncated,
        ("no LSOA code", df["lsoa_code"].isna()),
        ("LSOA code malformed (not E01 or W01 and 6 digits)",
         ~df["lsoa_code"].str.upper().str.fullmatch(LSOA_CODE).fillna(False).to_numpy(dtype=bool)),
        ("no population figure", df["population"].isna()),
        ("duplicate LSOA code", lambda kept: repeats(df["lsoa_code"], kept)),
    ])
    df = df.loc[keep].reset_index(drop=True)
    df["population"] = df["population"].round().astype("int64")
    acc.check(spec.adapter)
    return LayerData(df, acc, name_empty_files(empty, acc, {"vintage": "2011"}))
