"""Rates and dual KDE: one surface divided by (or compared with) another.

``dual_surface`` gives the ratio, log ratio or difference of two density surfaces on the same
grid. Ratios are left blank (NaN) where the denominator is below a stated minimum, because a
ratio over almost nothing (a park, an industrial estate with no residents) is noise, not risk.

>>> import numpy as np
>>> num, den = np.array([[2.0, 1.0], [0.0, 4.0]]), np.array([[1.0, 0.01], [1.0, 2.0]])
>>> dual_surface(num, den, "ratio", min_denominator=0.5).tolist()
[[2.0, nan], [0.0, 2.0]]
>>> dual_surface(num, den, "difference").tolist()
[[1.0, 0.99], [-1.0, 2.0]]
"""

from __future__ import annotations

from typing import Literal

import numpy as np

Kind = Literal["ratio", "log_ratio", "difference"]


def dual_surface(numerator: np.ndarray, denominator: np.ndarray, kind: Kind, min_denominator: float = 0.0) -> np.ndarray:
    """Compare two surfaces cell by cell; ratios need ``denominator >= min_denominator`` (> 0).

    Parameters
    ----------
    numerator, denominator : arrays of the same shape
        The two surfaces (KDEs in crimes per km², say) on one grid.
    kind : {"ratio", "log_ratio", "difference"}
        ``numerator / denominator``, its natural log, or ``numerator - denominator``.
    min_denominator : float, default 0
        Ratios and log ratios are NaN where ``denominator`` is below this (or not above 0).

    Returns
    -------
    float array of the surfaces' shape
        The comparison per cell; a log ratio is also NaN where ``numerator`` is 0.

    Examples
    --------
    >>> from localprofile.demo import demo_grid
    >>> from localprofile.engine.kde import block_mean, kde_raster
    >>> def kde(g):                                      # crimes per km², per 500 m cell
    ...     fine, f = kde_raster(g.grid, g.x, g.y, 1000)
    ...     return block_mean(fine, f)
    >>> drugs, crime = demo_grid("Leeds", theme="drugs"), demo_grid("Leeds", theme="all_crime")
    >>> share = dual_surface(kde(drugs), kde(crime), "ratio", min_denominator=50)[crime.grid.in_area]
    >>> share.size, int(np.isfinite(share).sum())      # Leeds's cells; those with 50+ crimes per km²
    (2204, 478)
    >>> round(100 * float(np.nanmedian(share)), 1), round(100 * float(np.nanmax(share)), 1)   # % drugs
    (1.5, 24.7)
    """
    num, den = np.asarray(numerator, float), np.asarray(denominator, float)
    if kind == "difference":
        return num - den
    ok = den >= max(min_denominator, np.finfo(float).tiny)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ok, num / np.where(ok, den, 1.0), np.nan)
        if kind == "ratio":
            return ratio
        if kind == "log_ratio":  # where the numerator is 0 the log ratio is undefined: NaN
            return np.where(ok & (num > 0), np.log(np.where(num > 0, ratio, 1.0)), np.nan)
    raise ValueError(f"unknown kind '{kind}' (ratio, log_ratio or difference)")


def population_on_grid(lsoa_ids: np.ndarray, population: np.ndarray) -> np.ndarray:
    """Residents per cell: each LSOA's population spread evenly over the grid cells whose
    centre lies in it (``lsoa_ids``: 1-based LSOA index per cell, 0 outside every LSOA).

    >>> population_on_grid(np.array([[1, 1], [2, 0]]), np.array([100.0, 30.0])).tolist()
    [[50.0, 50.0], [30.0, 0.0]]
    """
    ids = np.asarray(lsoa_ids)
    cells = np.bincount(ids.ravel(), minlength=len(population) + 1)
    per_cell = np.zeros(len(population) + 1)
    has = cells[1:] > 0
    per_cell[1:][has] = np.asarray(population, float)[has] / cells[1:][has]
    return per_cell[ids]
