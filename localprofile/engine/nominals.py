"""Nominal prioritisation: a risk matrix in the style of Operation Liberal's, ranking the
nominals of a district by points for their OCG role, offending, violence, the grading of their
intelligence and how recent it is, with the reasons per nominal.

The matrix is the force's to set (``profile.nominals.matrix`` in the catalog); the default
:data:`DEFAULT_MATRIX` is documented here and is no force's own.

>>> import pandas as pd
>>> n = pd.DataFrame({"nominal_id": ["A", "B"], "role": ["Principal member", "Peripheral member"],
...                   "offences_12m": [2, 7], "violent_12m": [0, 2], "grading": ["1A", "3D"],
...                   "last_intelligence": ["2017-07", "2016-01"]})
>>> t = prioritise_nominals(n, "2017-07")
>>> t[["nominal_id", "rank", "points"]].values.tolist()
[['A', 1, 55.0], ['B', 2, 40.0]]
>>> t.loc[0, "reasons"]
'Principal member (30); 2 offences in 12 months (5); graded 1A (10); intelligence 0 months old (10)'
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .checks import EngineInputError

# points per factor: role by name; counts and recency by bands (the points of the highest band
# the value reaches, "at least"; recency "at most" months old); grading by source evaluation
# (1 reliable .. 3 unreliable) and intelligence assessment (A known directly .. E suspected false)
DEFAULT_MATRIX = {
    "role": {"Principal member": 30, "Significant member": 20, "Peripheral member": 10},
    "offences_12m": {1: 5, 3: 10, 6: 20},
    "violent_12m": {1: 10, 3: 20},
    "grading": {"1A": 10, "1B": 10, "2A": 10, "1C": 5, "2B": 5, "3A": 5},
    "recency_months": {3: 10, 6: 5, 12: 2},
}


def _at_least(values: np.ndarray, bands: dict) -> np.ndarray:
    edges = np.array(sorted(float(k) for k in bands))
    pts = np.array([bands[k] for k in sorted(bands, key=float)], float)
    idx = np.searchsorted(edges, values, side="right") - 1
    return np.where(idx >= 0, pts[np.clip(idx, 0, None)], 0.0)


def _at_most(values: np.ndarray, bands: dict) -> np.ndarray:
    edges = np.array(sorted(float(k) for k in bands))
    pts = np.array([bands[k] for k in sorted(bands, key=float)], float)
    idx = np.searchsorted(edges, values, side="left")
    return np.where(idx < len(edges), pts[np.clip(idx, 0, len(edges) - 1)], 0.0)


def months_between(earlier, later: str) -> np.ndarray:
    """Whole months from each ``YYYY-MM`` of ``earlier`` to ``later``."""
    a = np.asarray(earlier, dtype="datetime64[M]").astype(int)
    return (np.datetime64(later, "M").astype(int) - a).astype(float)


def prioritise_nominals(nominals: pd.DataFrame, as_of: str, matrix: dict | None = None,
                        top: int | None = None) -> pd.DataFrame:
    """Rank nominals by the points of a risk matrix.

    Parameters
    ----------
    nominals : DataFrame
        One row per nominal: ``nominal_id``, ``role``, ``offences_12m``, ``violent_12m``,
        ``grading`` (3x5x2, e.g. ``1B``) and ``last_intelligence`` (``YYYY-MM``).
    as_of : str
        The month recency is counted to (``YYYY-MM``): the profile's last month, not the clock.
    matrix : dict, optional
        Points per factor, as :data:`DEFAULT_MATRIX` (a factor left out scores nothing).
    top : int, optional
        Keep the first ``top`` nominals.

    Returns
    -------
    DataFrame
        The nominals, rank 1 first (ties by nominal ID), with ``points``, one ``<factor>_points``
        column per factor and ``reasons`` (each factor that scored, in words, with its points).

    Examples
    --------
    >>> from localprofile.demo import demo_stages
    >>> loaded = demo_stages("Leeds", "force")[1].loaded          # SYNTHETIC nominals
    >>> t = prioritise_nominals(loaded["nominals"].frame, "2017-07", top=3)
    >>> t["rank"].tolist(), bool(t["points"].is_monotonic_decreasing)
    ([1, 2, 3], True)
    """
    m = DEFAULT_MATRIX if matrix is None else matrix
    missing = [c for c in ("nominal_id", "role", "offences_12m", "grading", "last_intelligence") if c not in nominals]
    if missing:
        raise EngineInputError(f"nominals: missing column(s) {', '.join(missing)}")
    n = nominals.reset_index(drop=True)
    unknown = sorted(set(m) - set(DEFAULT_MATRIX))
    if unknown:
        raise EngineInputError(f"matrix: unknown factor(s) {', '.join(unknown)} (factors: {', '.join(DEFAULT_MATRIX)})")
    offences = n["offences_12m"].to_numpy(dtype=float)
    violent = (n["violent_12m"] if "violent_12m" in n else pd.Series(0.0, index=n.index)).to_numpy(dtype=float)
    if np.isnan(offences).any() or (offences < 0).any():
        raise EngineInputError("offences_12m: counts must be numbers of at least 0")
    age = months_between(n["last_intelligence"].to_numpy(dtype=str), as_of) if len(n) else np.zeros(0)
    if (age < 0).any():
        raise EngineInputError(f"last_intelligence: {int((age < 0).sum())} nominal(s) dated after {as_of}")
    pts = pd.DataFrame({
        "role_points": n["role"].map(m.get("role", {})).fillna(0).to_numpy(dtype=float),
        "offences_points": _at_least(offences, m.get("offences_12m", {})) if m.get("offences_12m") else 0.0,
        "violence_points": _at_least(violent, m.get("violent_12m", {})) if m.get("violent_12m") else 0.0,
        "grading_points": n["grading"].map(m.get("grading", {})).fillna(0).to_numpy(dtype=float),
        "recency_points": _at_most(age, m.get("recency_months", {})) if m.get("recency_months") else 0.0,
    })
    out = pd.concat([n, pts], axis=1)
    out["points"] = pts.sum(axis=1)
    words = pd.DataFrame({
        "role_points": n["role"].astype(str),
        "offences_points": [f"{v:.0f} offence{'' if v == 1 else 's'} in 12 months" for v in offences],
        "violence_points": [f"{v:.0f} violent offence{'' if v == 1 else 's'}" for v in violent],
        "grading_points": "graded " + n["grading"].astype(str),
        "recency_points": [f"intelligence {v:.0f} month{'' if v == 1 else 's'} old" for v in age],
    })
    scored = (words.astype(object) + " (" + pts.astype(int).astype(str) + ")").where(pts.to_numpy() > 0)
    out["reasons"] = ["; ".join(r for r in row if isinstance(r, str)) for row in scored.to_numpy()]  # one per nominal
    out = out.sort_values(["points", "nominal_id"], ascending=[False, True], ignore_index=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out.head(top) if top else out
