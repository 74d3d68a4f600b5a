"""Local Moran's I (LISA) on area rates, with queen contiguity and permutation inference.

As ``esda.Moran_Local(y, w, transformation="r", permutations=P)``: with z the standardised
values (population standard deviation) and row-standardised weights, each area's statistic is
``Is_i = (n - 1) z_i (W z)_i / sum(z^2)``, its quadrant is read off the Moran scatterplot (z_i
against the spatial lag (W z)_i; esda's ``q``: 1 high-high, 2 low-high, 3 low-low, 4 high-low,
``> 0`` counting as high), and its pseudo p-value comes from conditional randomisation: the area
keeps its value and its neighbours' values are drawn, P times, without replacement from the
other n - 1 areas (:func:`localprofile.engine.permutation.conditional_null`, the engine of the
grid Gi*). ``p_sim`` is esda's folded one-sided value, ``p_two_sided`` the doubled one-sided one
(see :mod:`localprofile.engine.permutation`); ``z`` uses the exact mean and variance of that
conditional null, so it is what ``z_sim`` estimates. The statistic, quadrants and inference are
:func:`moran_inference`, which :func:`localprofile.engine.bivariate.bivariate_moran` shares (one
variable held, another's lag and permutations).

Areas without neighbours (islands) get NaN and the label ``no neighbours``: they have no spatial
lag. (esda gives them Is = 0, a quadrant from the sign of z alone, and p_sim = 1 / (P + 1), the
smallest possible value, because every simulation ties with the observed 0.)

>>> import numpy as np, shapely
>>> squares = [shapely.box(c, r, c + 1, r + 1) for r in range(5) for c in range(5)]
>>> W = queen_weights(squares)
>>> W.shape, int(W[[0]].nnz), int(W[[12]].nnz), float(W[[12]].sum())
((25, 25), 3, 8, 1.0)
>>> y = np.array([9, 8, 7, 1, 1] * 2 + [5, 5, 4, 1, 1] + [1] * 10, float)
>>> res = local_moran(y, W, permutations=999, seed=0, adjust="none")
>>> res.quadrant[:3].tolist(), round(float(res.Is[0]), 4)
(['high-high', 'high-high', 'high-high'], 3.2461)
>>> res.cluster[0], res.cluster[24]
('high-high', 'not significant')
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy import sparse

from .checks import EngineInputError
from .choices import Choice
from .permutation import ADJUST_NAMES, _check_permutations, adjust_p, conditional_null, pseudo_p

QUADRANTS = {1: "high-high", 2: "low-high", 3: "low-low", 4: "high-low"}  # esda's q codes
NOT_SIGNIFICANT = "not significant"
NO_NEIGHBOURS = "no neighbours"


def queen_weights(polygons, *, row_standardised: bool = True) -> sparse.csr_array:
    """Queen contiguity between ``polygons`` (shapely geometries, a GeoSeries or a list): i and j
    are neighbours when they share at least one boundary point (they touch, at an edge or a
    corner, or overlap, as generalised boundaries sometimes do). A sparse CSR matrix, rows
    summing to 1 (``row_standardised``) or binary; an area without neighbours has an empty row.

    Found with a shapely STRtree ``intersects`` query. On the West Yorkshire LSOAs this gives the
    same neighbour sets as ``libpysal.weights.Queen.from_dataframe`` (which matches shared
    vertices), without making libpysal a dependency.

    Parameters
    ----------
    polygons : GeoSeries, list or array of shapely geometries
        The areas (LSOAs, say), in one CRS.
    row_standardised : bool, default True
        Rows summing to 1 (each neighbour weighted 1 / the area's neighbours); else binary.

    Returns
    -------
    scipy.sparse.csr_array, (n, n)
        The weights, row i holding area i's neighbours; an empty row for an area without any.

    Examples
    --------
    >>> from localprofile.demo import demo_lsoa_rates
    >>> polygons, _ = demo_lsoa_rates("Leeds", "all_crime")   # shipped data, 482 LSOAs
    >>> W = queen_weights(polygons)
    >>> k = np.diff(W.indptr)                                   # neighbours per LSOA
    >>> W.shape, W.nnz, int(k.min()), int(k.max()), round(float(k.mean()), 2)
    ((482, 482), 2764, 1, 14, 5.73)
    >>> bool(np.allclose(W.sum(axis=1), 1)), float(queen_weights(polygons, row_standardised=False).max())
    (True, 1.0)

    >>> W = queen_weights([shapely.box(0, 0, 1, 1), shapely.box(1, 1, 2, 2), shapely.box(5, 5, 6, 6)])
    >>> W.toarray().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    geoms = np.asarray(getattr(polygons, "values", polygons), dtype=object).ravel()
    n = geoms.size
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    keep = i != j
    i, j = i[keep], j[keep]
    W = sparse.csr_array((np.ones(i.size), (i, j)), shape=(n, n))
    W.sum_duplicates()
    W.data[:] = 1.0
    return _row_standardise(W) if row_standardised else W


def _row_standardise(W: sparse.csr_array) -> sparse.csr_array:
    rs = np.asarray(W.sum(axis=1)).ravel()
    inv = np.divide(1.0, rs, out=np.zeros_like(rs), where=rs != 0)
    return sparse.csr_array(sparse.diags_array(inv) @ W)


@dataclass(frozen=True)
class LocalMoran:
    """Local Moran's I per area (NaN and ``no neighbours`` for islands)."""

    Is: np.ndarray
    z: np.ndarray  # (Is - E) / sd under the exact conditional-randomisation null
    z_sim: np.ndarray  # (Is - mean of simulations) / their standard deviation, as esda
    p_sim: np.ndarray  # esda's folded one-sided pseudo p-value
    p_two_sided: np.ndarray  # doubled one-sided pseudo p-value (ties on both sides)
    p_adjusted: np.ndarray  # the p-value behind ``cluster``, after the multiple-testing adjustment
    q: np.ndarray  # esda's quadrant codes 1..4; 0 for islands
    quadrant: np.ndarray  # high-high, low-high, low-low, high-low, or no neighbours
    cluster: np.ndarray  # the quadrant where p_adjusted < alpha, else "not significant"
    permutations: int
    choices: list[Choice] = field(default_factory=list)


def local_moran(
    y,
    W,
    permutations: int = 9999,
    seed: int | np.random.Generator | None = 0,
    *,
    alpha: float = 0.05,
    adjust: str = "bh",
    p_value: str = "two-sided",
    draws: np.ndarray | None = None,
) -> LocalMoran:
    """Local Moran's I (Anselin 1995) with conditional-randomisation pseudo p-values, as
    ``esda.Moran_Local(y, w, transformation="r", permutations=permutations)``.

    Parameters
    ----------
    y : (n,) array of finite numbers
        A value per area (crimes per 1,000 residents, say); drop areas without one first.
    W : (n, n) sparse or dense matrix
        Spatial weights (:func:`queen_weights`); row-standardised here.
    permutations : int, default 9999
        Conditional randomisations per area.
    seed : int, numpy Generator or None, default 0
        The draws' source.
    alpha : float, default 0.05
        An area is labelled with its quadrant where its adjusted p is below this.
    adjust : {"bh", "by", "bonferroni", "holm", "none"}, default "bh"
        Multiple-testing adjustment over the non-island areas.
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
    LocalMoran
        ``Is``, pseudo p-values, ``quadrant`` (high-high, low-high, low-low, high-low) and
        ``cluster`` (the quadrant where significant, else "not significant") per area.

    Examples
    --------
    >>> from collections import Counter
    >>> from localprofile.demo import demo_lsoa_rates
    >>> polygons, rates = demo_lsoa_rates("Leeds", "all_crime")   # shipped data, 482 LSOAs
    >>> lm = local_moran(rates, queen_weights(polygons), 999, seed=0, adjust="none")
    >>> sorted(Counter(lm.cluster).items())
    [('high-high', 21), ('high-low', 4), ('low-high', 3), ('low-low', 41), ('not significant', 413)]
    """
    if draws is not None:
        permutations = int(np.shape(draws)[0])
    permutations = _check_permutations(permutations)
    if p_value not in ("two-sided", "folded"):
        raise ValueError("p_value must be 'two-sided' or 'folded'")
    y = np.asarray(y, float).ravel()
    n = y.size
    if n < 3:
        raise ValueError("local Moran's I needs at least 3 areas")
    if not np.isfinite(y).all():
        raise ValueError("y must be finite: drop the areas without a value (and their rows and "
                         "columns of W) first")
    Wr = row_standardised_weights(W, n, "y")
    sd = y.std()
    if sd == 0:
        raise ValueError("y is constant: local Moran's I is undefined")
    z = (y - y.mean()) / sd
    return moran_inference(z, z, Wr, permutations, seed, alpha=alpha, adjust=adjust,
                           p_value=p_value, draws=draws)


def row_standardised_weights(W, n: int, values: str) -> sparse.csr_array:
    """``W`` (sparse or dense, n x n) as a row-standardised CSR copy, explicit zeros dropped; a
    shape other than n x n is an error naming ``values``, the parameter W must match."""
    W = sparse.csr_array(W, dtype=float, copy=True)  # eliminate_zeros below must not touch W
    if W.shape != (n, n):
        raise EngineInputError(f"W is {W.shape[0]} x {W.shape[1]} but {values} has {n} values")
    W.eliminate_zeros()
    return _row_standardise(W)


def moran_inference(
    zx: np.ndarray,
    zy: np.ndarray,
    Wr: sparse.csr_array,
    permutations: int,
    seed: int | np.random.Generator | None,
    *,
    alpha: float,
    adjust: str,
    p_value: str,
    draws: np.ndarray | None,
    result: type[LocalMoran] = LocalMoran,
    statistic: str = "local Moran's I",
    clusters: str = "LISA clusters",
) -> LocalMoran:
    """The local Moran statistic of standardised ``zx`` against the spatial lag of standardised
    ``zy`` (``Is_i = (n - 1) zx_i (Wr zy)_i / sum(zx^2)``, esda's expression), its quadrants and
    conditional-randomisation inference (``zy``'s other n - 1 values redrawn around each area,
    ``zx_i`` held): shared by :func:`local_moran` (``zx`` is ``zy``) and
    :func:`localprofile.engine.bivariate.bivariate_moran`. Inputs are already checked;
    ``result`` is the dataclass returned, ``statistic`` and ``clusters`` name it in the choices.
    """
    n = zx.size
    den = (zx * zx).sum()
    lag = Wr @ zy
    Is = (n - 1) * zx * lag / den  # esda's expression, term for term
    w_self = Wr.diagonal()
    off = sparse.csr_array(Wr - sparse.diags_array(w_self))  # the neighbours other than itself
    off.eliminate_zeros()
    off.sort_indices()
    k = np.diff(off.indptr)
    island = k == 0

    # quadrants, esda's rule (> 0 is high)
    zp, lp = zx > 0, lag > 0
    q = np.select([zp & lp, ~zp & lp, ~zp & ~lp], [1, 2, 3], 4)
    q[island] = 0
    quadrant = np.array([NO_NEIGHBOURS, *QUADRANTS.values()], dtype=object)[q]

    # permutation inference: Is_i = c_i (w_ii zy_i + T_i), T_i the weighted sum of the neighbours
    c = (n - 1) * zx / den
    observed = lag - w_self * zy
    kmax = int(k.max(initial=0))
    weights = np.zeros((n, max(kmax, 1)))
    rows = np.repeat(np.arange(n), k)
    weights[rows, np.arange(off.nnz) - off.indptr[:-1][rows]] = off.data
    rng = np.random.default_rng(seed)
    ge_t, le_t, mean_t, sd_t = conditional_null(zy, k, np.arange(n), observed, permutations, rng,
                                                weights=weights, draws=draws)
    ge = np.where(c > 0, ge_t, np.where(c < 0, le_t, permutations))
    le = np.where(c > 0, le_t, np.where(c < 0, ge_t, permutations))
    p_sim, p_two = pseudo_p(ge, le, permutations)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_sim = np.where((sd_t > 0) & (c != 0), np.sign(c) * (observed - mean_t) / sd_t, np.nan)

    # exact moments of the conditional null: k weighted draws without replacement from the
    # m = n - 1 other values of zy, whose mean is -zy_i / m (zy sums to 0) and variance s2
    m = n - 1
    mu = -zy / m
    s2 = ((zy * zy).sum() - zy * zy) / m - mu**2
    sw = np.asarray(off.sum(axis=1)).ravel()
    sw2 = np.asarray(off.multiply(off).sum(axis=1)).ravel()
    var_t = s2 * (m * sw2 - sw**2) / (m - 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        z_exact = np.where(var_t > 0, (observed - mu * sw) / np.sqrt(var_t) * np.sign(c), np.nan)
    z_exact[c == 0] = np.nan

    used = p_two if p_value == "two-sided" else p_sim
    for arr in (Is, z_exact, z_sim, p_sim, p_two, used):
        arr[island] = np.nan
    p_adj = adjust_p(used, ~island, adjust)
    cluster = np.where(p_adj < alpha, quadrant, NOT_SIGNIFICANT).astype(object)
    cluster[island] = NO_NEIGHBOURS
    choices = [
        Choice(
            clusters,
            f"{p_value} pseudo p, {adjust} adjusted, below {alpha:g}",
            f"an area is labelled with its quadrant where its {p_value} pseudo p-value from "
            f"{permutations:,} conditional randomisations, adjusted over the {int((~island).sum()):,} "
            f"areas with neighbours ({ADJUST_NAMES[adjust]}), is below {alpha:g}",
        )
    ]
    if island.any():
        choices.append(
            Choice(
                "areas without neighbours",
                int(island.sum()),
                f"no {statistic} (NaN, label 'no neighbours'): an area without neighbours has "
                "no spatial lag (esda would give Is = 0 and p_sim = 1 / (P + 1))",
            )
        )
    return result(Is, z_exact, z_sim, p_sim, p_two, p_adj, q, quadrant, cluster, permutations,
                  choices)


