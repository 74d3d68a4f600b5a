"""English Indices of Deprivation 2025 by LSOA 2021: IMD and domain ranks and deciles.

The same columns as IoD2019's "File 7" ("LSOA code (2021)", "Index of Multiple Deprivation
(IMD) Rank (where 1 is most deprived)", "... Decile (where 1 is most deprived 10% of LSOAs)",
domain columns likewise); ranks run from 1 (most deprived) to 33,755, the LSOAs of England in
2021. The output schema is :mod:`localprofile.layers.imd2019`'s. A profile on LSOA 2011
boundaries cannot use it (the build says so, naming both vintages).

>>> import pandas as pd, tempfile, pathlib
>>> from localprofile.catalog import LayerSpec
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> pd.DataFrame({"LSOA code (2021)": ["E01035000"],
...     "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)": [33700],
...     "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)": [10],
... }).to_csv(d / "File_7_IoD2025.csv", index=False)
>>> spec = LayerSpec(adapter="iod2025", path="x", vintage="v", licence="l", attribution="a", sensitivity="open")
>>> data = load([d / "File_7_IoD2025.csv"], spec)
>>> data.frame[["lsoa_code", "imd_rank", "imd_decile"]].values.tolist(), data.meta["vintage"]
([['E01035000', 33700, 10]], '2021')
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..account import LayerData
from .imd2019 import load_indices

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "deprivation"
REQUIRED = True
EDITION = "IMD 2025 (English Indices of Deprivation 2025)"  # how the profile names the source
VINTAGE = "2021"
N_LSOA_ENGLAND_2021 = 33755
N_LSOA = N_LSOA_ENGLAND_2021  # the ranks run from 1 to this (the overlay words deciles with it)


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read IoD 2025 ranks and deciles by LSOA 2021 from the CSV(s) in ``paths``."""
    return load_indices(
        paths, spec, code_columns=["LSOA code (2021)", "LSOA21CD", "lsoa21_code", "lsoa_code"],
        n_lsoa=N_LSOA_ENGLAND_2021, edition="IoD2025", vintage=VINTAGE,
    )
