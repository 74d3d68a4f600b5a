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
    """Compare two surfaces cell by cell; ratios need ``denominator >= min_denominator`` (> 0)."""
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
