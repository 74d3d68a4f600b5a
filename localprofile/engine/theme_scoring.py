"""MoRiLE-style theme scoring: a force's scores and the profile's data, one prioritised table.

Per theme: total harm = (sum of the five harm scores) x scope; impact = total harm x victim
vulnerability; risk = impact x likelihood; adjusted risk = risk x confidence / confidence max;
priority = mean of the adjusted risk's rank and the data indicators' mean rank (each 0 to 1).
A missing score is NaN, never 0: that theme has no priority and is ranked after the scored ones.

>>> import pandas as pd
>>> scores = {"version": 1, "scale": {"min": 1, "max": 5}, "themes": {
...     "drugs": {"harm": {"physical": 4, "psychological": 3, "financial": 3, "community": 4,
...                        "environmental": 2},
...               "scope": 4, "victim_vulnerability": 4, "likelihood": 5, "confidence": 3},
...     "robbery": {"harm": {"physical": 3, "psychological": 4, "financial": 3, "community": 3,
...                          "environmental": 1},
...                 "scope": 2, "victim_vulnerability": 3, "likelihood": None, "confidence": 4}}}
>>> ind = pd.DataFrame({"volume": [300, 110, 900], "trend": [12.5, -10.0, float("nan")],
...                     "harm": [float("nan")] * 3, "concentration": [0.38, 0.42, 0.21]},
...                    index=["drugs", "robbery", "anti_social_behaviour"])
>>> t = score_themes(scores, ind)
>>> t[["risk", "data_index", "priority", "rank"]].round(3)
                         risk  data_index  priority  rank
theme
drugs                  1280.0       0.667     0.583     1
anti_social_behaviour     NaN       0.500       NaN     2
robbery                   NaN       0.333       NaN     3
>>> t["missing"].tolist()
['capacity, capability', 'all scores', 'likelihood, capacity, capability']
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..scoring import DIMENSIONS, HARM_DIMENSIONS, ScoringFile, parse_scoring
from .checks import EngineInputError

INDICATORS = ("volume", "trend", "harm", "concentration")
"""The profile's data-driven indicators, each ranked so that more means higher priority."""

MORILE_NEEDS = HARM_DIMENSIONS + ("scope", "victim_vulnerability", "likelihood", "confidence")
"""The scores the risk (and so the priority) needs; capacity and capability feed only the
organisational position."""

COLUMNS = ["total_harm", "impact", "likelihood", "risk", "confidence_factor", "adjusted_risk",
           "risk_rank01", "organisational_position", "data_volume", "data_trend", "data_harm",
           "data_concentration", "data_index", "priority", "rank", "ranked_by", "missing",
           "data_missing"]


def rank01(values: pd.Series) -> pd.Series:
    """Ranks scaled to 0 (lowest) .. 1 (highest): ``(rank - 1) / (n - 1)`` over the ``n`` values
    that are not NaN, ties taking their average rank; NaN stays NaN; a lone value is 0.5.

    >>> rank01(pd.Series([10.0, 30.0, 30.0, float("nan"), 5.0])).round(4).tolist()
    [0.3333, 0.8333, 0.8333, nan, 0.0]
    """
    n = int(values.notna().sum())
    if n == 1:
        return values.where(values.isna(), 0.5).astype(float)
    return (values.rank(method="average") - 1) / (n - 1)


def _check_indicators(indicators: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(indicators, pd.DataFrame):
        raise EngineInputError(f"indicators must be a DataFrame, not {type(indicators).__name__}")
    absent = [c for c in INDICATORS if c not in indicators.columns]
    if absent:
        raise EngineInputError(f"indicators: no column {', '.join(absent)} "
                               f"(needs {', '.join(INDICATORS)})")
    if not indicators.index.is_unique:
        dup = indicators.index[indicators.index.duplicated()][0]
        raise EngineInputError(f"indicators: theme '{dup}' appears more than once")
    df = indicators[list(INDICATORS)].apply(pd.to_numeric, errors="raise").astype(float)
    for col in INDICATORS:
        v = df[col]
        if np.isinf(v).any():
            raise EngineInputError(f"indicators: {col} of '{v.index[np.isinf(v)][0]}' is infinite")
        if col == "volume" and v.isna().any():
            raise EngineInputError(f"indicators: volume of '{v.index[v.isna()][0]}' is NaN")
        if col != "trend" and (v < 0).any():
            raise EngineInputError(f"indicators: {col} of '{v.index[v < 0][0]}' is negative")
    c = df["concentration"]
    if (c > 1).any():
        raise EngineInputError(f"indicators: concentration of '{c.index[c > 1][0]}' is above 1 "
                               "(it is a share of crimes)")
    return df


def score_themes(scores: ScoringFile | dict, indicators: pd.DataFrame, *,
                 scores_weight: float = 0.5) -> pd.DataFrame:
    """Combine a force's MoRiLE-style scores with the profile's data into a prioritised table.

    Parameters
    ----------
    scores : ScoringFile or dict
        The force's scores (:func:`localprofile.scoring.load_scoring`), or the same as a plain
        mapping, validated here (a problem is one :class:`~localprofile.errors.InputError`).
        Every theme it scores must be a row of ``indicators`` (a slug with no score is let be).
    indicators : DataFrame indexed by theme slug
        The profile's data-driven indicators: ``volume`` (crimes, required), ``trend``
        (percent change, NaN when there is none), ``harm`` (harm-weighted volume, NaN when
        unconfigured) and ``concentration`` (share of the theme's crimes in hot cells or at
        repeat locations, 0 to 1, NaN allowed). Other columns are ignored.
    scores_weight : float, default 0.5
        The scores' share of the priority; the data index has the rest.

    Returns
    -------
    DataFrame
        One row per theme of ``indicators``, in rank order, index ``theme``:

        - ``total_harm`` = (physical + psychological + financial + community + environmental)
          x scope; ``impact`` = total_harm x victim_vulnerability; ``likelihood``;
          ``risk`` = impact x likelihood;
        - ``confidence_factor`` = confidence / the confidence scale's max;
          ``adjusted_risk`` = risk x confidence_factor;
        - ``risk_rank01``: :func:`rank01` of adjusted_risk among the scored themes;
        - ``organisational_position`` = (capacity / its max + capability / its max) / 2, shown
          beside the priority, not in it;
        - ``data_volume``, ``data_trend``, ``data_harm``, ``data_concentration``: each
          indicator's :func:`rank01` over every theme (higher = more crime, a steeper rise,
          more harm, more concentrated); ``data_index``: their mean, skipping NaN;
        - ``priority`` = scores_weight x risk_rank01 + (1 - scores_weight) x data_index;
        - ``rank`` (1 = first), ``ranked_by`` (``"scores and data"`` or ``"data only"``);
        - ``missing``: the scores not given (``"all scores"`` for a theme not scored, ``""``
          when complete); ``data_missing``: the indicators that are NaN.

    Notes
    -----
    MoRiLE's public descriptions (NPCC MoRiLE programme; Home Office, *MoRiLE based scoring:
    standards*, v1.0, 2018) lay its matrix out as harm (physical, psychological, financial,
    community and environment) with geographic scope giving a total harm score, victim
    vulnerability, likelihood, a risk score, a confidence score, priority, and a separate
    organisational position grading (capacity and capability). They do not publish the
    weights, so the arithmetic here is this simple stated rule: scores are summed within harm
    and multiplied across dimensions, on the force's own scales (declared in the file; a
    higher score always means more).

    A missing score is NaN and stays NaN through every product (it is never 0): such a theme
    has no risk and no priority, and is ranked after every scored theme, by its data index
    alone. Capacity and capability feed only ``organisational_position``, so their absence
    does not move the rank. Ranks break ties by theme slug, so the table does not depend on
    row order. Both parts enter the priority as ranks (0 to 1) so neither outweighs the other
    because of its units or the force's choice of scale.

    Examples
    --------
    The worked example's scores (illustrative, not any force's), with made-up indicators:

    >>> from localprofile.scoring import load_scoring, worked_example_path
    >>> ind = pd.DataFrame(
    ...     {"volume": [1200, 300, 80, 950, 110, 490],
    ...      "trend": [-4.0, 12.5, 30.0, 6.0, -10.0, 15.0],
    ...      "harm": [float("nan")] * 6,
    ...      "concentration": [0.21, 0.38, 0.30, 0.15, 0.42, 0.35]},
    ...     index=["anti_social_behaviour", "drugs", "possession_of_weapons",
    ...            "violence_and_sexual_offences", "robbery", "soc_indicators"])
    >>> t = score_themes(load_scoring(worked_example_path()), ind)
    >>> t[["adjusted_risk", "priority", "rank", "missing"]].round(3)
                                  adjusted_risk  priority  rank     missing
    theme
    drugs                               853.333     0.800     1
    soc_indicators                      480.000     0.583     2
    violence_and_sexual_offences        768.000     0.575     3
    anti_social_behaviour               360.000     0.358     4
    robbery                             168.000     0.200     5
    possession_of_weapons                   NaN       NaN     6  likelihood

    Drugs: harm 4 + 3 + 3 + 4 + 2 = 16, x scope 4 = 64, x vulnerability 4 = 256 (impact),
    x likelihood 5 = 1280 (risk), x confidence 2 / 3 = 853.33. ``all_crime`` is listed
    unscored in the file and is not a row here, so it is let be.
    """
    if isinstance(scores_weight, bool) or not 0 <= scores_weight <= 1:
        raise EngineInputError(f"scores_weight must be between 0 and 1, not {scores_weight!r}")
    sf = parse_scoring(scores)
    data = _check_indicators(indicators)
    unknown = sorted(set(sf.scored_themes()) - set(data.index))  # unscored entries: harmless
    if unknown:
        raise EngineInputError(f"scores: theme {', '.join(unknown)} is not among the profile's "
                               f"themes ({', '.join(map(str, data.index))})")

    themes = list(data.index)
    vals = pd.DataFrame(
        [{d: np.nan if (s := sf.themes.get(t)) is None or s.values()[d] is None
          else s.values()[d] for d in DIMENSIONS} for t in themes],
        index=themes, columns=list(DIMENSIONS), dtype=float)

    def top(dim: str) -> float:
        b = sf.bounds(dim)
        return np.nan if b is None else b[1]

    out = pd.DataFrame(index=pd.Index(themes, name="theme"))
    # Plain + and * so that a NaN (missing) score makes the result NaN, never 0.
    harm_sum = sum(vals[d] for d in HARM_DIMENSIONS)
    out["total_harm"] = harm_sum * vals["scope"]
    out["impact"] = out["total_harm"] * vals["victim_vulnerability"]
    out["likelihood"] = vals["likelihood"]
    out["risk"] = out["impact"] * vals["likelihood"]
    out["confidence_factor"] = vals["confidence"] / top("confidence")
    out["adjusted_risk"] = out["risk"] * out["confidence_factor"]
    out["risk_rank01"] = rank01(out["adjusted_risk"])
    out["organisational_position"] = (vals["capacity"] / top("capacity")
                                      + vals["capability"] / top("capability")) / 2
    for col in INDICATORS:
        out[f"data_{col}"] = rank01(data[col])
    out["data_index"] = out[[f"data_{c}" for c in INDICATORS]].mean(axis=1, skipna=True)
    out["priority"] = scores_weight * out["risk_rank01"] + (1 - scores_weight) * out["data_index"]

    scored = out["priority"].notna()
    out["ranked_by"] = np.where(scored, "scores and data", "data only")
    # Scored themes first by priority, then the rest by data index; ties by slug. Rounding keeps
    # equal figures reached by different sums (0.1 + 0.2 vs 0.3) equal, so the slug decides.
    order = pd.DataFrame({"tier": (~scored).astype(int),
                          "key": -out["priority"].where(scored, out["data_index"]).round(12),
                          "slug": out.index.astype(str)}, index=out.index)
    order = order.sort_values(["tier", "key", "slug"], kind="mergesort")
    out = out.loc[order.index]
    out["rank"] = np.arange(1, len(out) + 1)

    def missing(t: str) -> str:
        s = sf.themes.get(t)
        gone = list(DIMENSIONS) if s is None else s.missing()
        return "all scores" if len(gone) == len(DIMENSIONS) else ", ".join(gone)

    out["missing"] = [missing(t) for t in out.index]
    out["data_missing"] = [", ".join(c for c in INDICATORS if np.isnan(data.at[t, c]))
                           for t in out.index]
    return out[COLUMNS]
