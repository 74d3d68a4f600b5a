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
from scipy import ndimage, stats

from .checks import check_counts, check_mask

_QUEEN = np.ones((3, 3))


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
    y = np.where(active, counts, 0.0).astype(float)
    lag = ndimage.convolve(y, _QUEEN, mode="constant", cval=0.0)
    w = ndimage.convolve(active.astype(float), _QUEEN, mode="constant", cval=0.0)
    return gi_star_from_sums(y, active, lag, w)


def gi_star_from_sums(
    y: np.ndarray, active: np.ndarray, lag: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Gi* z and two-sided p from each cell's neighbourhood sum ``lag`` and neighbour count
    ``w`` (the cell itself included): shared by square and hexagonal grids, which differ only in
    how they find neighbours. ``y`` is zero outside ``active``."""
    n = int(active.sum())
    vals = y[active]
    mean = vals.mean() if n else 0.0
    s = np.sqrt(max((vals**2).mean() - mean**2, 0.0)) if n else 0.0
    z = np.full(y.shape, np.nan)
    if n > 1 and s > 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            den = s * np.sqrt(w * (n - w) / (n - 1))
            z_all = (lag - w * mean) / den
        z[active] = z_all[active]
    else:
        z[active] = 0.0
    p = np.where(np.isfinite(z), 2 * stats.norm.sf(np.abs(z)), np.nan)
    return z, p


def classify(z: np.ndarray, q: np.ndarray, alpha: float) -> np.ndarray:
    """``hot`` (z > 0) or ``cold`` (z < 0) where q < ``alpha``; ``none`` elsewhere."""
    out = np.full(z.shape, "none", dtype=object)
    sig = np.isfinite(q) & (q < alpha)
    out[sig & (z > 0)] = "hot"
    out[sig & (z < 0)] = "cold"
    return out
