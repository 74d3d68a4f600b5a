"""Priority neighbourhoods: threat x vulnerability, the Staffordshire overlay.

Each indicator (a column of ``indicators``, one row per neighbourhood) is normalised (ranks to
0-1 by default, or z-scores), weighted (equal by default) into a threat score and a
vulnerability score; their product ranks the neighbourhoods (1 = first). Each neighbourhood also
gets a 3 x 3 bivariate class (low / medium / high threat x vulnerability, by thirds of the
district's neighbourhoods) and the three indicators that lift it most.

>>> import pandas as pd
>>> ind = pd.DataFrame({"drugs": [9, 1, 4], "deprivation": [0.9, 0.2, 0.1]}, index=["A", "B", "C"])
>>> p = priority(ind, kinds={"drugs": "threat", "deprivation": "vulnerability"})
>>> p.table[["rank", "threat", "vulnerability", "priority"]]
   rank  threat  vulnerability  priority
A     1     1.0            1.0       1.0
C     2     0.5            0.0       0.0
B     3     0.0            0.5       0.0
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from .choices import Choice

KINDS = ("threat", "vulnerability")
METHODS = ("rank", "zscore")
CLASSES = ("low", "medium", "high")


def normalise(values, method: str = "rank") -> np.ndarray:
    """One indicator on a common scale: ``rank`` maps the lowest value to 0 and the highest to 1
    (ties share their mean rank, so the scale ignores outliers and units); ``zscore`` is
    (value - mean) / standard deviation. Missing values stay missing; a constant indicator is 0
    everywhere (it separates no neighbourhood).

    >>> normalise([3.0, 1.0, 1.0, 10.0]).tolist()
    [0.6666666666666666, 0.16666666666666666, 0.16666666666666666, 1.0]
    >>> normalise([1.0, 2.0, 3.0], "zscore").round(3).tolist()
    [-1.225, 0.0, 1.225]
    """
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    out = np.full(v.shape, np.nan)
    if method not in METHODS:
        raise ValueError(f"method: '{method}' is not one of {', '.join(METHODS)}")
    if ok.sum() < 2 or np.ptp(v[ok]) == 0:
        out[ok] = 0.0
        return out
    if method == "rank":
        out[ok] = (stats.rankdata(v[ok]) - 1) / (ok.sum() - 1)
    else:
        out[ok] = (v[ok] - v[ok].mean()) / v[ok].std()
    return out


@dataclass
class Priority:
    """The ranked neighbourhoods (``table``, indexed by unit code, rank 1 first) and the
    normalised indicators behind them (``normalised``)."""

    table: pd.DataFrame
    normalised: pd.DataFrame
    weights: dict[str, float]
    kinds: dict[str, str]
    choices: list[Choice] = field(default_factory=list)


def _score(norm: pd.DataFrame, names: list[str], weights: dict[str, float]) -> np.ndarray:
    """Weighted mean of the normalised ``names``; a missing indicator leaves the mean over the
    others (its weight is not counted), all missing gives NaN."""
    if not names:
        return np.full(len(norm), np.nan)
    v = norm[names].to_numpy(dtype=float)
    w = np.array([weights[n] for n in names], dtype=float)
    have = np.isfinite(v)
    num = np.where(have, v, 0.0) @ w
    den = have.astype(float) @ w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / den, np.nan)


def _ranking(norm: pd.DataFrame, codes: np.ndarray, kinds: dict[str, str], weights: dict[str, float]):
    """Threat, vulnerability, their product and the order of the rows, first to last (by the
    product, then threat, then code)."""
    threat = _score(norm, [c for c in norm.columns if kinds[c] == "threat"], weights)
    vuln = _score(norm, [c for c in norm.columns if kinds[c] == "vulnerability"], weights)
    prod = threat * vuln
    order = np.lexsort((codes, -np.nan_to_num(threat, nan=-np.inf), -np.nan_to_num(prod, nan=-np.inf)))
    return threat, vuln, prod, order


def _thirds(score: np.ndarray, order_key: np.ndarray) -> np.ndarray:
    """low / medium / high by thirds of the neighbourhoods, ranked by ``score`` (ties by
    ``order_key``, so the class does not depend on row order); NaN scores are "low"."""
    n = len(score)
    order = np.lexsort((order_key, np.nan_to_num(score, nan=-np.inf)))  # ascending
    position = np.empty(n, dtype=int)
    position[order] = np.arange(n)
    third = np.minimum(3 * position // max(n, 1), 2)
    return np.array(CLASSES, dtype=object)[third]


def priority(indicators: pd.DataFrame, kinds: dict[str, str], weights: dict[str, float] | None = None,
             method: str = "rank", drivers: int = 3) -> Priority:
    """Rank neighbourhoods by threat x vulnerability.

    Parameters
    ----------
    indicators : DataFrame
        One row per neighbourhood, indexed by its code; one column per indicator, higher meaning
        more threat or more vulnerability (give deprivation as a score, or minus the rank).
    kinds : dict
        Each indicator's kind: "threat" or "vulnerability".
    weights : dict, optional
        Each indicator's weight (default 1: equal weights).
    method : {"rank", "zscore"}
        How indicators are normalised (:func:`normalise`). Scores are weighted means of the
        normalised indicators; with z-scores they are shifted to start at 0 before the product,
        so that the product still orders "high and high" first.
    drivers : int
        How many indicators to name per neighbourhood (those with the highest weighted
        normalised value).

    Returns
    -------
    Priority
        ``table``: rank (1 = first; ties by threat, then code, so the row order of
        ``indicators`` never matters), threat, vulnerability, priority (their product),
        threat_class, vulnerability_class, bivariate ("high threat, high vulnerability") and
        driver_1 .. driver_n (indicator names); ``normalised``: the normalised indicators.

    Examples
    --------
    >>> from localprofile.demo import demo_stages
    >>> from localprofile.stages.lsoa_base import lsoa_base
    >>> cat, i, p = demo_stages("Leeds", core_only=True)           # shipped data
    >>> b = lsoa_base(p.area, i.frame)
    >>> crimes = p.assignment.lsoa_code[p.in_district].value_counts().reindex(b.index, fill_value=0)
    >>> ind = pd.DataFrame({"crimes": crimes.to_numpy(), "deprivation": -b.lsoa["imd_rank"].to_numpy()},
    ...                    index=b.index)
    >>> pr = priority(ind, {"crimes": "threat", "deprivation": "vulnerability"})
    >>> len(pr.table), int((pr.table["bivariate"] == "high threat, high vulnerability").sum())
    (482, 101)
    >>> first = pr.table.iloc[0]
    >>> int(first["rank"]), first["bivariate"], first["driver_1"]
    (1, 'high threat, high vulnerability', 'deprivation')
    """
    if not isinstance(indicators, pd.DataFrame) or indicators.index.has_duplicates:
        raise ValueError("indicators: a DataFrame with one row per neighbourhood (unique codes)")
    unknown = [c for c in indicators.columns if kinds.get(c) not in KINDS]
    if unknown:
        raise ValueError(f"kinds: give each indicator's kind (threat or vulnerability): {', '.join(map(str, unknown))}")
    weights = {c: float((weights or {}).get(c, 1.0)) for c in indicators.columns}
    bad = [c for c, w in weights.items() if not np.isfinite(w) or w < 0]
    if bad:
        raise ValueError(f"weights: must be numbers of at least 0: {', '.join(bad)}")
    # rows in code order: every result is then independent of the order rows were given in
    ind = indicators.sort_index()
    norm = pd.DataFrame({c: normalise(ind[c].to_numpy(dtype=float), method) for c in ind.columns},
                        index=ind.index)
    if method == "zscore":  # shift to start at 0, so the product orders high x high first
        norm = norm - norm.min()
    codes = ind.index.to_numpy(dtype=str)
    threat, vuln, prod, order = _ranking(norm, codes, kinds, weights)
    rank = np.empty(len(ind), dtype=int)
    rank[order] = np.arange(1, len(ind) + 1)
    t_class, v_class = _thirds(threat, codes), _thirds(vuln, codes)
    t_class[~np.isfinite(threat)] = "n/a"  # no indicator of that kind: no class either
    v_class[~np.isfinite(vuln)] = "n/a"
    table = pd.DataFrame({
        "rank": rank, "threat": threat, "vulnerability": vuln, "priority": prod,
        "threat_class": t_class, "vulnerability_class": v_class,
        "bivariate": [f"{t} threat, {v} vulnerability" for t, v in zip(t_class, v_class)],
    }, index=ind.index)
    # a driver lifts the unit: its value is above the district's lowest (tied zeros share a mean
    # rank near 0.5, which would otherwise name "0 crimes" as a reason)
    raw = ind.to_numpy(dtype=float)
    with np.errstate(invalid="ignore"):
        lifts = raw > np.nanmin(np.where(np.isfinite(raw), raw, np.inf), axis=0)
    contrib = np.where(lifts, norm.to_numpy(dtype=float) * np.array([weights[c] for c in ind.columns]), -np.inf)
    contrib = np.where(np.isnan(contrib), -np.inf, contrib)
    top = np.argsort(-contrib, axis=1, kind="stable")[:, :drivers]
    names = np.asarray(ind.columns, dtype=object)
    for k in range(min(drivers, ind.shape[1])):
        ok = np.take_along_axis(contrib, top[:, k:k + 1], axis=1)[:, 0] > -np.inf
        table[f"driver_{k + 1}"] = np.where(ok, names[top[:, k]], None)
    table = table.sort_values("rank")
    choices = [Choice("overlay normalisation", method,
                      "ranks to 0-1 (ties share their mean rank): indicators of any unit and any "
                      "skew count alike, and one extreme neighbourhood cannot swamp the rest"
                      if method == "rank" else "z-scores, shifted to start at 0"),
               Choice("overlay weights", "equal" if len(set(weights.values())) <= 1 else "catalog",
                      "threat and vulnerability are the weighted means of their indicators; "
                      + ", ".join(f"{c} {w:g}" for c, w in weights.items()))]
    return Priority(table, norm.loc[table.index], weights, dict(kinds), choices)


def sensitivity(indicators: pd.DataFrame, kinds: dict[str, str], weights: dict[str, float] | None = None,
                method: str = "rank", top: int = 10) -> pd.DataFrame:
    """How many of the ``top`` neighbourhoods stay in the top ``top`` when each indicator's weight
    is halved or doubled (one at a time): one row per indicator, columns ``halved`` and
    ``doubled``.

    >>> ind = pd.DataFrame({"a": [4, 3, 2, 1], "b": [1, 4, 3, 2], "v": [3, 3, 3, 4]}, index=list("pqrs"))
    >>> sensitivity(ind, {"a": "threat", "b": "threat", "v": "vulnerability"}, top=2)
       halved  doubled
    a       1        2
    b       2        1
    v       2        2
    """
    base = priority(indicators, kinds, weights, method)
    first = set(base.table.index[:top])
    norm = base.normalised.sort_index()  # the rows in code order, as priority ranks them
    codes = norm.index.to_numpy(dtype=str)
    rows = {}
    for c in indicators.columns:
        counts = []
        for factor in (0.5, 2.0):
            w = dict(base.weights)
            w[c] *= factor
            order = _ranking(norm, codes, kinds, w)[3]  # priority's order, without its table
            counts.append(len(first & set(norm.index[order[:top]])))
        rows[c] = counts
    return pd.DataFrame.from_dict(rows, orient="index", columns=["halved", "doubled"])
