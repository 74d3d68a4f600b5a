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
    dtypes stay integer (a mask's neighbour count in uint8). The result is a view into a
    row-padded array (not C-contiguous).

    >>> queen_sum(np.arange(9.0).reshape(3, 3)).tolist()
    [[8.0, 15.0, 12.0], [21.0, 36.0, 27.0], [20.0, 33.0, 24.0]]
    """
    r, c = a.shape
    p = np.zeros((r + 2, c + 2), a.dtype)
    p[1:-1, 1:-1] = a
    v = p[:-2] + p[1:-1]  # whole padded rows: contiguous blocks
    v += p[2:]
    # across: one contiguous 1-D pass over the rows laid end to end (a row's last two sums mix
    # in the next row and are dropped) instead of a pass per row over 2-D slices
    f = v.ravel()
    out = np.empty(f.size, a.dtype)
    np.add(f[:-2], f[1:-1], out=out[:-2])
    out[:-2] += f[2:]
    out[-2:] = 0
    return out.reshape(r, c + 2)[:, :c]


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
    idx = np.flatnonzero(active)  # the active cells, once
    n = idx.size
    vals = y.ravel()[idx]
    mean = vals.mean() if n else 0.0
    s = np.sqrt(max((vals**2).mean() - mean**2, 0.0)) if n else 0.0  # not np.dot: BLAS threads stall on a busy machine
    if not (n > 1 and s > 0):
        z = np.full(y.shape, np.nan)
        p = np.full(y.shape, np.nan)
        z.ravel()[idx] = 0.0
        p.ravel()[idx] = 1.0
        return z, p
    if w.dtype.kind in "ub" and n > 9:
        zp = _square_grid_z_p(lag, w, active, mean, s, n)
        if zp is not None:
            return zp
    z = np.full(y.shape, np.nan)
    p = np.full(y.shape, np.nan)
    w_a = w.ravel()[idx].astype(float)
    lag_a = lag.ravel()[idx]
    with np.errstate(divide="ignore", invalid="ignore"):
        z_a = (lag_a - w_a * mean) / (s * np.sqrt(w_a * (n - w_a) / (n - 1)))
    z.ravel()[idx] = z_a
    p.ravel()[idx] = _two_sided_p(z_a)
    return z, p


def _two_sided_p(z: np.ndarray) -> np.ndarray:
    """2 * ndtr(-|z|), scipy.stats.norm.sf's own formula without its argument handling (which
    cost more than the statistic); NaN where z is not finite (a cell whose neighbours are every
    active cell)."""
    t = np.abs(z)
    np.negative(t, out=t)
    ndtr(t, out=t)
    t *= 2
    t[~np.isfinite(z)] = np.nan
    return t


# the (lag, neighbour count) table of _square_grid_z_p is used while it has at most this many
# entries per grid cell
_TABLE_PER_CELL = 4


def _square_grid_z_p(lag, w, active, mean, s, n):
    """Gi* z and p on a square grid of whole-number counts (crimes), or None where the counts
    are not whole numbers or too large. A cell's z depends only on its neighbourhood sum ``lag``
    and its neighbour count ``w`` (1 to 9), and cells share few (lag, w) pairs: z and p are
    computed once per pair that occurs, in the same floating-point operations as
    gi_star_from_sums' general formula (so the same bits), and looked up for every cell; the
    normal tail (ndtr) is most of the cost. Cells outside ``active`` take key 0 (lag 0, w 0),
    which no active cell has (it counts itself), and get NaN."""
    top = float(lag.max())
    if 10 * (top + 1) > _TABLE_PER_CELL * lag.size:
        return None
    key = lag.astype(np.intp)
    if not (key == lag).all():
        return None
    key *= 10
    key += w
    key *= active
    present = np.zeros(10 * (int(top) + 1), bool)
    present[key] = True
    u = np.flatnonzero(present)
    k = np.arange(10.0)
    kk = u % 10
    with np.errstate(divide="ignore", invalid="ignore"):
        zu = (u // 10 - (k * mean)[kk]) / (s * np.sqrt(k * (n - k) / (n - 1)))[kk]
    ztab = np.empty(present.size)
    ptab = np.empty(present.size)
    ztab[u] = zu
    ptab[u] = _two_sided_p(zu)
    ztab[0] = ptab[0] = np.nan
    return ztab[key], ptab[key]


def classify(z: np.ndarray, q: np.ndarray, alpha: float) -> np.ndarray:
    """``hot`` (z > 0) or ``cold`` (z < 0) where q < ``alpha``; ``none`` elsewhere."""
    out = np.full(z.shape, "none", dtype=object)
    sig = np.isfinite(q) & (q < alpha)
    out[sig & (z > 0)] = "hot"
    out[sig & (z < 0)] = "cold"
    return out
