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

import pandas as pd


def count_by_lsoa(codes: pd.Series, lsoas: pd.Index) -> pd.Series:
    """How many of ``codes`` fall in each LSOA of ``lsoas`` (codes elsewhere are ignored)."""
    return codes.value_counts().reindex(lsoas, fill_value=0).astype("int64")


def rate_per_1000(counts: pd.Series, population: pd.Series) -> pd.Series:
    """Crimes per 1,000 residents; NaN where the population is missing or zero."""
    pop = population.reindex(counts.index).astype(float)
    return (counts / pop.where(pop > 0) * 1000).astype(float)


def deprivation_shares(counts: pd.Series, decile: pd.Series, population: pd.Series) -> dict:
    """Share of crimes (and of residents) in the district's LSOAs among the 10% and 20% most
    deprived in England (IMD decile 1, and deciles 1-2).

    >>> idx = pd.Index(["A", "B", "C", "D"])
    >>> deprivation_shares(pd.Series([6, 2, 1, 1], index=idx), pd.Series([1, 2, 5, 9], index=idx),
    ...                    pd.Series([100, 100, 100, 100], index=idx))["crimes_most_deprived_10pc"]
    0.6
    """
    dec = decile.reindex(counts.index)
    pop = population.reindex(counts.index).astype(float)
    total, residents = float(counts.sum()), float(pop.sum())
    out = {}
    for pc, top in ((10, 1), (20, 2)):
        sel = (dec <= top).fillna(False).to_numpy()
        out[f"crimes_most_deprived_{pc}pc"] = round(float(counts[sel].sum()) / total, 4) if total else None
        out[f"residents_most_deprived_{pc}pc"] = round(float(pop[sel].sum()) / residents, 4) if residents else None
    return out


def top_locations(locations: pd.Series, n: int = 10) -> list[tuple[str, int]]:
    """The ``n`` most frequent police.uk locations ("On or near ...") with their counts."""
    vc = locations.dropna().value_counts().head(n)
    return [(str(k), int(v)) for k, v in vc.items()]


def decile_counts(counts: pd.Series, decile: pd.Series) -> list[int]:
    """Crimes in the district's LSOAs by IMD decile 1..10."""
    dec = decile.reindex(counts.index)
    return [int(counts[(dec == d).fillna(False).to_numpy()].sum()) for d in range(1, 11)]


