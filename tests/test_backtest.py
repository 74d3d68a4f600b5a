"""Backtesting hotspot methods: metrics against hand-worked numbers, surfaces against brute-force
references, and the real Leeds data (train on July 2016, test on July 2017)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely

from localprofile.engine.backtest import (
    METHODS,
    backtest,
    count_surface,
    gistar_surface,
    hit_metrics,
    kde_surface,
    month_weights,
    prospective_surface,
    rank_cells,
)
from localprofile.engine.grid import make_grid

# A 4 x 5 grid. The two cells marked "out" are outside the study area: their big numbers must be
# ignored (n = 18 in-area cells).
IN_AREA = np.ones((4, 5), bool)
IN_AREA[0, 4] = IN_AREA[3, 4] = False
SCORE = np.array([
    [9, 1, 0, 0, 99],   # 99: out
    [5, 7, 0, 2, 0],
    [0, 7, 3, 0, 0],    # the two 7s tie: row-major order takes (1,1) before (2,1)
    [1, 0, 0, 4, 50],   # 50: out
], float)
TEST = np.array([
    [6, 0, 1, 0, 30],   # 30: out
    [2, 3, 0, 0, 0],
    [0, 8, 0, 4, 0],
    [0, 0, 0, 1, 10],   # 10: out
], float)
TRAIN = np.array([
    [10, 0, 0, 0, 40],  # 40: out
    [4, 6, 0, 2, 0],
    [0, 5, 3, 0, 0],
    [1, 0, 0, 3, 20],   # 20: out
], float)


def test_metrics_on_a_hand_worked_grid():
    t = hit_metrics(SCORE, TEST, IN_AREA, TRAIN, coverages=(0.01, 0.1, 0.25))
    # cells: ceil(0.01*18) = ceil(0.18) = 1; ceil(0.1*18) = ceil(1.8) = 2; ceil(0.25*18) = ceil(4.5) = 5
    assert t["cells"].tolist() == [1, 2, 5]
    # ranking of in-area cells: 9 (0,0), 7 (1,1), 7 (2,1), 5 (1,0), 4 (3,3), 3 (2,2) ...
    # N (test crimes in area) = (6+0+1+0) + (2+3+0+0+0) + (0+8+0+4+0) + (0+0+0+1) = 7+5+12+1 = 25
    assert t["test_crimes"].tolist() == [25, 25, 25]
    # hits: k=1: 6; k=2: 6+3 = 9; k=5: 6+3+8+2+1 = 20
    assert t["hits"].tolist() == [6, 9, 20]
    # hit rate = hits/25: 0.24, 0.36, 0.8
    assert t["hit_rate"].tolist() == pytest.approx([0.24, 0.36, 0.8])
    # PAI = hit rate / (k/18): 0.24*18/1 = 4.32; 0.36*18/2 = 3.24; 0.8*18/5 = 2.88
    assert t["pai"].tolist() == pytest.approx([4.32, 3.24, 2.88])
    # best possible k cells: 8; 8+6 = 14; 8+6+4+3+2 = 23
    assert t["best_hits"].tolist() == [8, 14, 23]
    # PEI = hits / best = PAI / best PAI: 6/8 = 0.75; 9/14 = 0.642857; 20/23 = 0.869565
    assert t["pei"].tolist() == pytest.approx([0.75, 9 / 14, 20 / 23])
    # train crimes in area = 10 + (4+6+0+2+0) + (0+5+3+0+0) + (1+0+0+3) = 10+12+8+4 = 34
    # train hits: 10; 10+6 = 16; 10+6+5+4+3 = 28
    assert t["train_hits"].tolist() == [10, 16, 28]
    # RRI = (hits / train hits) / (25 / 34):
    #   (6/10)/(25/34) = 204/250 = 0.816; (9/16)/(25/34) = 306/400 = 0.765; (20/28)/(25/34) = 680/700
    assert t["rri"].tolist() == pytest.approx([0.816, 0.765, 680 / 700])
    # RRI is the PAI in the test period over the PAI in the training period, for the same cells
    pai_train = (t["train_hits"] / 34) / (t["cells"] / 18)
    assert (t["pai"] / pai_train).tolist() == pytest.approx(t["rri"].tolist())


def test_ties_nan_and_empty_denominators():
    # NaN scores rank last; equal scores keep row-major order
    assert rank_cells(np.array([[np.nan, 1.0, 1.0], [2.0, 0.0, np.nan]]), np.ones((2, 3), bool)).tolist() == [
        3, 1, 2, 4, 0, 5]
    # no test crimes: hit rate, PAI and PEI are undefined; no training crime in the selection: RRI
    t = hit_metrics(SCORE, np.zeros((4, 5)), IN_AREA, TRAIN, coverages=(0.1,))
    assert t[["hit_rate", "pai", "pei", "rri"]].isna().all(axis=None)
    t = hit_metrics(SCORE, TEST, IN_AREA, np.zeros((4, 5)), coverages=(0.1,))
    assert np.isnan(t["rri"].iloc[0]) and t["pai"].iloc[0] == pytest.approx(3.24)
    with pytest.raises(ValueError):
        hit_metrics(SCORE, TEST, IN_AREA, coverages=(0,))


def test_month_weights_by_hand():
    # July 2016 has 31 days; days 1-7 before the end of July are week 0, ... 29-31 week 4:
    # (7 * (1 + 1/2 + 1/3 + 1/4) + 3 * 1/5) / 31
    july = (7 * (1 + 1 / 2 + 1 / 3 + 1 / 4) + 3 / 5) / 31
    # June (30 days) lies 32..61 days before the end of July: 32-35 -> week 4 (4 days), 36-42 ->
    # week 5, 43-49 -> 6, 50-56 -> 7 (7 days each), 57-61 -> week 8 (5 days)
    june = (4 / 5 + 7 / 6 + 7 / 7 + 7 / 8 + 5 / 9) / 30
    w = month_weights(["2016-07", "2016-06", "2016-05", "2016-07"], "2016-07")
    assert w.tolist() == pytest.approx([july, june, 0.0, july])
    with pytest.raises(ValueError):
        month_weights(["2016-08"], "2016-07")


def test_prospective_surface_against_a_brute_force_sum():
    grid = make_grid(shapely.box(0, 0, 2000, 1500), cell_size=250, buffer=250)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 2000, 40), rng.uniform(0, 1500, 40)
    months = rng.choice(["2016-05", "2016-06", "2016-07"], 40)
    got = prospective_surface(grid, x, y, months)
    # reference: 50 m sub-cells (250/5); each crime sits in a sub-cell and adds
    # 1/(1 + d/50) * time weight to every sub-cell centre within 400 m, summed per 250 m cell
    sub = 50.0
    ref = np.zeros(grid.shape)
    w = month_weights(months, "2016-07")
    for xi, yi, wi in zip(x, y, w):
        cx = grid.x0 + (math.floor((xi - grid.x0) / sub) + 0.5) * sub
        cy = grid.y1 - (math.floor((grid.y1 - yi) / sub) + 0.5) * sub
        for r in range(grid.ny * 5):
            for c in range(grid.nx * 5):
                px, py = grid.x0 + (c + 0.5) * sub, grid.y1 - (r + 0.5) * sub
                d = math.hypot(px - cx, py - cy)
                if d < 400:
                    ref[r // 5, c // 5] += wi / (1 + d / 50)
    assert got.shape == grid.shape
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-9)


def test_each_method_gives_a_surface_of_the_grid_shape():
    grid = make_grid(shapely.Point(1000, 1000).buffer(900), cell_size=100, buffer=300)
    rng = np.random.default_rng(7)
    x, y = rng.normal(1000, 300, 500), rng.normal(1000, 300, 500)
    months = ["2017-06"] * 250 + ["2017-07"] * 250
    surfaces = [
        count_surface(grid, x, y),
        kde_surface(grid, x, y, 300),
        gistar_surface(grid, x, y),
        prospective_surface(grid, x, y, months),
    ]
    for s in surfaces:
        assert s.shape == grid.shape
        assert np.isfinite(s[grid.in_area]).all()
    t = backtest(np.column_stack([x, y]), months, np.column_stack([x, y])[::-1], grid)
    assert t["method"].tolist() == [m for m in METHODS for _ in range(3)]
    assert t["coverage"].tolist() == [0.01, 0.05, 0.1] * 4


@pytest.fixture(scope="module")
def leeds():
    """The Leeds demo grid, and the shipped crimes as (month, x, y)."""
    from localprofile.build import build_profile
    from localprofile.catalog import load_catalog
    from localprofile.demo import demo_catalog_path
    from localprofile.loading import load_layers

    profile = build_profile(demo_catalog_path(), "Leeds", audience="public")
    catalog = load_catalog(demo_catalog_path())
    crimes = load_layers(catalog, skip={n for n in catalog.layers if n != "crimes"})["crimes"].frame
    crimes = crimes[crimes.geometry.notna()]
    xy = shapely.get_coordinates(crimes.geometry.to_numpy())
    return profile.grid, crimes["month"].to_numpy(), xy


@pytest.fixture(scope="module")
def leeds_backtest(leeds):
    grid, month, xy = leeds
    train, test = month == "2016-07", month == "2017-07"
    assert train.sum() > 20_000 and test.sum() > 20_000
    return backtest(xy[train], month[train], xy[test], grid)


def test_leeds_hotspots_predict_better_than_chance(leeds_backtest):
    t = leeds_backtest
    assert sorted(t["method"].unique()) == sorted(METHODS)
    at5 = t[t["coverage"] == 0.05].set_index("method")
    assert (at5["pai"] > 1).all(), at5["pai"]
    assert (at5["hit_rate"] > 0.05).all()


def test_leeds_hit_rates_grow_with_coverage_and_pei_is_at_most_one(leeds_backtest):
    t = leeds_backtest
    for method, rows in t.groupby("method"):
        assert rows["hit_rate"].is_monotonic_increasing and rows["hit_rate"].is_unique, method
        assert (rows["cells"].diff().dropna() > 0).all()
    assert ((t["pei"] > 0) & (t["pei"] <= 1)).all()
    assert (t["hits"] <= t["best_hits"]).all()
    assert (t["rri"] > 0).all()


def test_leeds_counts_agree_with_an_independent_count(leeds, leeds_backtest):
    grid, month, xy = leeds
    test = xy[month == "2017-07"]
    # test crimes in the study area's cells, counted with numpy's histogram
    xe = grid.x0 + np.arange(grid.nx + 1) * grid.cell_size
    ye = grid.y1 - np.arange(grid.ny + 1) * grid.cell_size
    h, _, _ = np.histogram2d(test[:, 1], test[:, 0], bins=[ye[::-1], xe])
    assert (leeds_backtest["test_crimes"] == h[::-1][grid.in_area].sum()).all()
    # the count method's hits at 1%: the test crimes in the top cells of the training counts
    train_counts = grid.bin(*xy[month == "2016-07"].T)
    n = math.ceil(0.01 * grid.in_area.sum())
    top = np.argsort(-np.where(grid.in_area, train_counts, -np.inf).ravel(), kind="stable")[:n]
    row = leeds_backtest[(leeds_backtest["method"] == "count") & (leeds_backtest["coverage"] == 0.01)]
    assert row["hits"].iloc[0] == h[::-1].ravel()[top].sum()
    choices = leeds_backtest.attrs["choices"]
    assert {c.what for c in choices} >= {"KDE bandwidth (m)", "prospective weights", "hotspot selection"}
    assert all(c.why for c in choices)
