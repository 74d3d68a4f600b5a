"""Counts and rates per LSOA, deprivation context, and the most frequent locations.

>>> import pandas as pd
>>> lsoas = pd.Index(["A", "B", "C"])
>>> counts = count_by_lsoa(pd.Series(["A", "A", "C", "Z"]), lsoas)
>>> counts.tolist()
[2, 0, 1]
>>> rate_per_1000(counts, pd.Series([1000, 500, 0], index=lsoas)).tolist()
[2.0, 0.0, nan]
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def count_by_lsoa(codes: pd.Series, lsoas: pd.Index) -> pd.Series:
    """How many of ``codes`` fall in each LSOA of ``lsoas`` (codes elsewhere are ignored)."""
    return codes.value_counts().reindex(lsoas, fill_value=0).astype("int64")


def rate_per_1000(counts: pd.Series, population: pd.Series) -> pd.Series:
    """Crimes per 1,000 residents; NaN where the population is missing or zero."""
    pop = population.reindex(counts.index).astype(float)
    return (counts / pop.where(pop > 0) * 1000).astype(float)


def deprivation_shares(by_decile: list[int]) -> dict[str, float | None]:
    """Shares of a total (crimes, or residents) in the LSOAs among the 10% and 20% most deprived
    in England, from its counts by IMD decile 1..10 (:func:`decile_counts`). An LSOA without a
    decile counts in neither share, nor in the total.

    >>> deprivation_shares([6, 2, 0, 0, 1, 0, 0, 0, 1, 0])
    {'most_deprived_10pc': 0.6, 'most_deprived_20pc': 0.8}
    """
    total = sum(by_decile)
    if not total:
        return {"most_deprived_10pc": None, "most_deprived_20pc": None}
    return {
        "most_deprived_10pc": round(by_decile[0] / total, 4),
        "most_deprived_20pc": round((by_decile[0] + by_decile[1]) / total, 4),
    }


def top_locations(locations: pd.Series, x=None, y=None, n: int = 10) -> list[tuple[str, int, float, float]]:
    """The ``n`` police.uk map points with the most crimes: (location, crimes, easting,
    northing), most crimes first (ties by name, then coordinates).

    A map point is its "On or near ..." text *and* its coordinates: Leeds has many "On or near
    Supermarket" points, each its own place, never added up into one line. Crimes without a map
    point (``x``/``y`` NaN) are left out. Without ``x`` and ``y`` the text alone is the key.

    >>> loc = pd.Series(["On or near Supermarket"] * 3 + ["On or near Briggate"] * 2)
    >>> top_locations(loc, [1.0, 1.0, 9.0, 5.0, 5.0], [2.0, 2.0, 9.0, 5.0, 5.0])
    [('On or near Briggate', 2, 5.0, 5.0), ('On or near Supermarket', 2, 1.0, 2.0), ('On or near Supermarket', 1, 9.0, 9.0)]
    """
    names = pd.Series(locations).reset_index(drop=True)
    if x is None or y is None:
        vc = names.dropna().value_counts().head(n)
        return [(str(k), int(v), float("nan"), float("nan")) for k, v in vc.items()]
    f = pd.DataFrame({"location": names, "x": np.asarray(x, float), "y": np.asarray(y, float)})
    f = f[f["location"].notna() & np.isfinite(f["x"]) & np.isfinite(f["y"])]
    counts = f.groupby(["location", "x", "y"], sort=False).size().rename("crimes").reset_index()
    counts = counts.sort_values(["crimes", "location", "x", "y"], ascending=[False, True, True, True]).head(n)
    return [(str(r.location), int(r.crimes), float(r.x), float(r.y)) for r in counts.itertuples()]


def cell_locations(cell, locations, x, y, cells, n: int = 3) -> pd.DataFrame:
    """The ``n`` police.uk map points with the most crimes in each of ``cells`` (flat cell
    indices): one row per map point (``cell``, ``location``, ``crimes``, ``x``, ``y``), by cell,
    most crimes first (ties by name, then coordinates). ``cell`` gives each crime's flat cell
    index (-1 off the grid), as :meth:`Grid.cell_index` does. A map point is its text *and* its
    coordinates, as in :func:`top_locations`: two supermarkets in one cell are two lines.

    >>> loc = ["On or near Briggate"] * 3 + ["On or near Supermarket"] * 2 + ["On or near Park"]
    >>> cell_locations([7, 7, 7, 7, 7, 2], loc, [1, 1, 1, 2, 3, 5], [1, 1, 1, 2, 3, 5], cells=[7], n=2)
       cell                location  crimes    x    y
    0     7     On or near Briggate       3  1.0  1.0
    1     7  On or near Supermarket       1  2.0  2.0
    """
    f = pd.DataFrame({"cell": np.asarray(cell, np.int64), "location": pd.Series(locations, dtype=object).to_numpy(),
                      "x": np.asarray(x, float), "y": np.asarray(y, float)})
    f = f[f["cell"].isin(np.asarray(cells, np.int64)) & f["location"].notna()
          & np.isfinite(f["x"]) & np.isfinite(f["y"])]
    counts = f.groupby(["cell", "location", "x", "y"], sort=False).size().rename("crimes").reset_index()
    counts = counts.sort_values(["cell", "crimes", "location", "x", "y"], ascending=[True, False, True, True, True])
    out = counts.groupby("cell", sort=False).head(n).reset_index(drop=True)
    return out[["cell", "location", "crimes", "x", "y"]]


def decile_counts(counts: pd.Series, decile: pd.Series) -> list[int]:
    """Crimes in the district's LSOAs by IMD decile 1..10."""
    dec = decile.reindex(counts.index)
    return [int(counts[(dec == d).fillna(False).to_numpy()].sum()) for d in range(1, 11)]


