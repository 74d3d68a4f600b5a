"""LSOA code vintages (2011 or 2021) and converting police.uk's codes to the profile's geography.

police.uk gives LSOA 2011 codes for older months and LSOA 2021 codes for recent ones. A month is
recognised as 2021 when it carries any code that only exists in 2021: the new codes ONS added in
2021 follow the last 2011 ones (E01033768 in England, W01001958 in Wales), and a force's month
of crime always touches some of them. Codes of another vintage than the boundaries are converted
with the ONS LSOA 2011 to 2021 lookup; without it, mixing vintages is an error naming both.

>>> import pandas as pd
>>> code_is_2021_only(pd.Series(["E01011698", "E01035001", "W01002000", None])).tolist()
[False, True, True, False]
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .validate import numbers

LAST_2011 = {"E01": 33768, "W01": 1958}


def code_is_2021_only(codes: pd.Series) -> np.ndarray:
    """Codes beyond the last 2011 LSOA code of their country: new in 2021."""
    c = codes.astype("string")
    prefix, number = c.str[:3], numbers(c.str[3:])
    last = prefix.map(LAST_2011).astype("Float64")
    return (number > last).fillna(False).to_numpy(dtype=bool)


def month_vintages(months: pd.Series, codes: pd.Series) -> dict[str, str]:
    """{month: "2011" or "2021"}: a month with any 2021-only code carries 2021 codes.

    >>> month_vintages(pd.Series(["2016-07", "2016-07", "2023-07"]),
    ...                pd.Series(["E01011698", "E01011699", "E01035001"]))
    {'2016-07': '2011', '2023-07': '2021'}
    """
    new = pd.Series(code_is_2021_only(codes), index=months.index).groupby(months.to_numpy()).any()
    return {str(m): ("2021" if v else "2011") for m, v in new.sort_index().items()}


@dataclass
class Conversion:
    codes: pd.Series
    account: dict[str, int]


def convert_codes(
    codes: pd.Series,
    convert: np.ndarray,
    target: str,
    lookup: pd.DataFrame,
    points: np.ndarray,
    boundaries: gpd.GeoDataFrame,
) -> Conversion:
    """Convert the ``convert`` rows of ``codes`` to LSOA ``target`` ("2011" or "2021") codes.

    A code with one counterpart takes it. A code with several (a 2011 LSOA split in 2021, or a
    2021 LSOA merged from several 2011 ones) takes the counterpart whose polygon holds the row's
    point, else the first counterpart. Codes the lookup does not know are left as they are.
    """
    src, tgt = ("lsoa21_code", "lsoa11_code") if target == "2011" else ("lsoa11_code", "lsoa21_code")
    pairs = lookup[[src, tgt]].drop_duplicates().sort_values([src, tgt])
    n_targets = pairs.groupby(src)[tgt].size()
    first = pairs.groupby(src)[tgt].first()
    out = codes.copy()
    n = n_targets.reindex(codes.where(pd.Series(convert, index=codes.index))).to_numpy()
    one = convert & (n == 1)
    several = convert & (n > 1)
    out[one] = first.reindex(codes[one]).to_numpy()
    by_point = np.zeros(len(codes), dtype=bool)
    has_point = several & pd.notna(points)
    if has_point.any():
        tree = shapely.STRtree(boundaries.geometry.to_numpy())
        pt_idx, poly_idx = tree.query(points[has_point], predicate="intersects")
        keep_first = np.unique(pt_idx, return_index=True)[1]
        hit = np.full(int(has_point.sum()), None, dtype=object)
        hit[pt_idx[keep_first]] = boundaries["lsoa_code"].to_numpy()[poly_idx[keep_first]]
        key = codes[has_point].astype("string").to_numpy() + ">" + pd.Series(hit, dtype="string").fillna("").to_numpy()
        ok = pd.Series(key).isin(set(pairs[src] + ">" + pairs[tgt])).to_numpy()
        rows = np.flatnonzero(has_point)[ok]
        out.iloc[rows] = hit[ok]
        by_point[rows] = True
    rest = several & ~by_point
    out[rest] = first.reindex(codes[rest]).to_numpy()
    return Conversion(
        out,
        {
            "one counterpart": int(one.sum()),
            "several counterparts, chosen by the crime's point": int(by_point.sum()),
            "several counterparts, the first taken (point in none of them)": int(rest.sum()),
            "code not in the lookup, left as it is": int((convert & np.isnan(n.astype(float))).sum()),
        },
    )
