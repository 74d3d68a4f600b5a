"""Census 2021 usual resident population by LSOA 2021, from Nomis bulk CSVs.

Nomis bulk downloads (e.g. TS001 ``census2021-ts001-lsoa.csv``) have the columns ``date``,
``geography``, ``geography code`` and one column per measure, named like "Residence type:
Total; measures: Value". The population is the first measure column whose category is a total
("...: Total; measures: Value", "All persons", "All usual residents"), or the column named by
``options: {column: ...}``.

Output schema: as :mod:`localprofile.layers.census2011_population` (lsoa_code, population,
households and hectares NaN), ``meta["vintage"] == "2021"``.

>>> import pandas as pd, tempfile, pathlib
>>> from localprofile.catalog import LayerSpec
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"date": [2021, 2021], "geography": ["Leeds 001A", "Leeds 001B"],
...     "geography code": ["E01011698", "E01035000"],
...     "Residence type: Total; measures: Value": ["1,650", "1530"],
...     "Residence type: Lives in a household; measures: Value": [1650, 1500],
... }).to_csv(d / "census2021-ts001-lsoa.csv", index=False)
>>> spec = LayerSpec(adapter="census2021_population", path="x", vintage="v", licence="l", attribution="a", sensitivity="open")
>>> load([d / "census2021-ts001-lsoa.csv"], spec).frame["population"].tolist()
[1650, 1530]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from ..account import LayerData, RecordAccount, repeats
from ..errors import InputError
from ..validate import (LSOA_CODE, LSOA_CODE_WHAT, combine_files, find_column, name_empty_files, read_csv,
                        require_pattern, to_number, whole_rows)

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "population"
REQUIRED = True
EDITION = "Census 2021"  # how the profile names the source

_TOTAL = [r"re:.*total.*measuresvalue", r"re:.*allpersons.*", r"re:.*allusualresidents.*"]


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    column: str | None = None


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read usual residents by LSOA 2021 from Nomis bulk CSV(s)."""
    opts = spec.opts()
    parts = []
    for path in paths:
        raw = read_csv(path, file=path, encoding=spec.encoding)
        code = find_column(raw.columns, ["geography code", "LSOA21CD", "lsoa_code"], file=path,
                           what="geography code", hint="a Nomis bulk CSV has date, geography, geography code")
        col = find_column(raw.columns, [opts.column] if opts.column else _TOTAL, file=path,
                          what=opts.column or "total population", hint="name it with options.column")
        # no row of an LSOA (an MSOA or district download, say): one line, not a layer of drops
        whole = whole_rows(raw)  # the short last row of a cut-off file is dropped, not checked
        require_pattern(raw[code], LSOA_CODE, file=path, column=code, what=LSOA_CODE_WHAT, whole=whole)
        raw.loc[~whole] = pd.NA
        pop = to_number(raw[col], file=path, column=col, allow_missing=True)
        if (pop < 0).any():
            r = int(np.flatnonzero(pop < 0)[0])
            raise InputError("population cannot be negative", file=path, row=r + 2, column=col)
        part = pd.DataFrame({"lsoa_code": raw[code], "population": pop, "households": np.nan, "hectares": np.nan})
        part.attrs["truncated"] = not whole.all()
        parts.append((str(path), part))
    df, truncated, empty = combine_files(parts, needs="a population table needs a row per LSOA")
    acc = RecordAccount(read=len(df))
    keep = acc.partition([
        *truncated,
        ("no LSOA code", df["lsoa_code"].isna()),
        ("not an LSOA (another geography in the file)", ~df["lsoa_code"].fillna("").str.fullmatch(r"[EW]01\d{6}")),
        ("no population figure", df["population"].isna()),
        ("duplicate LSOA code", lambda kept: repeats(df["lsoa_code"], kept)),
    ])
    df = df.loc[keep].reset_index(drop=True)
    df["population"] = df["population"].round().astype("int64")
    acc.check(spec.adapter)
    return LayerData(df, acc, name_empty_files(empty, acc, {"vintage": "2021", "column": col}))
