"""Trends over time and change between two periods, vectorised over cells.

:func:`mann_kendall` is the Mann-Kendall trend test (Mann 1945; Kendall 1975) run on every
series of a stack at once, time along ``axis``::

    S = sum_{i<j} sign(x_j - x_i)
    var(S) = [n(n-1)(2n+5) - sum_g t_g(t_g-1)(2t_g+5)] / 18      (t_g: size of tie group g)
    z = (S - 1)/sqrt(var) if S > 0,  0 if S = 0,  (S + 1)/sqrt(var) if S < 0
    p = 2 * (1 - Phi(|z|))          tau = S / (n(n-1)/2)

These are the formulas of ``pymannkendall.original_test`` (its ``s``, ``var_s``, ``z``, ``p`` and
``Tau``). Missing values (NaN) are left out of each series, as pymannkendall does; a series with
fewer than ``min_count`` finite values gets NaN throughout.

:func:`change` compares two counts (before and after): difference, ratio and percent change of
their rates, and the exact conditional test of two Poisson counts (Przyborowski & Wilenski 1940):
given k1 + k2 events, k1 is Binomial(k1 + k2, t1 / (t1 + t2)) when both periods share one rate.

>>> import numpy as np
>>> r = mann_kendall(np.array([1.0, 2, 3, 4, 5, 6, 7, 8, 9, 10]))
>>> float(r.S), round(float(r.z), 3), round(float(r.p), 5), float(r.tau)
(45.0, 3.935, 8e-05, 1.0)
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import stats

from .checks import check_counts, check_positive

#: Below this many finite values a series gets no Mann-Kendall result (NaN).
MK_MIN_COUNT = 3

#: scipy.stats.binomtest's relative tolerance when it collects the outcomes "as or less likely".
_BINOMTEST_RERR = 1 + 1e-7


class MannKendall(NamedTuple):
    S: np.ndarray
    z: np.ndarray
    p: np.ndarray
    tau: np.ndarray


def mann_kendall(x, axis: int = 0, min_count: int = MK_MIN_COUNT) -> MannKendall:
    """Mann-Kendall S, continuity-corrected z, two-sided p and tau for every series along ``axis``.

    Each result has the shape of ``x`` without ``axis``. Ties are handled by the variance
    correction; NaNs are dropped series by series. The loops run over time lags only.

    >>> import numpy as np
    >>> x = np.array([[1.0, 5], [2, 4], [2, 3], [np.nan, 2], [4, 1]])   # 5 steps, 2 cells
    >>> r = mann_kendall(x)
    >>> r.S.tolist(), np.round(r.z, 4).tolist(), np.round(r.tau, 4).tolist()
    ([5.0, -10.0], [1.4446, -2.2045], [0.8333, -1.0])
    >>> mann_kendall(np.array([1.0, np.nan, np.nan, 2])).S.tolist()   # too few finite values
    nan
    """
    x = np.moveaxis(np.asarray(x, dtype=float), axis, 0)
    n_steps = x.shape[0]
    finite = np.isfinite(x)
    n = finite.sum(axis=0)
    s = np.zeros(x.shape[1:])
    same = np.zeros(x.shape)  # per value: how many other finite values equal it
    with np.errstate(invalid="ignore"):
        for lag in range(1, n_steps):
            d = x[lag:] - x[:-lag]
            s += np.nansum(np.sign(d), axis=0)
            eq = d == 0
            same[lag:] += eq
            same[:-lag] += eq
    t = same + 1  # size of the tie group each finite value belongs to
    # sum over groups of t(t-1)(2t+5) = sum over values of (2t^2 + 3t - 5)
    ties = np.where(finite, 2 * t**2 + 3 * t - 5, 0.0).sum(axis=0)
    var = (n * (n - 1) * (2 * n + 5) - ties) / 18.0
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(s > 0, (s - 1) / np.sqrt(var), np.where(s < 0, (s + 1) / np.sqrt(var), 0.0))
        tau = s / (n * (n - 1) / 2.0)
    p = 2 * stats.norm.sf(np.abs(z))
    few = n < max(min_count, 2)
    out = [np.where(few, np.nan, a) for a in (s, z, p, tau)]
    return MannKendall(*out)


class Change(NamedTuple):
    difference: np.ndarray
    ratio: np.ndarray
    percent: np.ndarray
    p: np.ndarray


#: Ratios and percent changes from a smaller "before" count than this are NaN: a change from 1
#: to 3 crimes is "+200%", which says more about the small base than about the place.
MIN_DENOMINATOR = 5


def change(before, after, t_before: float = 1.0, t_after: float = 1.0,
           min_denominator: float = MIN_DENOMINATOR) -> Change:
    """Change from ``before`` to ``after`` counts, element-wise, with an exact test.

    Parameters
    ----------
    before, after : arrays of non-negative counts
        Crimes in the earlier and the later period (per LSOA, say).
    t_before, t_after : float, default 1
        Exposure times of the two periods (months, say), above 0.
    min_denominator : float
        ``ratio`` and ``percent`` are NaN where ``before`` is below this.

    Returns
    -------
    Change
        ``difference``, ``ratio``, ``percent`` and ``p`` arrays:

    - ``difference``: after/t_after - before/t_before (the difference of counts when t are equal);
    - ``ratio``: (after/t_after) / (before/t_before), NaN where ``before < min_denominator``;
    - ``percent``: 100 * (ratio - 1), NaN likewise;
    - ``p``: two-sided exact conditional Poisson test, i.e. ``scipy.stats.binomtest(after,
      before + after, t_after / (t_before + t_after)).pvalue`` for every element (computed
      here the way binomtest does, vectorised); 1 where both counts are 0, NaN where either is.
      Negative or infinite counts are an error naming the parameter.

    Examples
    --------
    >>> from localprofile.demo import demo_grid
    >>> g = demo_grid("Leeds", theme="drugs")        # July 2016 and July 2017, shipped data
    >>> c = change([(g.months == "2016-07").sum()], [(g.months == "2017-07").sum()])
    >>> round(float(c.percent[0]), 1), round(float(c.p[0]), 3)
    (9.9, 0.181)
    >>> c = change([10, 2, 0], [20, 3, 0])
    >>> c.difference.tolist(), c.ratio.tolist(), c.percent.tolist()
    ([10.0, 1.0, 0.0], [2.0, nan, nan], [100.0, nan, nan])
    >>> [round(v, 4) for v in c.p.tolist()]
    [0.0987, 1.0, 1.0]
    """
    k1 = check_counts(before, "before", allow_nan=True)  # NaN: no value, NaN out
    k2 = check_counts(after, "after", allow_nan=True)
    check_positive(t_before, "t_before (exposure time)")
    check_positive(t_after, "t_after (exposure time)")
    r1, r2 = k1 / t_before, k2 / t_after
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(k1 >= min_denominator, r2 / r1, np.nan)
    p = _poisson_conditional_p(k2, k1 + k2, t_after / (t_before + t_after))
    return Change(r2 - r1, ratio, 100 * (ratio - 1), p)


def _poisson_conditional_p(k, n, prob: float) -> np.ndarray:
    """Two-sided ``binomtest(k, n, prob).pvalue`` element-wise: the probability of every outcome
    no more likely than k (within binomtest's 1e-7 relative tolerance). The binomial pmf falls
    away from its mode monotonically, so the far tail's edge is found by a binary search, run on
    all elements at once."""
    k, n = np.broadcast_arrays(np.asarray(k, float), np.asarray(n, float))
    ok = np.isfinite(k) & np.isfinite(n)
    k = np.where(ok, k, 0.0)
    n = np.where(ok, n, 0.0)
    binom = stats.binom
    d = binom.pmf(k, n, prob) * _BINOMTEST_RERR
    mean = prob * n
    low = k < mean  # far tail above the mean: first x >= ceil(mean) with pmf(x) <= d
    lo = np.where(low, np.ceil(mean), 0.0)
    hi = np.where(low, n, np.floor(mean))  # inclusive search range [lo, hi]
    # smallest x in [lo, hi] where the (monotone) condition holds; hi + 1 where it never does
    left, right = lo.copy(), hi + 1
    while np.any(left < right):
        active = left < right
        mid = np.floor((left + right) / 2)
        pm = binom.pmf(mid, n, prob)
        cond = np.where(low, pm <= d, pm > d)
        right = np.where(active & cond, mid, right)
        left = np.where(active & ~cond, mid + 1, left)
    p_low = binom.cdf(k, n, prob) + binom.sf(left - 1, n, prob)  # P(X <= k) + P(X >= x*)
    p_high = binom.cdf(left - 1, n, prob) + binom.sf(k - 1, n, prob)  # P(X <= x**) + P(X >= k)
    p = np.minimum(1.0, np.where(low, p_low, p_high))
    p = np.where((k == mean) | (n == 0), 1.0, p)
    return np.where(ok, p, np.nan)
