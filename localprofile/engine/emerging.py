"""Emerging hot spots: how each cell's Gi* hot/cold status changes over a series of time steps.

Input is a space-time cube of Gi* results, ``z[t, ...]`` and ``p[t, ...]`` (time first, cells in
any shape after it; pass BH q-values as ``p`` to use the profile's FDR-corrected calls). A cell is
*hot* at step t when ``p < alpha`` and ``z > 0``, *cold* when ``p < alpha`` and ``z < 0``; NaN is
neither. Two classifications, both vectorised over cells:

**ArcGIS Pro** (:func:`emerging_hotspots`), after Esri's "How Emerging Hot Spot Analysis works"
(ArcGIS Pro, Space Time Pattern Mining toolbox; pattern names as in its PATTERN field). With n
steps, "90%" meaning at least 0.9 n of them, and the trend being the Mann-Kendall test of the
cell's Gi* z-scores over time (:func:`localprofile.engine.trend.mann_kendall`), significant when
its p < ``trend_alpha``:

- New Hot Spot: hot at the final step and never hot before;
- Consecutive Hot Spot: a single uninterrupted run of at least two hot steps ending at the final
  step, never hot before that run, and hot in less than 90% of steps;
- Intensifying Hot Spot: hot in at least 90% of steps including the final one, and a
  significant increasing trend in the z-scores (clustering getting more intense);
- Persistent Hot Spot: hot in at least 90% of steps, with no significant trend;
- Diminishing Hot Spot: hot in at least 90% of steps including the final one, and a
  significant decreasing trend;
- Sporadic Hot Spot: hot at the final step, an on-again off-again hot spot before it, hot in
  less than 90% of steps and never cold;
- Oscillating Hot Spot: hot at the final step, cold at some earlier step, hot in less than 90%
  of steps;
- Historical Hot Spot: not hot at the final step, but hot in at least 90% of steps;
- the eight Cold Spot patterns likewise, with cold for hot and the trend reversed
  (Intensifying Cold Spot: significantly decreasing z);
- No Pattern Detected: none of these.

Esri's prose leaves overlaps; this module settles them so that every cell gets exactly one label:
a cell hot (cold) at the final step takes its label from the hot (cold) list, so a Historical
label goes only to a cell that is neither hot nor cold at the final step, and Persistent in effect
needs the final step hot (else it is Historical). A cell ever cold before a final hot step is
Oscillating, never New, Consecutive or Sporadic (as in sfdep's implementation, where New and
Consecutive need no earlier significant step of either kind). ArcGIS asks for at least
:data:`ARCGIS_MIN_STEPS` time steps for the trend; fewer raise :class:`TooFewTimeSteps`.

**sfhotspot** (:func:`sfhotspot_classify`), after ``hotspot_classify()`` in the R package
sfhotspot (Ashby; documented in ``?hotspot_classify`` and ``?hotspot_classify_params``, code in
``R/hotspot_classify.R``): the last ``floor(recent_prop * n)`` steps (at least one) are *recent*,
the others *older*; with shares of steps hot (cold) overall, among recent and among older steps,
the first that applies of

- persistent hotspot: hot in at least ``persistent_prop`` of all steps;
- emerging hotspot: hot in less than ``hotspot_prop`` of older steps and at least
  ``hotspot_prop`` of recent ones;
- former hotspot: hot in at least ``hotspot_prop`` of older steps and less than ``hotspot_prop``
  of recent ones;
- intermittent hotspot: hot in at least ``hotspot_prop`` of all steps;

and coldspots likewise; "mixed hot/coldspot" when a cell has a hot and a cold class, else
"no pattern". Defaults are sfhotspot's (0.1, 0.8, 0.2, critical p 0.05). It needs
:data:`SFHOTSPOT_MIN_STEPS` steps (one recent and one older). Where sfhotspot's code and its
documentation differ this follows the documentation: the code tests the recent share of an
emerging hotspot against ``recent_prop`` rather than ``hotspot_prop`` (with the default
proportions the two agree below 30 steps), and its recent-share sum takes
``floor(recent_prop * n) + 1`` steps.
sfhotspot also adjusts each cell's p-values across the periods (``stats::p.adjust``, Holm by
default); here ``p`` is used as given.

>>> import numpy as np
>>> from scipy import stats
>>> z = np.zeros((10, 3))
>>> z[:, 0] = np.linspace(2.5, 6, 10)   # hot throughout, ever stronger
>>> z[-1, 1] = 3                        # hot for the first time at the last step
>>> p = 2 * stats.norm.sf(np.abs(z))
>>> emerging_hotspots(z, p).pattern.tolist()
['Intensifying Hot Spot', 'New Hot Spot', 'No Pattern Detected']
>>> sfhotspot_classify(z, p).tolist()
['persistent hotspot', 'emerging hotspot', 'no pattern']
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .trend import MannKendall, mann_kendall

ARCGIS_MIN_STEPS = 10
SFHOTSPOT_MIN_STEPS = 2

_KINDS = ("New", "Consecutive", "Intensifying", "Persistent", "Diminishing", "Sporadic",
          "Oscillating", "Historical")
HOT_PATTERNS = tuple(f"{k} Hot Spot" for k in _KINDS)
COLD_PATTERNS = tuple(f"{k} Cold Spot" for k in _KINDS)
NO_PATTERN = "No Pattern Detected"
NO_DATA = "no data"  # a cell whose z is NaN at every step (outside the analysed cells)

SFHOTSPOT_CLASSES = tuple(f"{k} {s}" for s in ("hotspot", "coldspot")
                          for k in ("persistent", "emerging", "former", "intermittent"))
SFHOTSPOT_MIXED = "mixed hot/coldspot"
SFHOTSPOT_NONE = "no pattern"


class TooFewTimeSteps(ValueError):
    """The cube has fewer time steps than the method needs."""

    def __init__(self, method: str, given: int, needed: int) -> None:
        verb = "was" if given == 1 else "were"
        super().__init__(f"{method} needs at least {needed} time steps; {given} {verb} given")
        self.method, self.given, self.needed = method, given, needed


@dataclass(frozen=True)
class EmergingHotspots:
    pattern: np.ndarray  # one label per cell (object array of str)
    trend: MannKendall  # Mann-Kendall test of each cell's z-scores over time
    hot_steps: np.ndarray  # number of steps each cell was hot
    cold_steps: np.ndarray


def _hot_cold(z, p, alpha: float, method: str, needed: int):
    z = np.asarray(z, dtype=float)
    p = np.asarray(p, dtype=float)
    if z.shape != p.shape or z.ndim < 1:
        raise ValueError(f"z and p must have the same shape (time first); got {z.shape} and {p.shape}")
    if z.shape[0] < needed:
        raise TooFewTimeSteps(method, z.shape[0], needed)
    with np.errstate(invalid="ignore"):
        sig = p < alpha
        return z, sig & (z > 0), sig & (z < 0)


def _one_side(a, b, towards, away):
    """ArcGIS pattern index (into _KINDS) of each cell for one side, -1 for none. ``a``: the
    steps on this side (hot, say), ``b``: the other side; ``towards``/``away``: a significant
    trend towards (more intense) or away from this side."""
    n = a.shape[0]
    count = a.sum(axis=0)
    mostly = 10 * count >= 9 * n  # at least 90% of steps, in integers
    final = a[-1]
    rev = a[::-1]
    run = np.where(rev.all(axis=0), n, np.argmin(rev, axis=0))  # trailing run length
    never_other = ~b[:-1].any(axis=0)
    return np.select(
        [
            final & mostly & towards,
            final & mostly & away,
            final & mostly,
            final & ~never_other,
            final & (count == 1),
            final & (run >= 2) & (count == run),
            final,
            mostly,
        ],
        [2, 4, 3, 6, 0, 1, 5, 7],
        default=-1,
    )


def emerging_hotspots(z, p, alpha: float = 0.05, trend_alpha: float | None = None) -> EmergingHotspots:
    """ArcGIS Pro's emerging hot spot patterns for a cube ``z[t, ...]``, ``p[t, ...]`` (see the
    module docstring for the definitions). ``trend_alpha`` defaults to ``alpha``. ArcGIS's hot
    spot bins start at 90% confidence (``alpha=0.10``); the default 0.05 matches the profile's
    Gi* threshold.

    Parameters
    ----------
    z, p : (steps, ...) float arrays of the same shape
        Each time step's Gi* z-scores and p-values (or BH q-values) per cell, time first; at
        least 10 steps. NaN is neither hot nor cold.
    alpha : float, default 0.05
        A cell is hot (cold) at a step where ``p < alpha`` and ``z > 0`` (``z < 0``).
    trend_alpha : float, optional
        The Mann-Kendall trend of the z-scores is significant below this; default ``alpha``.

    Returns
    -------
    EmergingHotspots
        ``pattern`` (one of :data:`HOT_PATTERNS`, :data:`COLD_PATTERNS`, "No Pattern Detected",
        or "no data" where z is NaN at every step), ``trend`` (the Mann-Kendall test), and
        ``hot_steps`` and ``cold_steps`` per cell.

    Examples
    --------
    The shipped data hold two months, fewer than the 10 steps needed: five steps of July 2016's
    Gi* and then five of July 2017's make the cube, so a Leeds cell hot only in 2017 is a
    Consecutive Hot Spot, and one hot in both an Intensifying or Diminishing one as its z rose
    or fell.

    >>> import numpy as np
    >>> from collections import Counter
    >>> from localprofile.demo import demo_grid
    >>> from localprofile.engine.gistar import gi_star
    >>> from localprofile.engine.permutation import adjust_p
    >>> g = demo_grid("Leeds", theme="all_crime")
    >>> zs, qs = [], []
    >>> for month in ["2016-07"] * 5 + ["2017-07"] * 5:
    ...     here = g.months == month
    ...     z, p = gi_star(g.grid.bin(g.x[here], g.y[here]), g.active)
    ...     zs.append(z[g.grid.in_area]); qs.append(adjust_p(p, g.grid.in_area)[g.grid.in_area])
    >>> eh = emerging_hotspots(np.array(zs), np.array(qs))
    >>> eh.pattern.shape, sorted(Counter(eh.pattern).items())
    ((2204,), [('Consecutive Hot Spot', 24), ('Diminishing Hot Spot', 68),
               ('Intensifying Hot Spot', 59), ('No Pattern Detected', 2053)])

    >>> from scipy import stats
    >>> z = np.array([-3.0, 0, 0, 0, 0, 0, 0, 0, 0, 3])   # one cell: cold once, hot now
    >>> emerging_hotspots(z, 2 * stats.norm.sf(np.abs(z))).pattern.tolist()
    'Oscillating Hot Spot'
    >>> emerging_hotspots(z[:6], z[:6])
    Traceback (most recent call last):
    ...
    localprofile.engine.emerging.TooFewTimeSteps: emerging hot spot analysis needs at least 10 time steps; 6 were given
    """
    z, hot, cold = _hot_cold(z, p, alpha, "emerging hot spot analysis", ARCGIS_MIN_STEPS)
    trend = mann_kendall(z, axis=0)
    ta = alpha if trend_alpha is None else trend_alpha
    with np.errstate(invalid="ignore"):
        sig = trend.p < ta
        up, down = sig & (trend.S > 0), sig & (trend.S < 0)
    h = _one_side(hot, cold, up, down)
    c = _one_side(cold, hot, down, up)
    hot_names = np.array(HOT_PATTERNS, dtype=object)
    cold_names = np.array(COLD_PATTERNS, dtype=object)
    pattern = np.select(
        [~np.isfinite(z).any(axis=0), hot[-1], cold[-1], h >= 0, c >= 0],
        [NO_DATA, hot_names[h], cold_names[c], hot_names[h], cold_names[c]],
        default=NO_PATTERN,
    ).astype(object)
    return EmergingHotspots(pattern, trend, hot.sum(axis=0), cold.sum(axis=0))


def sfhotspot_classify(z, p, critical_p: float = 0.05, hotspot_prop: float = 0.1,
                       persistent_prop: float = 0.8, recent_prop: float = 0.2) -> np.ndarray:
    """sfhotspot's ``hotspot_classify()`` classes for a cube ``z[t, ...]``, ``p[t, ...]`` (see
    the module docstring); one label per cell.

    >>> import numpy as np
    >>> from scipy import stats
    >>> z = np.array([3.0, 0, 0, 0, 0])   # 5 steps: 1 recent, 4 older
    >>> sfhotspot_classify(z, 2 * stats.norm.sf(np.abs(z))).tolist()
    'former hotspot'
    >>> sfhotspot_classify(z[:1], z[:1])
    Traceback (most recent call last):
    ...
    localprofile.engine.emerging.TooFewTimeSteps: sfhotspot's hot spot classification needs at least 2 time steps; 1 was given
    """
    z, hot, cold = _hot_cold(z, p, critical_p, "sfhotspot's hot spot classification",
                             SFHOTSPOT_MIN_STEPS)
    n = z.shape[0]
    n_recent = math.floor(recent_prop * n)
    if n_recent < 1 or n - n_recent < 1:
        n_recent = 1  # as sfhotspot: the final step is recent

    def side(a, kind: str):
        share = a.mean(axis=0)
        older = a[: n - n_recent].mean(axis=0)
        recent = a[n - n_recent:].mean(axis=0)
        return np.select(
            [
                share >= persistent_prop,
                (older < hotspot_prop) & (recent >= hotspot_prop),
                (older >= hotspot_prop) & (recent < hotspot_prop),
                share >= hotspot_prop,
            ],
            [f"persistent {kind}", f"emerging {kind}", f"former {kind}", f"intermittent {kind}"],
            default=SFHOTSPOT_NONE,
        ).astype(object)

    h, c = side(hot, "hotspot"), side(cold, "coldspot")
    has_h, has_c = h != SFHOTSPOT_NONE, c != SFHOTSPOT_NONE
    return np.select([has_h & has_c, has_h], [SFHOTSPOT_MIXED, h], default=c).astype(object)
