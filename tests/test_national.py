"""The national build at 1/100 scale: 60,000 SYNTHETIC crimes over the real 34,753 LSOAs of
England and Wales, checked against independent references (the Census total, ONS's own areas,
geopandas.sjoin, numpy's histogram, esda, libpysal and a direct quartic sum with scipy).
Speed is measured by benchmarks/national.py, not here."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely
from scipy import stats
from scipy.spatial import cKDTree

from localprofile.errors import InputError
from localprofile.national import assign_lsoa, national_crimes, national_run, read_national, triangulate
from localprofile.engine.gistar import gi_star

ROOT = Path(__file__).resolve().parent.parent
BOUNDARIES = ROOT / "data/boundaries/lsoa11_bsc_england_wales.parquet"
POPULATION = ROOT / "data/census/census2011_usual_residents_lsoa11_england_wales.csv.gz"
N = 60_000
SEED = 20261203
BANDWIDTH = 1000.0


@pytest.fixture(scope="module")
def lsoas():
    return read_national(BOUNDARIES, POPULATION)


@pytest.fixture(scope="module")
def triangles(lsoas):
    return triangulate(lsoas.geometry)


@pytest.fixture(scope="module")
def crimes(lsoas, triangles):
    return national_crimes(lsoas.geometry, lsoas["residents"], N, SEED, triangles=triangles)


@pytest.fixture(scope="module")
def run(lsoas, crimes):
    return national_run(crimes.x, crimes.y, lsoas, cell_size=250, bandwidth=BANDWIDTH)


@pytest.fixture(scope="module")
def points(crimes):
    return gpd.GeoDataFrame(geometry=gpd.points_from_xy(crimes.x, crimes.y), crs=27700)


def _window(grid, x, y, half: int):
    """Rows and columns of a (2 half) x (2 half) block of cells centred on easting x, northing y."""
    r = int((grid.y1 - y) // grid.cell_size)
    c = int((x - grid.x0) // grid.cell_size)
    return slice(r - half, r + half), slice(c - half, c + half)


def test_the_shipped_data_are_the_census_and_the_ons_boundaries(lsoas):
    assert len(lsoas) == 34_753 and lsoas["code"].is_unique
    assert lsoas["code"].str.startswith("E01").sum() == 32_844  # as the IMD 2019 ranks count them
    assert lsoas["code"].str.startswith("W01").sum() == 1_909
    assert int(lsoas["residents"].sum()) == 56_075_912  # ONS: usual residents, E&W, Census 2011
    assert lsoas.crs.to_epsg() == 27700 and shapely.is_valid(lsoas.geometry.values).all()
    # the three "nested shells" are read as holes: their areas then match the ONS file's own
    # Shape__Area (published in the source GeoJSON); read as one more shell they would not
    ons_area = {"E01018992": 23_224_731, "E01019228": 95_542_782, "E01024572": 11_108_245}
    got = lsoas.set_index("code").loc[list(ons_area)].geometry.area
    np.testing.assert_allclose(got.to_numpy(), list(ons_area.values()), rtol=1e-4)
    # England 130,310 km² + Wales 20,735 km² (ONS Standard Area Measurements, to mean high water)
    assert lsoas.geometry.area.sum() / 1e6 == pytest.approx(151_045, rel=0.01)


def test_a_population_file_without_its_column_is_named(tmp_path):
    bad = tmp_path / "pop.csv"
    bad.write_text("LSOA Code,Persons\nE01000001,1465\n")
    with pytest.raises(InputError, match=r"pop\.csv: column 'Usual residents': missing column"):
        read_national(BOUNDARIES, bad)


def test_the_generator_is_reproducible_for_a_seed_and_not_across_seeds(lsoas, crimes, triangles):
    again = national_crimes(lsoas.geometry, lsoas["residents"], N, SEED)  # triangulated afresh
    assert again.x.tobytes() == crimes.x.tobytes() and again.y.tobytes() == crimes.y.tobytes()
    assert np.array_equal(again.lsoa, crimes.lsoa)
    other = national_crimes(lsoas.geometry, lsoas["residents"], N, SEED + 1, triangles=triangles)
    assert (other.x == crimes.x).mean() < 0.001 and not np.array_equal(other.lsoa, crimes.lsoa)
    assert "SYNTHETIC" in crimes.note


def test_crimes_per_lsoa_follow_the_population(lsoas, crimes):
    per_lsoa = np.bincount(crimes.lsoa, minlength=len(lsoas))
    assert per_lsoa.sum() == N
    # blocks of 100 LSOAs by code (neighbours: codes run through each local authority), about
    # 170 crimes expected in each, so the chi-square test is valid
    block = np.arange(len(lsoas)) // 100
    obs = np.bincount(block, weights=per_lsoa)
    pop = np.bincount(block, weights=lsoas["residents"].to_numpy(float))
    assert stats.chisquare(obs, pop / pop.sum() * N).pvalue > 1e-3
    # the test has power: crimes spread by area instead are rejected out of hand
    area = np.bincount(block, weights=lsoas.geometry.area.to_numpy())
    assert stats.chisquare(obs, area / area.sum() * N).pvalue < 1e-12
    wales = lsoas["code"].str.startswith("W").to_numpy()
    share = lsoas["residents"][wales].sum() / lsoas["residents"].sum()
    assert stats.binomtest(int(per_lsoa[wales].sum()), N, share).pvalue > 1e-3


def test_every_crime_lies_in_the_lsoa_it_was_drawn_in(lsoas, crimes, points):
    hits = gpd.sjoin(points, lsoas[["geometry"]], predicate="within", how="left")
    assert hits["index_right"].notna().all()
    # each crime's own LSOA is among the polygons holding it
    found = np.zeros(N, bool)
    idx, right = hits.index.to_numpy(), hits["index_right"].to_numpy().astype(np.int64)
    found[idx[right == crimes.lsoa[idx]]] = True
    assert found.all()


def test_points_are_uniform_inside_a_polygon(lsoas):
    # one irregular real LSOA with holes (E01024572), split into a 6 x 6 grid of boxes: the
    # share of its crimes in each box follows the share of its area there (shapely's own areas,
    # not the triangulation's)
    one = lsoas.set_index("code").loc[["E01024572"]].geometry.to_numpy()
    c = national_crimes(one, [1.0], 20_000, seed=5)
    minx, miny, maxx, maxy = one[0].bounds
    ex, ey = np.linspace(minx, maxx, 7), np.linspace(miny, maxy, 7)
    boxes = shapely.box(ex[:-1][None, :], ey[:-1][:, None], ex[1:][None, :], ey[1:][:, None]).ravel()
    area = shapely.area(shapely.intersection(one[0], boxes))
    got, _, _ = np.histogram2d(c.y, c.x, bins=[ey, ex])
    keep = area > 0.002 * area.sum()  # boxes with enough area for ~40 expected crimes or more
    exp = area[keep] / area.sum() * len(c.x)
    obs = got.ravel()[keep]
    assert got.ravel()[area == 0].sum() == 0
    assert stats.chisquare(obs, exp * obs.sum() / exp.sum()).pvalue > 1e-3


def test_grid_counts_sum_to_n_and_match_numpy(run, crimes):
    g = run.grid
    assert run.counts.sum() == N
    xe = g.x0 + np.arange(g.nx + 1) * g.cell_size
    ye = g.y1 - np.arange(g.ny + 1) * g.cell_size
    h, _, _ = np.histogram2d(crimes.y, crimes.x, bins=[ye[::-1], xe])
    np.testing.assert_array_equal(run.counts, h[::-1])
    assert g.active[run.counts > 0].all()  # every crime's cell enters Gi*


def test_cells_in_the_area_are_those_whose_centre_an_lsoa_holds(run, lsoas):
    g = run.grid
    rows, cols = _window(g, 334_000, 390_000, 60)  # Liverpool and the Mersey: land, river and sea
    xc, yc = (a[rows, cols] for a in g.centres())
    pts = shapely.points(xc.ravel(), yc.ravel())
    held = np.zeros(pts.size, bool)
    held[shapely.STRtree(lsoas.geometry.values).query(pts, predicate="within")[0]] = True
    assert 0.2 < held.mean() < 0.95
    np.testing.assert_array_equal(g.in_area[rows, cols].ravel(), held)


def test_lsoa_counts_equal_an_sjoin_recount(run, lsoas, crimes, points):
    hits = gpd.sjoin(points, lsoas[["geometry"]], predicate="intersects", how="inner")
    first = hits.reset_index().groupby("index")["index_right"].min()  # a point on a shared edge: first row
    assert len(first) == N
    np.testing.assert_array_equal(run.lsoa_counts, np.bincount(first.to_numpy(), minlength=len(lsoas)))
    np.testing.assert_array_equal(run.lsoa, first.sort_index().to_numpy())
    np.testing.assert_array_equal(run.lsoa, assign_lsoa(crimes.x, crimes.y, lsoas, method="strtree"))


def _esda_window(counts, active):
    """esda's G_Local (star, binary) on the active cells of a window, queen neighbours."""
    from esda.getisord import G_Local
    from libpysal.weights import W
    from scipy import sparse

    idx = np.full(counts.shape, -1)
    idx[active] = np.arange(active.sum())
    rows, cols, nb = [], [], []
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            if dr or dc:
                a = idx[max(dr, 0):counts.shape[0] + min(dr, 0), max(dc, 0):counts.shape[1] + min(dc, 0)]
                b = idx[max(-dr, 0):counts.shape[0] + min(-dr, 0), max(-dc, 0):counts.shape[1] + min(-dc, 0)]
                ok = (a >= 0) & (b >= 0)
                rows.append(a[ok])
                nb.append(b[ok])
    i, j = np.concatenate(rows), np.concatenate(nb)
    m = int(active.sum())
    w = W.from_sparse(sparse.csr_matrix((np.ones(len(i)), (i, j)), shape=(m, m)))
    g = G_Local(counts[active].astype(float), w, transform="B", star=True, permutations=0)
    out = np.full(counts.shape, np.nan)
    out[active] = g.Zs
    return out, w


@pytest.mark.filterwarnings("ignore:The weights matrix is not fully connected")
def test_gi_star_on_a_window_of_the_national_grid_equals_esda(run):
    g = run.grid
    rows, cols = _window(g, 334_000, 390_000, 40)  # Liverpool: coast and river (inactive cells)
    counts, active = run.counts[rows, cols], g.active[rows, cols]
    assert 0.3 < active.mean() < 0.95 and counts.sum() > 300
    z, _ = gi_star(counts, active)
    ref, w = _esda_window(counts, active)
    np.testing.assert_allclose(z[active], ref[active], atol=1e-9)
    # the national z there: libpysal's spatial lag (neighbour sums, the cell itself added) and
    # the mean and spread of every active cell of England and Wales
    from libpysal.weights import lag_spatial

    y = counts[active].astype(float)
    lag = lag_spatial(w, y) + y
    wi = np.asarray(w.sparse.sum(axis=1)).ravel() + 1
    allv = run.counts[g.active]
    n, mean, s = allv.size, allv.mean(), allv.std()
    inner = np.zeros_like(active)
    inner[1:-1, 1:-1] = True  # cells whose eight neighbours are all in the window
    expect = (lag - wi * mean) / (s * np.sqrt(wi * (n - wi) / (n - 1)))
    sel = inner[active]
    np.testing.assert_allclose(run.gi_z[rows, cols][active][sel], expect[sel], rtol=1e-9, atol=1e-9)
    assert np.isnan(run.gi_z[~g.active]).all()


def test_kde_keeps_every_crime_and_matches_a_direct_quartic_sum(run, crimes):
    g = run.grid
    assert run.kde.sum() * g.cell_area_km2 == pytest.approx(N, rel=1e-9)
    rows, cols = _window(g, 530_000, 180_000, 20)  # central London, 10 km square
    xc, yc = (a[rows, cols].ravel() for a in g.centres())
    centres = np.column_stack([xc, yc])
    xy = np.column_stack([crimes.x, crimes.y])

    def exact(h):
        d, _ = cKDTree(xy).query(centres, k=500, distance_upper_bound=h)
        u = np.where(np.isfinite(d), 1 - (d / h) ** 2, 0.0)
        return (u**2).sum(axis=1) * 3 / (np.pi * h**2) * 1e6  # crimes per km²

    ref = exact(BANDWIDTH)
    got = run.kde[rows, cols].ravel()
    assert ref.max() > 5  # a dense window: the check below sees the surface's shape
    # linear binning to 250 m cells (a quarter of the bandwidth) costs about 1% here
    assert np.corrcoef(got, ref)[0, 1] > 0.999
    assert np.abs(got - ref).sum() / ref.sum() < 0.02
    assert np.abs(got - ref).max() < 0.04 * ref.max()
    # ... which a bandwidth 25% off would not pass
    wrong = exact(1.25 * BANDWIDTH)
    assert np.abs(got - wrong).sum() / wrong.sum() > 0.04
    assert run.bandwidth.value == BANDWIDTH and run.bandwidth.why.startswith("given")


def test_without_a_bandwidth_the_engines_rule_chooses_it_and_says_so(run, lsoas, crimes):
    from localprofile.engine.kde import auto_bandwidth

    auto = national_run(crimes.x, crimes.y, lsoas, bandwidth=None, grid=run.grid, lsoa_method="strtree")
    assert auto.bandwidth == auto_bandwidth(crimes.x, crimes.y, 250)
    assert auto.bandwidth.why.startswith("automatic") and "bandwidth" in auto.seconds
    assert auto.bandwidth.value != BANDWIDTH and not np.array_equal(auto.kde, run.kde)
    np.testing.assert_array_equal(auto.gi_z, run.gi_z)
    np.testing.assert_array_equal(auto.lsoa, run.lsoa)
