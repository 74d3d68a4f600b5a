"""ONS LSOA (2011) to LSOA (2021) lookup: how each 2011 LSOA became 2021 LSOAs.

Columns ``LSOA11CD``, ``LSOA21CD`` and ``CHGIND``, the change indicator: U unchanged, S split
(one 2011 LSOA into several 2021 ones), M merged (several into one), X irregular (redrawn).
With it, police.uk months carrying LSOA 2021 codes (from 2023) and older months carrying 2011
codes are profiled together on the boundaries' geography; without it, mixing them is an error.

Output schema (DataFrame, one row per 2011-2021 pair): ``lsoa11_code``, ``lsoa21_code``,
``change`` (U, S, M or X).

>>> import pandas as pd, tempfile, pathlib
>>> from localprofile.catalog import LayerSpec
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"LSOA11CD": ["E01000001", "E01000002", "E01000002"],
...     "LSOA21CD": ["E01000001", "E01035001", "E01035002"], "CHGIND": ["U", "S", "S"]}
... ).to_csv(d / "LSOA11_LSOA21_LAD22_EW_LU.csv", index=False)
>>> spec = LayerSpec(adapter="lsoa11_lsoa21_lookup", path="x", vintage="v", licence="l", attribution="a", sensitivity="open")
>>> load([d / "LSOA11_LSOA21_LAD22_EW_LU.csv"], spec).frame.values.tolist()
[['E01000001', 'E01000001', 'U'], ['E01000002', 'E01035001', 'S'], ['E01000002', 'E01035002', 'S']]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING


from ..account import LayerData, RecordAccount, repeats
from ..validate import (LSOA_CODE, LSOA_CODE_WHAT, combine_files, name_empty_files, read_columns,
                        require_pattern, whole_rows)

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "lsoa_vintage_lookup"
REQUIRED = False

COLUMNS = {
    "lsoa11_code": (["LSOA11CD", "lsoa11cd"], True),
    "lsoa21_code": (["LSOA21CD", "lsoa21cd"], True),
    "change": (["CHGIND", "change indicator"], True),
}
HINT = "the ONS LSOA 2011 to 2021 lookup has LSOA11CD, LSOA21CD and CHGIND"


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read the 2011 -> 2021 LSOA lookup CSV(s)."""
    parts = []
    for p in paths:
        part = read_columns(p, COLUMNS, file=p, encoding=spec.encoding, hint=HINT)
        for col in ("lsoa11_code", "lsoa21_code"):
            require_pattern(part[col], LSOA_CODE, file=p, column=part.attrs["headers"][col],
                            what=LSOA_CODE_WHAT, whole=whole_rows(part))
        parts.append((str(p), part))
    df, truncated, empty = combine_files(parts, needs="the 2011 to 2021 lookup needs a row per LSOA")
    df["change"] = df["change"].str.upper()
    acc = RecordAccount(read=len(df))
    keep = acc.partition([
        *truncated,
        ("missing LSOA 2011 or 2021 code", df["lsoa11_code"].isna() | df["lsoa21_code"].isna()),
        ("change indicator not U, S, M or X", ~df["change"].isin(["U", "S", "M", "X"])),
        ("repeated pair", lambda kept: repeats(df["lsoa11_code"] + ">" + df["lsoa21_code"], kept)),
    ])
    acc.check(spec.adapter)
    return LayerData(df[keep].reset_index(drop=True), acc, name_empty_files(empty, acc, {}))
