"""Input checks shared by the engine's verbs: each error names the parameter and what is wrong,
so a NaN count never turns silently into "no clustering" nor a negative bandwidth into a surface.

>>> import numpy as np
>>> check_counts(np.array([[1.0, np.nan], [2.0, 3.0]]), "counts")
Traceback (most recent call last):
...
localprofile.engine.checks.EngineInputError: counts: 1 cell is NaN or infinite
>>> check_positive(-200, "bandwidth")
Traceback (most recent call last):
...
localprofile.engine.checks.EngineInputError: bandwidth must be a finite number above 0, not -200
"""

from __future__ import annotations

import math

import numpy as np


class EngineInputError(ValueError):
    """An engine verb was given an input it cannot use; the message names the parameter."""


def check_counts(values, name: str, *, where: np.ndarray | None = None, ndim: int | None = None,
                 nonnegative: bool = True, allow_nan: bool = False, unit: str = "cell") -> np.ndarray:
    """``values`` as a float array, finite (and not negative) wherever ``where`` is true;
    ``allow_nan``: NaN stands for "no value" and passes (infinity still does not); ``unit`` is
    what a value belongs to in the message (a cell, an area)."""
    a = np.asarray(values, dtype=float)
    if ndim is not None and a.ndim != ndim:
        raise EngineInputError(f"{name} must be a {ndim}-D array, not {a.ndim}-D")
    if where is not None and np.shape(where) != a.shape:
        raise EngineInputError(f"{name} has shape {a.shape} but its mask has shape {np.shape(where)}")
    part = a[where] if where is not None else a
    bad = int((np.isinf(part) if allow_nan else ~np.isfinite(part)).sum())
    if bad:
        raise EngineInputError(f"{name}: {bad:,} {unit} is NaN or infinite" if bad == 1
                               else f"{name}: {bad:,} {unit}s are NaN or infinite")
    neg = int((part < 0).sum()) if nonnegative else 0
    if neg:
        raise EngineInputError(f"{name}: {neg:,} {'value is' if neg == 1 else 'values are'} negative "
                               f"(the smallest {np.nanmin(part):g}); counts and weights cannot be")
    return a


def check_mask(mask, shape: tuple[int, ...], name: str) -> np.ndarray:
    """``mask`` as a bool array of ``shape``."""
    m = np.asarray(mask)
    if m.shape != tuple(shape):
        raise EngineInputError(f"{name} has shape {m.shape}, not {tuple(shape)}")
    if m.dtype != bool:
        raise EngineInputError(f"{name} must be a boolean array, not {m.dtype}")
    return m


def check_positive(value, name: str) -> float:
    """A finite number above 0 (a cell size, a bandwidth, a distance)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value <= 0:
        raise EngineInputError(f"{name} must be a finite number above 0, not {value!r}")
    return float(value)
