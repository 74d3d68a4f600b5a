"""Getis-Ord Gi* on a grid with binary queen weights (the 8 adjacent cells plus the cell itself).

For cell i with neighbour set N(i) (itself included, restricted to active cells) of size W_i::

    Gi* z = (sum_{j in N(i)} x_j - W_i * mean(x)) / (s * sqrt(W_i * (n - W_i) / (n - 1)))

where n, mean(x) and s (population standard deviation) run over the n active cells. This is
Getis & Ord (1995) with binary weights and equals ``esda.G_Local(y, w, transform="B",
star=True).Zs``. Neighbour sums are one 3x3 convolution, so the cost is linear in cells.

p-values are two-sided from the normal distribution; they are adjusted for multiple testing over
the cells inside the study area by :func:`localprofile.engine.permutation.adjust_p`.

>>> import numpy as np
>>> counts = np.zeros((7, 7)); counts[2:5, 2:5] = 5; counts[3, 3] = 20
>>> active = np.ones((7, 7), bool)
>>> z, p = gi_star(counts, active)
>>> bool(z[3, 3] == np.nanmax(z)), bool(p[3, 3] < 0.001)
(True, True)
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr

from .checks import check_counts, check_mask

_QUEEN = np.ones((3, 3))  # the weights, for readers and callers that convolve themselves


def queen_sum(a: np.ndarray) -> np.ndarray:
    """Sum of each cell and its 8 neighbours (zeros beyond the edge): the 3x3 convolution with
    :data:`_QUEEN` (``scipy.ndimage.convolve(a, _QUEEN, mode="constant")``) as two 1-D box sums
    on a padded copy. Hand-written because this separable sum is about three times faster than
    ``ndimage.convolve``/``correlate`` with the 3x3 kernel (five array additions, no per-tap
    loop), and ``uniform_filter`` gives a mean whose division by 9 changes the rounding; integer
    dtypes stay integer (a mask's neighbour count in uint8).

    >>> queen_sum(np.arange(9.0).reshape(3, 3)).tolist()
    [[8.0, 15.0, 12.0], [21.0, 36.0, 27.0], [20.0, 33.0, 24.0]]
    """
    p = np.pad(a, 1)
    cols = p[:-2] + p[1:-1]
    cols += p[2:]
    out = cols[:, :-2] + cols[:, 1:-1]
    out += cols[:, 2:]
    return out


def gi_star(counts: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Getis-Ord Gi* on a square grid with binary queen weights (the cell itself included).

    Parameters
    ----------
    counts : (rows, cols) array of non-negative numbers
        Crimes (or harm) per cell; must be finite inside ``active``.
    active : (rows, cols) bool array
        Cells that enter the statistic; neighbours outside it are not counted.

    Returns
    -------
    z, p : (rows, cols) float arrays
        Gi* z-scores and two-sided normal p-values; NaN outside ``active``. Where every active
        cell has the same count (s = 0) there is no evidence of clustering: z is 0 and p is 1.

    Examples
    --------
    >>> from localprofile.demo import demo_grid
    >>> g = demo_grid("Leeds", theme="drugs")          # the shipped police.uk months
    >>> z, p = gi_star(g.counts, g.active)
    >>> int((p[g.grid.in_area] < 0.001).sum())          # cells with p < 0.001 (before adjustment)
    49
    >>> gi_star(np.array([[1.0, np.nan]]), np.ones((1, 2), bool))
    Traceback (most recent call last):
    ...
    localprofile.engine.checks.EngineInputError: counts: 1 cell is NaN or infinite
    """
    active = check_mask(active, np.shape(counts), "active")
    counts = check_counts(counts, "counts", where=active, ndim=2)
    y = np.where(active, counts, 0.0)
    # the neighbour count in uint8 (at most 9): exact, and an eighth of the memory traffic
    return gi_star_from_sums(y, active, queen_sum(y), queen_sum(active.view(np.uint8)))


def gi_star_from_sums(
    y: np.ndarray, active: np.ndarray, lag: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z and two-sided p from each cell's neighbourhood sum ``lag`` and neighbour count
    ``w`` (the cell itself included): shared by square and hexagonal grids, which differ only in
    how they find neighbours. ``y`` is zero outside ``active``."""
    idx = np.flatnonzero(active)  # the active cells, once: every step below works on them only
    n = idx.size
    vals = y.ravel()[idx]
    mean = vals.mean() if n else 0.0
    s = np.sqrt(max((vals**2).mean() - mean**2, 0.0)) if n else 0.0  # not np.dot: BLAS threads stall on a busy machine
    z = np.full(y.shape, np.nan)
    p = np.full(y.shape, np.nan)
    if not (n > 1 and s > 0):
        z.ravel()[idx] = 0.0
        p.ravel()[idx] = 1.0
        return z, p
    w_a = w.ravel()[idx]
    lag_a = lag.ravel()[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        if w_a.dtype.kind in "ub" and n > 9:
            # a square grid's counts (1-9 cells): the mean term and the denominator looked up in
            # a table of the 10 possible values, computed as below; never 0 as n > 9
            k = np.arange(10.0)
            z_a = lag_a - (k * mean)[w_a]
            z_a /= (s * np.sqrt(k * (n - k) / (n - 1)))[w_a]
        else:
            w_a = w_a.astype(float)
            z_a = (lag_a - w_a * mean) / (s * np.sqrt(w_a * (n - w_a) / (n - 1)))
    z.ravel()[idx] = z_a
    # two-sided normal p: 2 * ndtr(-|z|) is scipy.stats.norm.sf's own formula, without its
    # argument handling (which cost more than the statistic); NaN where z is not finite
    # (a cell whose neighbours are every active cell)
    t = np.abs(z_a)
    np.negative(t, out=t)
    ndtr(t, out=t)
    t *= 2
    t[~np.isfinite(z_a)] = np.nan
    p.ravel()[idx] = t
    return z, p


def classify(z: np.ndarray, q: np.ndarray, alpha: float) -> np.ndarray:
    """``hot`` (z > 0) or ``cold`` (z < 0) where q < ``alpha``; ``none`` elsewhere."""
    out = np.full(z.shape, "none", dtype=object)
    sig = np.isfinite(q) & (q < alpha)
    out[sig & (z > 0)] = "hot"
    out[sig & (z < 0)] = "cold"
    return out
