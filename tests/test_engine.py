"""Engine functions against independent references and hand-worked cases."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy import stats
from scipy.spatial import cKDTree

from localprofile.engine.gistar import classify, gi_star
from localprofile.engine.permutation import adjust_p
from localprofile.engine.grid import auto_cell_size, make_grid
from localprofile.engine.kde import auto_bandwidth, quartic_kde, quartic_kernel, sfhotspot_bandwidth


def test_grid_is_aligned_and_buffered():
    g = make_grid(shapely.box(1234, 5678, 9876, 8765), cell_size=250, buffer=500)
    assert g.x0 % 250 == 0 and g.y1 % 250 == 0
    assert g.x0 <= 1234 - 500 and g.y1 >= 8765 + 500
    assert g.in_area.sum() < g.active.sum() <= g.nx * g.ny
    # every in-area cell is active; cells far in the bounding-box corner of an L shape are not
    l_shape = shapely.Polygon([(0, 0), (10000, 0), (10000, 1000), (1000, 1000), (1000, 10000), (0, 10000)])
    g2 = make_grid(l_shape, cell_size=500, buffer=500)
    assert (g2.active | ~g2.in_area).all()
    xc, yc = g2.centres()
    assert not g2.active[(xc > 3000) & (yc > 3000)].any()


def test_binning_keeps_every_point_on_the_grid():
    rng = np.random.default_rng(0)
    g = make_grid(shapely.box(0, 0, 5000, 3000), cell_size=100, buffer=300)
    x, y = rng.uniform(0, 5000, 2000), rng.uniform(0, 3000, 2000)
    assert g.bin(x, y).sum() == 2000
    assert g.linear_bin(x, y).sum() == pytest.approx(2000)
    # simple binning agrees with numpy's histogram
    xe = g.x0 + np.arange(g.nx + 1) * g.cell_size
    ye = g.y1 - np.arange(g.ny + 1) * g.cell_size
    h, _, _ = np.histogram2d(y, x, bins=[ye[::-1], xe])
    np.testing.assert_array_equal(g.bin(x, y), h[::-1])


def test_kde_against_the_exact_quartic_sum_on_a_fine_grid():
    rng = np.random.default_rng(42)
    pts = np.vstack([rng.normal([2000, 2000], 300, (800, 2)), rng.uniform(0, 5000, (400, 2))])
    g = make_grid(shapely.box(0, 0, 5000, 5000), cell_size=25, buffer=500)
    h = 400.0
    dens = quartic_kde(g.linear_bin(pts[:, 0], pts[:, 1]), g.cell_size, h)
    xc, yc = g.centres()
    centres = np.column_stack([xc.ravel(), yc.ravel()])
    exact = np.zeros(len(centres))
    for i, nb in enumerate(cKDTree(pts).query_ball_point(centres, h)):
        d2 = ((pts[nb] - centres[i]) ** 2).sum(axis=1)
        exact[i] = ((1 - d2 / h**2) ** 2).sum()
    exact = (exact * 3 / (np.pi * h**2) * 1e6).reshape(g.shape)  # crimes per km²
    assert np.abs(dens - exact).max() < 0.01 * exact.max()
    assert dens.sum() * g.cell_area_km2 == pytest.approx(len(pts), rel=1e-9)


@pytest.mark.parametrize("bandwidth,kernel", [(160.0, "quartic"), (60.0, "gaussian"), (900.0, "quartic")])
def test_both_convolutions_equal_scipys(monkeypatch, bandwidth, kernel):
    from scipy import ndimage

    from localprofile.engine import kde

    rng = np.random.default_rng(8)
    counts = np.zeros((90, 130))
    cells = rng.choice(counts.size, 600, replace=False)
    counts.flat[cells] = rng.gamma(1.0, 2.0, 600)  # a sparse raster, as binned crimes make
    k = kde.kernel_weights(25.0, bandwidth, kernel)
    ref = ndimage.convolve(counts, k, mode="constant")  # the kernels are symmetric
    for cost in (0.0, 1e12):  # always the FFT, always the direct sum
        monkeypatch.setattr(kde, "DIRECT_COST", cost)
        got, peak = kde.convolve_same(counts, k)
        np.testing.assert_allclose(got, ref, atol=1e-12 * ref.max())
        assert peak == counts.max()
        dens = kde.quartic_kde(counts, 25.0, bandwidth, kernel)
        np.testing.assert_allclose(dens, np.where(ref < 1e-9 * counts.max(), 0, ref) / 25.0**2 * 1e6,
                                   rtol=1e-9, atol=1e-9 * dens.max())


def test_quartic_kernel_shape():
    k = quartic_kernel(100, 350)
    assert k.shape == (9, 9) and k.sum() == pytest.approx(1)
    assert k[4, 4] == k.max() and k[0, 0] == 0  # corners lie beyond the bandwidth
    np.testing.assert_allclose(k, k.T)


def _esda_gistar(counts, active):
    from esda.getisord import G_Local
    from libpysal.weights import W

    idx = -np.ones(counts.shape, int)
    rows, cols = np.nonzero(active)
    idx[rows, cols] = np.arange(len(rows))
    neighbours = {}
    for k, (r, c) in enumerate(zip(rows, cols)):
        nb = []
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                rr, cc = r + dr, c + dc
                if (dr or dc) and 0 <= rr < counts.shape[0] and 0 <= cc < counts.shape[1] and idx[rr, cc] >= 0:
                    nb.append(int(idx[rr, cc]))
        neighbours[k] = nb
    w = W(neighbours, silence_warnings=True)
    g = G_Local(counts[rows, cols].astype(float), w, transform="B", star=True, permutations=0)
    out = np.full(counts.shape, np.nan)
    out[rows, cols] = g.Zs
    return out


def test_gi_star_equals_esda_on_an_irregular_area():
    rng = np.random.default_rng(7)
    counts = rng.poisson(0.6, (25, 30)).astype(float)
    counts[5:9, 10:14] += 6
    yy, xx = np.mgrid[:25, :30]
    active = ((yy - 12) ** 2 + (xx - 15) ** 2 < 150) & ~((yy > 15) & (xx < 8))
    z, p = gi_star(counts, active)
    ref = _esda_gistar(counts, active)
    np.testing.assert_allclose(z[active], ref[active], atol=1e-9)
    assert np.isnan(z[~active]).all()
    np.testing.assert_allclose(p[active], 2 * stats.norm.sf(np.abs(ref[active])))


def test_queen_sum_is_the_3x3_convolution():
    from scipy import ndimage

    from localprofile.engine.gistar import _QUEEN, queen_sum

    a = np.random.default_rng(3).gamma(0.7, 2.0, (13, 21))  # harm-like weights, not integers
    np.testing.assert_allclose(queen_sum(a), ndimage.convolve(a, _QUEEN, mode="constant"), rtol=1e-13)
    m = np.random.default_rng(4).random((13, 21)) < 0.6
    np.testing.assert_array_equal(queen_sum(m.view(np.uint8)),
                                  ndimage.convolve(m.astype(int), np.ones((3, 3), int), mode="constant"))


def test_gi_star_equals_esda_with_few_cells_and_harm_weights():
    # 7 active cells (the general path, not the 1-9 neighbour table) and non-integer values
    counts = np.array([[0.5, 2.25, 0.0, 0.0], [1.75, 0.0, 3.5, 0.0], [0.0, 0.0, 0.25, 6.0]])
    active = np.array([[True, True, False, False], [True, False, True, False], [False, False, True, True]])
    z, p = gi_star(counts, active)
    ref = _esda_gistar(counts, active)
    np.testing.assert_allclose(z[active], ref[active], rtol=1e-12)
    np.testing.assert_allclose(p[active], 2 * stats.norm.sf(np.abs(ref[active])), rtol=1e-12)
    rng = np.random.default_rng(11)
    big = rng.gamma(0.5, 3.0, (20, 24))
    act = rng.random((20, 24)) < 0.8
    np.testing.assert_allclose(gi_star(big, act)[0][act], _esda_gistar(big, act)[act], rtol=1e-12)


def test_gi_star_without_variation_finds_nothing():
    z, p = gi_star(np.zeros((5, 5)), np.ones((5, 5), bool))
    assert (z == 0).all() and (p == 1).all()


def test_bh_and_classes():
    p = np.array([[0.001, 0.02, 0.03], [0.5, 0.04, np.nan]])
    mask = np.array([[True, True, True], [True, False, True]])
    q = adjust_p(p, mask, "bh")
    # by hand: 4 tests; sorted p 0.001, 0.02, 0.03, 0.5 -> 0.004, 0.04, 0.04, 0.5
    np.testing.assert_allclose(q[mask & np.isfinite(p)], [0.004, 0.04, 0.04, 0.5])
    assert np.isnan(q[1, 1]) and np.isnan(q[1, 2])
    z = np.array([[3.0, -2.5, 2.2], [0.1, 2.0, np.nan]])
    assert classify(z, q, 0.05).tolist() == [["hot", "cold", "hot"], ["none", "none", "none"]]
    assert classify(z, q, 0.01).tolist() == [["hot", "none", "none"], ["none", "none", "none"]]


def test_automatic_choices_follow_their_rules():
    assert auto_cell_size((0, 0, 43_000, 27_600)).value == 500  # Leeds-sized: 552 -> 500
    small = auto_cell_size((0, 0, 3000, 2000))
    assert small.value == pytest.approx(40)  # under 100 m: left unrounded
    x = np.array([0.0, 0, 0, 0, 0])
    fallback = auto_bandwidth(x, x, cell_size=250)
    assert fallback.value == 500 and "too few" in fallback.why
    # the map-point rule: twice the median nearest-neighbour spacing, against a brute-force count
    rng = np.random.default_rng(5)
    pts = np.round(rng.uniform(0, 3000, (400, 2)), -1)
    d = np.hypot(*(pts[:, None] - pts[None]).transpose(2, 0, 1))
    u = np.unique(pts, axis=0)
    du = np.hypot(*(u[:, None] - u[None]).transpose(2, 0, 1))
    np.fill_diagonal(du, np.inf)
    assert d.shape[0] == 400
    assert auto_bandwidth(pts[:, 0], pts[:, 1], 250).value == round(2 * np.median(du.min(axis=1)) / 10) * 10
    # the rule of thumb itself, against its definition with numpy
    rng = np.random.default_rng(3)
    px, py = rng.normal(0, 800, 1000), rng.gamma(2, 500, 1000)

    def nrd(v):
        iqr = np.subtract(*np.percentile(v, [75, 25]))
        return 4 * 1.06 * min(v.std(ddof=1), iqr / 1.34) * len(v) ** -0.2

    assert sfhotspot_bandwidth(px, py, 100).value == pytest.approx((nrd(px) + nrd(py)) / 2, abs=0.05)


def test_crimes_are_assigned_by_code_then_by_point():
    from localprofile.study_area import StudyArea, assign_to_lsoas

    a, b = shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)
    bounds = gpd.GeoDataFrame({"lsoa_code": ["A", "B"]}, geometry=[a, b], crs=27700)
    area = StudyArea("D1", "District", bounds.iloc[[0]], a)
    P = shapely.Point
    rows = [
        ("A", P(150, 50)),  # 0 code wins over the point: in
        (None, P(50, 50)),  # 1 no code, point in A: in
        (None, P(150, 50)),  # 2 no code, point in B: outside
        ("B", P(50, 50)),  # 3 code wins: outside
        (None, P(500, 500)),  # 4 no code, point outside every LSOA: not placed
        (None, P(100, 50)),  # 5 on the edge A|B: the first polygon (A): in
        ("Z99", P(50, 50)),  # 6 code unknown to the lookup, point in A: in
        ("Z99", None),  # 7 unknown code and no point: not placed
        ("A", None),  # 8 code, no point: in
    ]
    crimes = gpd.GeoDataFrame(
        {"lsoa_code": pd.array([r[0] for r in rows], dtype="string")},
        geometry=[r[1] for r in rows],
        crs=27700,
    )
    res = assign_to_lsoas(crimes, area, bounds, known_codes={"A", "B"})
    assert res.in_district.tolist() == [True, True, False, False, False, True, True, False, True]
    assert res.lsoa_code.tolist()[:4] == ["A", "A", "B", "B"]
    assert res.account == {
        "in the district by police.uk LSOA code": 2,
        "in the district by point-in-polygon (no LSOA code)": 2,
        "in the district by point-in-polygon (LSOA code not in the lookup)": 1,
        "outside the district": 2,
        "not placed: no LSOA code and point outside every LSOA": 1,
        "not placed: LSOA code not in the lookup, point outside every LSOA or none": 1,
    }
    assert sum(res.account.values()) == len(rows)


def test_grid_leaves_out_cells_beyond_the_data():
    area = shapely.box(0, 0, 1000, 1000)
    coverage = shapely.box(-2000, 0, 1000, 1000)  # data to the west only
    g = make_grid(area, cell_size=100, buffer=500, coverage=coverage)
    xc, yc = g.centres()
    assert g.active[(xc < 0) & (yc > 0) & (yc < 1000)].all()
    assert not g.active[xc > 1000].any() and g.near[xc > 1000].any()
    assert (g.active | ~g.in_area).all()
