"""Bivariate local Moran's I: where high values of one variable (threat, x) sit next to high
values of another (vulnerability, y).

As ``esda.Moran_Local_BV(x, y, w, transformation="r", permutations=P)``: with zx and zy the
standardised values (population standard deviation) and row-standardised weights, each area's
statistic is ``Is_i = (n - 1) zx_i (W zy)_i / sum(zx^2)``, its own x against its neighbours'
y. Its quadrant (esda's ``q``: 1 high-high, 2 low-high, 3 low-low, 4 high-low, ``> 0`` counting
as high) reads zx_i against the spatial lag (W zy)_i, so "high-high" is high threat among high
vulnerability and "high-low" high threat among low vulnerability. Its pseudo p-value comes from
conditional randomisation as in esda: the area keeps its x, and its neighbours' y values are
drawn, P times, without replacement from the y of the other n - 1 areas. The inference, the
p-values (``p_sim``, ``p_two_sided``, the exact-moment ``z``), the multiple-testing adjustment
and the labels are :func:`localprofile.engine.lisa.local_moran`'s, by the same code; with x = y
the result is the univariate local Moran's I.

Areas without neighbours get NaN and the label ``no neighbours``, as in ``local_moran``.

>>> import numpy as np, shapely
>>> from localprofile.engine.lisa import queen_weights
>>> squares = [shapely.box(c, r, c + 1, r + 1) for r in range(5) for c in range(5)]
>>> threat = np.array([9, 8, 1, 1, 1] * 2 + [1] * 15, float)       # high in the corner
>>> vulnerable = np.array([1, 1, 7, 9, 8] * 2 + [1] * 15, float)   # high beside it
>>> bv = bivariate_moran(threat, vulnerable, queen_weights(squares), 999, seed=0, adjust="none")
>>> bv.quadrant[[1, 3]].tolist()
['high-high', 'low-high']
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .checks import EngineInputError, check_counts
from .lisa import LocalMoran, moran_inference, row_standardised_weights
from .permutation import _check_permutations


@dataclass(frozen=True)
class BivariateMoran(LocalMoran):
    """Bivariate local Moran's I per area, x against the spatial lag of y; the fields are
    :class:`localprofile.engine.lisa.LocalMoran`'s (quadrants: x first, the lag of y second)."""


def bivariate_moran(
    x,
    y,
    W,
    permutations: int = 9999,
    seed: int | np.random.Generator | None = 0,
    *,
    alpha: float = 0.05,
    adjust: str = "bh",
    p_value: str = "two-sided",
    draws: np.ndarray | None = None,
) -> BivariateMoran:
    """Bivariate local Moran's I (Anselin, Syabri and Smirnov 2002) with conditional-
    randomisation pseudo p-values, as ``esda.Moran_Local_BV(x, y, w, transformation="r",
    permutations=permutations)``.

    Parameters
    ----------
    x : (n,) array of finite numbers
        The variable held at each area (threat: crimes per 1,000 residents, say).
    y : (n,) array of finite numbers
        The variable whose spatial lag x is set against (vulnerability: deprivation, say); one
        value per area, in x's order. Drop areas without a value (and their rows and columns of
        W) first.
    W : (n, n) sparse or dense matrix
        Spatial weights (:func:`localprofile.engine.lisa.queen_weights`); row-standardised here.
    permutations : int, default 9999
        Conditional randomisations per area.
    seed : int, numpy Generator or None, default 0
        The draws' source.
    alpha : float, default 0.05
        An area is labelled with its quadrant where its adjusted p is below this.
    adjust : {"bh", "by", "bonferroni", "holm", "none"}, default "bh"
        Multiple-testing adjustment over the areas with neighbours.
    p_value : {"two-sided", "folded"}, default "two-sided"
        ``folded`` is esda's ``p_sim``; esda's ``get_cluster_labels(alpha)`` is
        ``p_value="folded", adjust="none"``.
    draws : array, optional
        Given permutation indices instead of ``seed``'s, in esda's layout (see
        :func:`localprofile.engine.permutation.conditional_null`); with
        ``esda.crand.vec_permutations(max neighbours, n, permutations, seed)`` the result is
        esda's at that seed, draw for draw.

    Returns
    -------
    BivariateMoran
        ``Is``, pseudo p-values, ``q`` and ``quadrant`` (high-high, low-high, low-low,
        high-low: x, then the lag of y), ``cluster`` (the quadrant where significant, else "not
        significant") per area, and the ``choices`` made.

    Examples
    --------
    Drug offences per 1,000 residents (threat) against deprivation (vulnerability: minus the
    IMD 2019 rank, which is 1 for the most deprived LSOA in England) in Leeds:

    >>> from collections import Counter
    >>> from localprofile.demo import demo_lsoa_rates, demo_lsoa_values
    >>> from localprofile.engine.lisa import queen_weights
    >>> polygons, drugs = demo_lsoa_rates("Leeds", "drugs")       # shipped data, 482 LSOAs
    >>> deprivation = -demo_lsoa_values("Leeds", "imd_rank")
    >>> bv = bivariate_moran(drugs, deprivation, queen_weights(polygons), 999, seed=0,
    ...                      adjust="none")
    >>> sorted(Counter(bv.cluster).items())
    [('high-high', 61), ('high-low', 18), ('low-high', 37), ('low-low', 60), ('not significant', 306)]
    >>> bv.choices[0].value
    'two-sided pseudo p, none adjusted, below 0.05'
    """
    if draws is not None:
        permutations = int(np.shape(draws)[0])
    permutations = _check_permutations(permutations)
    if p_value not in ("two-sided", "folded"):
        raise ValueError("p_value must be 'two-sided' or 'folded'")
    x = check_counts(x, "x", ndim=1, nonnegative=False, unit="area")
    y = check_counts(y, "y", ndim=1, nonnegative=False, unit="area")
    n = x.size
    if y.size != n:
        raise EngineInputError(f"y has {y.size} values but x has {n}: one of each per area")
    if n < 3:
        raise EngineInputError(f"x has {n} values: the bivariate local Moran's I needs at least "
                               "3 areas")
    Wr = row_standardised_weights(W, n, "x")
    zs = []
    for name, v in (("x", x), ("y", y)):
        sd = v.std()
        if sd == 0:
            raise EngineInputError(f"{name} is constant: the bivariate local Moran's I is undefined")
        zs.append((v - v.mean()) / sd)
    zx, zy = zs
    return moran_inference(zx, zy, Wr, permutations, seed, alpha=alpha, adjust=adjust,
                           p_value=p_value, draws=draws, result=BivariateMoran,
                           statistic="bivariate local Moran's I",
                           clusters="bivariate LISA clusters")
