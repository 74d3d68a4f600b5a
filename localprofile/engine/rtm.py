"""Risk Terrain Modeling (Caplan & Kennedy; the RTMDx method) on an analysis grid.

Each point layer (schools, licensed premises, care homes, stop-and-search, a partner layer)
becomes candidate *risk factors* by two operationalisations at each spatial influence distance:

* **proximity**: the cell's centre lies within the distance of one of the layer's points;
* **density**: the number of the layer's points within the distance of the cell's centre is
  above the mean + 1 standard deviation of that count over the cells inside the study area
  (RTMDx's threshold for "high density").

:func:`risk_terrain` fits a Poisson model of the crimes per cell on those binary rasters and
selects the factors that predict crime out of sample (forward selection by K-fold
cross-validated deviance, the one-standard-error rule, at most one operationalisation and
distance per layer as in RTMDx), with a ridge penalty chosen by the same cross-validation. A
selected factor's *relative risk value* is ``RRV = exp(coefficient)``: how many times more crime
a cell with the factor has than one without, all else equal. The *risk terrain* is the product
of the RRVs of the selected factors present in each cell, scaled so the lowest cell is 1.

>>> import numpy as np, shapely
>>> from localprofile.engine.grid import make_grid
>>> grid = make_grid(shapely.box(0, 0, 2000, 2000), cell_size=100, buffer=0)
>>> f = risk_factors({"bars": (np.array([550.0]), np.array([550.0]))}, grid, [150])
>>> list(f), int(f["bars: proximity 150 m"].raster.sum())   # the 3 x 3 cells around the bar
(['bars: proximity 150 m', 'bars: density 150 m'], 9)

References: Caplan, J. M. & Kennedy, L. W. (2016) *Risk Terrain Modeling: Crime Prediction and
Risk Reduction*, University of California Press; Caplan, Kennedy & Piza (2013) *Risk Terrain
Modeling Diagnostics Utility User Manual*, Rutgers Center on Public Security.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from .checks import EngineInputError, check_counts, check_mask, check_positive
from .choices import Choice

OPERATIONALISATIONS = ("proximity", "density")
# Ridge penalties tried for the final model (scikit-learn's alpha: the deviance is averaged over
# cells, so 1e-6 is all but unpenalised and 1e-2 shrinks a coefficient of 1 noticeably).
ALPHAS = (1e-6, 1e-4, 1e-3, 1e-2)
SELECTION_ALPHA = 1e-4  # a light ridge while selecting: keeps a fit finite when a factor's cells
#                         in a training fold hold no crime


@dataclass(frozen=True)
class Factor:
    """A candidate risk factor: a binary raster of the cells a layer's influence reaches."""

    layer: str
    operationalisation: str  # "proximity" or "density"
    distance_m: float
    raster: np.ndarray  # (rows, cols) bool

    @property
    def name(self) -> str:
        return f"{self.layer}: {self.operationalisation} {self.distance_m:g} m"


@dataclass(frozen=True)
class RiskTerrain:
    """The result of :func:`risk_terrain`.

    ``factors`` holds one row per candidate (``factor``, ``layer``, ``operationalisation``,
    ``distance_m``, ``cells`` in the area with the factor, ``coefficient``, ``rrv``,
    ``selected``), selected factors first by RRV; coefficients and RRVs are NaN for factors not
    selected. ``surface`` is the risk terrain (NaN outside the area, lowest cell 1).
    """

    factors: pd.DataFrame
    surface: np.ndarray
    choices: list[Choice]

    @property
    def selected(self) -> pd.DataFrame:
        return self.factors[self.factors["selected"]]


def risk_factors(
    points: dict[str, tuple[np.ndarray, np.ndarray]], grid, distances_m
) -> dict[str, Factor]:
    """Candidate risk factors: every layer by proximity and by density at every distance.

    Parameters
    ----------
    points : dict of layer name -> (x, y)
        Each layer's point eastings and northings (metres, the grid's CRS).
    grid : Grid
        The analysis grid; cell centres are tested, and the density threshold (mean + 1 SD of
        the count within the distance) runs over its ``in_area`` cells.
    distances_m : sequence of float
        Spatial influence distances in metres, e.g. 1, 2 and 3 cell widths.

    Returns
    -------
    dict of name -> Factor
        Named like ``"schools: proximity 500 m"``, layer by layer, distance by distance.

    Examples
    --------
    >>> from localprofile.demo import demo_grid, demo_stages
    >>> g = demo_grid("Leeds", theme="all_crime")               # the shipped data, 500 m cells
    >>> schools = demo_stages("Leeds")[1].loaded["schools"].frame.geometry
    >>> f = risk_factors({"schools": (schools.x, schools.y)}, g.grid, [500, 1000, 1500])
    >>> {name: int(v.raster[g.grid.in_area].sum()) for name, v in f.items()}   # cells in Leeds
    {'schools: proximity 500 m': 185, 'schools: density 500 m': 185, 'schools: proximity 1000 m': 554, 'schools: density 1000 m': 194, 'schools: proximity 1500 m': 911, 'schools: density 1500 m': 233}

    (At 500 m the 211 schools are so sparse that one school already counts as "dense".)
    """
    distances = [check_positive(d, "distances_m") for d in np.atleast_1d(distances_m).tolist()]
    if not distances:
        raise EngineInputError("distances_m: give at least one distance")
    xc, yc = grid.centres()
    centres = np.column_stack([xc.ravel(), yc.ravel()])
    in_area = np.asarray(grid.in_area, bool).ravel()
    out = {}
    for layer, (x, y) in points.items():
        x = check_counts(x, f"points[{layer!r}] x", ndim=1, nonnegative=False)
        y = check_counts(y, f"points[{layer!r}] y", ndim=1, nonnegative=False)
        if x.shape != y.shape:
            raise EngineInputError(f"points[{layer!r}]: {len(x)} eastings but {len(y)} northings")
        tree = cKDTree(np.column_stack([x, y]))
        for d in distances:
            n = tree.query_ball_point(centres, d, return_length=True) if len(x) else np.zeros(len(centres))
            inside = n[in_area]
            dense = n > inside.mean() + inside.std() if inside.size else np.zeros(n.shape, bool)
            for op, raster in (("proximity", n > 0), ("density", dense)):
                f = Factor(layer, op, d, raster.reshape(grid.shape))
                out[f.name] = f
    return out


def risk_terrain(
    counts: np.ndarray, in_area: np.ndarray, factors: dict[str, Factor], *, folds: int = 5, seed: int = 0
) -> RiskTerrain:
    """Select risk factors by a cross-validated Poisson model and build the risk terrain.

    The crimes per in-area cell are modelled as Poisson with log mean ``b0 + sum_j b_j x_j``
    (``x_j`` a factor's 0/1 raster). Factors enter one at a time, the one that most lowers the
    K-fold cross-validated Poisson deviance first; once a layer enters, its other
    operationalisations and distances leave the pool (RTMDx keeps one per layer). The path stops
    when no candidate lowers the deviance, and the smallest model within one standard error of
    the best is kept (Hastie, Tibshirani & Friedman 2009, section 7.10); between candidates with
    the same raster the earlier one (in ``factors``'s order) enters. The selected factors
    are refitted with the ridge penalty (from :data:`ALPHAS`) of lowest cross-validated deviance.

    Why forward selection rather than the lasso: the candidates come in groups of near
    duplicates (one layer at 1, 2 and 3 cells, by proximity and by density), among which an L1
    penalty picks arbitrarily and shrinks what it keeps, while RTMDx's rule of one factor per
    layer is a constraint forward selection applies directly; the refit leaves the RRVs all but
    unshrunk. Coefficients below 0 (protective factors) are kept and reported as RRV < 1.

    Parameters
    ----------
    counts : (rows, cols) array of non-negative numbers
        Crimes per cell; must be finite inside ``in_area``.
    in_area : (rows, cols) bool array
        The cells modelled (the study area).
    factors : dict of name -> Factor
        Candidates, as :func:`risk_factors` makes them; rasters of ``counts``'s shape. A factor
        present in every in-area cell or in none cannot be estimated and is not selected.
    folds : int, default 5
        Folds of the cross-validation (cells shuffled with ``seed``).
    seed : int, default 0
        Seeds the fold assignment.

    Returns
    -------
    RiskTerrain
        ``factors`` (a row per candidate with its RRV when selected), ``surface`` and the
        ``choices`` made (folds, selection, penalty).

    Examples
    --------
    >>> from localprofile.demo import demo_grid, demo_stages
    >>> g = demo_grid("Leeds", theme="all_crime")               # the shipped data, 500 m cells
    >>> layers = demo_stages("Leeds", "force")[1].loaded          # SYNTHETIC restricted layers too
    >>> pts = {k: (layers[k].frame.geometry.x, layers[k].frame.geometry.y)
    ...        for k in ("schools", "repeat_offenders")}
    >>> rtm = risk_terrain(g.counts, g.grid.in_area, risk_factors(pts, g.grid, [500, 1000, 1500]))
    >>> rtm.selected[["factor", "rrv"]].round(2).to_dict("records")     # illustrative figures
    [{'factor': 'repeat_offenders: density 1500 m', 'rrv': 4.43}, {'factor': 'schools: proximity 1500 m', 'rrv': 4.13}]
    >>> float(np.nanmin(rtm.surface)), round(float(np.nanmax(rtm.surface)), 1)   # 4.43 x 4.13
    (1.0, 18.3)
    """
    in_area = check_mask(in_area, np.shape(counts), "in_area")
    counts = check_counts(counts, "counts", where=in_area, ndim=2)
    if isinstance(folds, bool) or not isinstance(folds, (int, np.integer)) or folds < 2:
        raise EngineInputError(f"folds must be a whole number of at least 2, not {folds!r}")
    if folds > in_area.sum():
        raise EngineInputError(f"folds: {folds} folds but only {int(in_area.sum())} cells in the area")
    for name, f in factors.items():
        if np.shape(f.raster) != counts.shape:
            raise EngineInputError(f"factors[{name!r}] has shape {np.shape(f.raster)}, not {counts.shape}")
    y = counts[in_area]
    if y.sum() == 0:
        raise EngineInputError("counts: no crime in the in-area cells; there is nothing to model")
    names = list(factors)
    X = np.column_stack([np.asarray(factors[k].raster, bool)[in_area] for k in names] or
                        [np.zeros((len(y), 0))]).astype(float)
    cells = X.sum(axis=0)
    splits = kfold_splits(len(y), folds, seed)
    pool = [j for j in range(len(names)) if 0 < cells[j] < len(y)]

    def cv(cols: list[int], alpha: float = SELECTION_ALPHA) -> np.ndarray:
        """Held-out mean Poisson deviance per fold."""
        return np.array([_deviance(y[te], _fit_predict(X[tr][:, cols], y[tr], X[te][:, cols], alpha))
                         for tr, te in splits])

    sel, best, keep = _forward_path(cv, pool, [factors[k].layer for k in names], folds)
    alpha = ALPHAS[int(np.argmin([cv(sel, a).mean() for a in ALPHAS]))] if sel else None
    coef = np.full(len(names), np.nan)
    if sel:
        coef[sel] = _fit(X[:, sel], y, alpha).coef_
    log_risk = X[:, sel] @ coef[sel] if sel else np.zeros(len(y))
    surface = np.full(counts.shape, np.nan)
    surface[in_area] = np.exp(log_risk - log_risk.min())

    table = pd.DataFrame({
        "factor": names,
        "layer": [factors[k].layer for k in names],
        "operationalisation": [factors[k].operationalisation for k in names],
        "distance_m": [factors[k].distance_m for k in names],
        "cells": cells.astype(int),
        "coefficient": coef,
        "rrv": np.exp(coef),
        "selected": np.isin(np.arange(len(names)), sel),
    }).sort_values(["selected", "rrv"], ascending=False, kind="stable").reset_index(drop=True)
    untestable = int(((cells == 0) | (cells == len(y))).sum())
    choices = [
        Choice("RTM folds", folds, f"{folds}-fold cross-validation over the {len(y):,} in-area cells, "
               f"shuffled with seed {seed}"),
        Choice("RTM factors selected", len(sel),
               f"forward selection by cross-validated Poisson deviance, one factor per layer: the "
               f"best model had {best} factor(s); the smallest within one standard error of it "
               f"has {keep}" + (f"; {untestable} candidate(s) present in every cell or none were "
                                "not tested" if untestable else "")),
        Choice("RTM penalty (alpha)", alpha,
               f"the ridge penalty of lowest cross-validated deviance among {', '.join(map(str, ALPHAS))}"
               if sel else "no factor selected: nothing to penalise"),
    ]
    return RiskTerrain(table, surface, choices)


def _forward_path(cv, pool: list[int], layers: list[str], folds: int) -> tuple[list[int], int, int]:
    """Forward selection from ``pool`` by ``cv`` (held-out deviance per fold), one candidate per
    layer, stopping when no candidate helps; the smallest model within one standard error of
    the best. Returns the kept columns and the sizes of the best and the kept model."""
    path = [([], cv([]))]
    while pool:
        chosen = path[-1][0]
        j, dev = min(((j, cv(chosen + [j])) for j in pool), key=lambda t: t[1].mean())
        if dev.mean() >= path[-1][1].mean():
            break
        path.append((chosen + [j], dev))
        pool = [i for i in pool if layers[i] != layers[j]]
    best = min(range(len(path)), key=lambda k: path[k][1].mean())
    limit = path[best][1].mean() + path[best][1].std(ddof=1) / np.sqrt(folds)
    keep = next(k for k in range(len(path)) if path[k][1].mean() <= limit)
    return path[keep][0], best, keep


@dataclass(frozen=True)
class _Fit:
    intercept_: float
    coef_: np.ndarray

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.exp(self.intercept_ + X @ self.coef_)


def kfold_splits(n: int, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (train, test) index pairs of scikit-learn's ``KFold(folds, shuffle=True,
    random_state=seed).split`` on ``n`` rows: the rows shuffled by ``RandomState(seed)``, cut into
    ``folds`` runs (the first ``n % folds`` one longer), each run a test fold; both index arrays
    sorted.

    Written here rather than imported because importing ``sklearn.model_selection`` costs about
    0.3 s of every build (scikit-learn's array-API and dataframe layers: a twentieth of a Leeds
    build, which issue 11 asks to bring close to its load floor) for these few lines;
    tests/test_rtm.py checks them against KFold itself.

    >>> [test.tolist() for _, test in kfold_splits(6, 3, 0)]
    [[2, 5], [1, 3], [0, 4]]
    """
    order = np.arange(n)
    np.random.RandomState(seed).shuffle(order)  # sklearn's check_random_state(int seed)
    sizes = np.full(folds, n // folds)
    sizes[: n % folds] += 1
    stops = np.cumsum(sizes)
    out = []
    for start, stop in zip((stops - sizes).tolist(), stops.tolist()):
        test = np.zeros(n, dtype=bool)
        test[order[start:stop]] = True
        out.append((np.flatnonzero(~test), np.flatnonzero(test)))
    return out


def _fit(X: np.ndarray, y: np.ndarray, alpha: float) -> _Fit:
    """scikit-learn's ``PoissonRegressor(alpha)`` of ``y`` on the binary columns of ``X``: the
    objective sum(w (mu - y log mu)) / sum(w) + alpha / 2 |coef|^2 (intercept unpenalised),
    minimised by Newton's method on the distinct rows of ``X`` (at most 2^k patterns of k binary
    factors, each with its cells' mean count and their number as weight: the same objective up
    to a constant).

    Written here rather than calling PoissonRegressor because a build fits about a thousand of
    these 16-row models, where scikit-learn's per-call input validation takes 2-3 ms and the
    Newton steps a few microseconds; tests/test_rtm.py checks it against PoissonRegressor run
    to convergence."""
    codes = X.astype(np.int64) @ (1 << np.arange(X.shape[1], dtype=np.int64))
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    w = np.bincount(inverse).astype(float)
    ybar = np.bincount(inverse, weights=y) / w
    Z = np.column_stack([np.ones(len(first)), X[first]])
    w = w / w.sum()
    pen = np.full(Z.shape[1], alpha)
    pen[0] = 0.0

    def objective(b):
        eta = Z @ b
        return float(w @ (np.exp(eta) - ybar * eta) + 0.5 * pen @ (b * b))

    b = np.zeros(Z.shape[1])
    b[0] = np.log(max(w @ ybar, 1e-12))
    f = objective(b)
    for _ in range(100):
        mu = np.exp(Z @ b)
        grad = Z.T @ (w * (mu - ybar)) + pen * b
        hess = (Z * (w * mu)[:, None]).T @ Z + np.diag(pen)
        step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while t > 1e-10:  # backtracking: a step that does not lower the objective is halved
            nb = b - t * step
            nf = objective(nb)
            if nf <= f:
                break
            t /= 2
        converged = abs(f - nf) <= 1e-14 * max(1.0, abs(f)) and np.max(np.abs(t * step)) < 1e-10
        b, f = nb, nf
        if converged or np.max(np.abs(grad)) < 1e-12:
            break
    return _Fit(float(b[0]), b[1:])


def _fit_predict(X_train, y_train, X_test, alpha: float) -> np.ndarray:
    if X_train.shape[1] == 0 or y_train.sum() == 0:
        return np.full(len(X_test), max(y_train.mean(), 1e-9))
    return _fit(X_train, y_train, alpha).predict(X_test)


def _deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Mean Poisson deviance, 2 (y log(y / mu) - (y - mu)), with 0 log 0 = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(np.mean(2 * (term - (y - mu))))
