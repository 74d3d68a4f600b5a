"""Risk Terrain Modeling: planted factors recovered on a seeded synthetic grid, the risk surface,
bad inputs, and a run on the shipped Leeds data checked against the closed-form Poisson fit."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from localprofile.engine.checks import EngineInputError
from localprofile.engine.grid import make_grid
from localprofile.engine.rtm import Factor, risk_factors, risk_terrain

TRUE_RRV = {"a: proximity 200 m": 3.0, "b: density 300 m": 1.8}
DISTANCES = [100, 200, 300]  # 1, 2 and 3 cell widths


def _within(grid, x, y, d):
    """Points within ``d`` of each cell centre, by brute force (independent of the cKDTree)."""
    xc, yc = grid.centres()
    return (np.hypot(xc[..., None] - x, yc[..., None] - y) <= d).sum(axis=-1)


@pytest.fixture(scope="module")
def planted():
    """A 60 x 60 grid of 100 m cells (a disc of it in the area); crimes ~ Poisson(1.0 x 3.0 near
    layer a's points x 1.8 where layer b is dense); layer c is irrelevant."""
    rng = np.random.default_rng(20261202)
    grid = make_grid(shapely.Point(3000, 3000).buffer(3000), cell_size=100, buffer=0)
    points = {k: (rng.uniform(0, 6000, n), rng.uniform(0, 6000, n)) for k, n in (("a", 40), ("b", 150), ("c", 40))}
    near_a = _within(grid, *points["a"], 200) > 0
    n_b = _within(grid, *points["b"], 300)
    inside = n_b[grid.in_area]
    dense_b = n_b > inside.mean() + inside.std()
    counts = rng.poisson(1.0 * 3.0**near_a * 1.8**dense_b).astype(float)
    counts[~grid.in_area] = np.nan  # outside the area: not looked at
    factors = risk_factors(points, grid, DISTANCES)
    return grid, factors, counts, near_a, dense_b, risk_terrain(counts, grid.in_area, factors, seed=3)


def test_factor_rasters_match_a_brute_force_count(planted):
    grid, factors, _, near_a, dense_b, _ = planted
    assert len(factors) == 3 * len(DISTANCES) * 2
    np.testing.assert_array_equal(factors["a: proximity 200 m"].raster, near_a)
    np.testing.assert_array_equal(factors["b: density 300 m"].raster, dense_b)


def test_planted_factors_are_recovered_and_the_irrelevant_one_is_not_selected(planted):
    *_, rtm = planted
    sel = rtm.selected.set_index("factor")
    assert set(sel.index) == set(TRUE_RRV)  # the planted operationalisation and distance
    for name, truth in TRUE_RRV.items():
        assert sel.loc[name, "rrv"] == pytest.approx(truth, rel=0.2), name
    assert not rtm.factors[rtm.factors["layer"] == "c"]["selected"].any()
    assert rtm.factors.loc[~rtm.factors["selected"], "rrv"].isna().all()


def test_surface_is_the_product_of_selected_rrvs_scaled_to_a_lowest_cell_of_1(planted):
    grid, factors, _, _, _, rtm = planted
    s = rtm.surface
    assert np.isnan(s[~grid.in_area]).all()
    assert np.nanmin(s) == pytest.approx(1.0)
    rrv = rtm.selected.set_index("factor")["rrv"]
    a, b = (factors[k].raster & grid.in_area for k in TRUE_RRV)
    np.testing.assert_allclose(s[a & b], rrv.prod())
    np.testing.assert_allclose(s[a & ~b], rrv["a: proximity 200 m"])
    np.testing.assert_allclose(s[~a & ~b & grid.in_area], 1.0)


def test_choices_say_what_was_chosen(planted):
    *_, rtm = planted
    what = {c.what: c for c in rtm.choices}
    assert what["RTM folds"].value == 5 and "seed 3" in what["RTM folds"].why
    assert what["RTM factors selected"].value == 2
    assert "one standard error" in what["RTM factors selected"].why
    assert what["RTM penalty (alpha)"].value > 0


def test_bad_inputs_name_the_parameter():
    grid = make_grid(shapely.box(0, 0, 1000, 1000), cell_size=100, buffer=0)
    pts = {"bars": (np.array([250.0, 700.0]), np.array([250.0, 600.0]))}
    factors = risk_factors(pts, grid, [150])
    counts = np.ones(grid.shape)
    with pytest.raises(EngineInputError, match="distances_m must be a finite number above 0, not -100"):
        risk_factors(pts, grid, [200, -100])
    with pytest.raises(EngineInputError, match="distances_m must be a finite number above 0, not 0"):
        risk_factors(pts, grid, 0)
    with pytest.raises(EngineInputError, match=r"points\['bars'\]: 2 eastings but 1 northings"):
        risk_factors({"bars": (np.array([1.0, 2.0]), np.array([1.0]))}, grid, [150])
    with pytest.raises(EngineInputError, match=r"points\['bars'\] x: 1 cell is NaN"):
        risk_factors({"bars": (np.array([np.nan]), np.array([1.0]))}, grid, [150])
    nan = counts.copy()
    nan[3, 4] = np.nan
    with pytest.raises(EngineInputError, match="counts: 1 cell is NaN"):
        risk_terrain(nan, grid.in_area, factors)
    with pytest.raises(EngineInputError, match="counts: 1 value is negative"):
        risk_terrain(np.where(nan > 0, 1.0, -1.0), grid.in_area, factors)
    with pytest.raises(EngineInputError, match=r"in_area has shape \(9, 10\), not \(10, 10\)"):
        risk_terrain(counts, grid.in_area[1:], factors)
    small = {"x": Factor("x", "proximity", 100.0, np.zeros((9, 10), bool))}
    with pytest.raises(EngineInputError, match=r"factors\['x'\] has shape \(9, 10\), not \(10, 10\)"):
        risk_terrain(counts, grid.in_area, small)
    with pytest.raises(EngineInputError, match="folds must be a whole number of at least 2, not 1"):
        risk_terrain(counts, grid.in_area, factors, folds=1)
    with pytest.raises(EngineInputError, match="counts: no crime"):
        risk_terrain(np.zeros(grid.shape), grid.in_area, factors)


def test_leeds_schools_as_a_factor_of_all_crime():
    from localprofile.demo import demo_grid, demo_stages

    g = demo_grid("Leeds", theme="all_crime")  # the shipped police.uk months, 500 m cells
    schools = demo_stages("Leeds")[1].loaded["schools"].frame.geometry
    factors = risk_factors({"schools": (schools.x, schools.y)}, g.grid, [500, 1000, 1500])
    rtm = risk_terrain(g.counts, g.grid.in_area, factors)
    sel = rtm.selected
    assert len(sel) == 1 and (sel["rrv"] > 1).all()  # one layer: one factor at most
    s = rtm.surface[g.grid.in_area]
    assert np.isfinite(s).all() and s.min() == pytest.approx(1.0) and (s >= 1 - 1e-12).all()
    # A single binary factor's Poisson maximum-likelihood RRV is the ratio of the mean counts
    # of the cells with and without it: a closed-form reference for the fitted value.
    x = factors[sel["factor"].iloc[0]].raster[g.grid.in_area]
    y = g.counts[g.grid.in_area]
    assert sel["rrv"].iloc[0] == pytest.approx(y[x].mean() / y[~x].mean(), rel=0.01)
    assert np.unique(s).tolist() == pytest.approx([1.0, sel["rrv"].iloc[0]])


@pytest.mark.parametrize("alpha", [1e-6, 1e-4, 1e-2])
def test_the_newton_fit_is_scikit_learns_poisson_regressor(alpha):
    """The hand-written Newton fit on distinct factor patterns gives scikit-learn's
    PoissonRegressor coefficients on every cell (including a pattern with no crime at all)."""
    from sklearn.linear_model import PoissonRegressor

    from localprofile.engine.rtm import _fit

    rng = np.random.default_rng(7)
    X = (rng.random((3000, 4)) < [0.1, 0.3, 0.5, 0.05]).astype(float)
    y = rng.poisson(np.exp(-0.5 + X @ np.array([1.1, 0.5, 0.0, -0.7])))
    y[(X[:, 0] == 1) & (X[:, 3] == 1)] = 0  # a pattern without crime: separation, held by the penalty
    ours = _fit(X, y, alpha)
    # scikit-learn run to convergence (its default tol of 1e-4 stops about 1e-4 short)
    ref = PoissonRegressor(alpha=alpha, solver="newton-cholesky", tol=1e-12, max_iter=1000).fit(X, y)
    assert np.allclose(ours.coef_, ref.coef_, atol=1e-6) and abs(ours.intercept_ - ref.intercept_) < 1e-6
    assert np.allclose(ours.predict(X), ref.predict(X), rtol=1e-5)


@pytest.mark.parametrize("n", [5, 17, 7201, 40001])
@pytest.mark.parametrize("folds", [2, 5])
@pytest.mark.parametrize("seed", [0, 42])
def test_kfold_splits_are_scikit_learns_shuffled_kfold(n, folds, seed):
    """The hand-written folds are KFold(folds, shuffle=True, random_state=seed)'s, index for
    index and in order, so the cross-validated factor selection is what scikit-learn's would be."""
    from sklearn.model_selection import KFold

    from localprofile.engine.rtm import kfold_splits

    ours = kfold_splits(n, folds, seed)
    ref = list(KFold(folds, shuffle=True, random_state=seed).split(np.zeros((n, 1))))
    assert len(ours) == len(ref) == folds
    for (tr, te), (rtr, rte) in zip(ours, ref):
        assert np.array_equal(tr, rtr) and np.array_equal(te, rte)
    assert np.array_equal(np.sort(np.concatenate([te for _, te in ours])), np.arange(n))
