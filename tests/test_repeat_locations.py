"""Repeat locations: police.uk map points (the default) checked against an independent count of
the shipped CSVs, none wider than 300 m in the demo; the most frequent locations grouped by map
point; and the DBSCAN option against sklearn on every crime, hulls, top locations, and a
constructed case with two clusters and noise."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import shapely
from sklearn.cluster import DBSCAN
from sklearn.metrics import adjusted_rand_score

from localprofile.engine.aggregate import top_locations
from localprofile.engine.repeat_locations import cluster_labels, map_point_groups, repeat_locations, unique_points


@pytest.fixture(scope="module")
def leeds():
    """Located crimes of the shipped data inside Leeds (both months): coordinates and locations."""
    from localprofile.build import build_profile
    from localprofile.catalog import load_catalog
    from localprofile.demo import demo_catalog_path
    from localprofile.loading import load_layers

    profile = build_profile(demo_catalog_path(), "Leeds", audience="public")
    catalog = load_catalog(demo_catalog_path())
    crimes = load_layers(catalog, skip={n for n in catalog.layers if n != "crimes"})["crimes"].frame
    crimes = crimes[crimes.geometry.notna()]
    xy = shapely.get_coordinates(crimes.geometry.to_numpy())
    inside = shapely.contains_xy(profile.district.polygon, xy[:, 0], xy[:, 1])
    assert inside.sum() > 15_000
    return xy[inside], crimes["location"].to_numpy()[inside]


@pytest.fixture(scope="module")
def leeds_clusters(leeds):
    xy, locations = leeds
    return cluster_labels(xy), repeat_locations(xy, locations, method="dbscan")


def test_weighted_dbscan_equals_dbscan_on_every_crime(leeds, leeds_clusters):
    xy, _ = leeds
    labels, _ = leeds_clusters
    u, index, n = unique_points(xy)
    assert len(u) < len(xy) / 2  # police.uk crimes share map points
    weighted = DBSCAN(eps=100, min_samples=5).fit(u, sample_weight=n)
    # every crime as its own row, in the unique points' order: exactly the same labels
    expanded = DBSCAN(eps=100, min_samples=5).fit(np.repeat(u, n, axis=0))
    np.testing.assert_array_equal(expanded.labels_, np.repeat(weighted.labels_, n))
    # every crime in the data's own order: the same core crimes, the same noise, and the same
    # clusters of core crimes (a border crime within eps of two clusters goes to whichever reaches
    # it first, which depends on row order in any DBSCAN)
    plain = DBSCAN(eps=100, min_samples=5).fit(xy)
    core = np.zeros(len(xy), bool)
    core[plain.core_sample_indices_] = True
    core_w = np.zeros(len(u), bool)
    core_w[weighted.core_sample_indices_] = True
    np.testing.assert_array_equal(core, core_w[index])
    np.testing.assert_array_equal(plain.labels_ < 0, labels < 0)
    assert adjusted_rand_score(plain.labels_[core], labels[core]) == 1.0
    # and cluster_labels is that clustering, renumbered
    np.testing.assert_array_equal(weighted.labels_[index] < 0, labels < 0)
    assert adjusted_rand_score(weighted.labels_[index], labels) == 1.0
    # clusters are numbered by crimes, most first
    sizes = np.bincount(labels[labels > 0])[1:]
    assert (np.diff(sizes) <= 0).all()


def test_leeds_hulls_hold_their_members(leeds, leeds_clusters):
    xy, _ = leeds
    labels, g = leeds_clusters
    assert g.crs.to_epsg() == 27700
    assert len(g) == labels.max() > 100
    assert (g.geom_type == "Polygon").all() and g.is_valid.all()
    member = labels > 0
    hull_of = g.geometry.to_numpy()[labels[member] - 1]
    assert shapely.covers(hull_of, shapely.points(xy[member])).all()
    assert g["crimes"].tolist() == np.bincount(labels[member])[1:].tolist()
    assert g["crimes"].sum() == member.sum()
    distinct = [len(np.unique(xy[labels == c], axis=0)) for c in g["cluster"]]
    assert g["points"].tolist() == distinct
    # a single map point's cluster is a small buffered disc
    single = g[g["points"] == 1]
    assert len(single) and np.allclose(single.area, np.pi * 25, rtol=0.01)


def test_leeds_top_locations_add_up(leeds, leeds_clusters):
    _, locations = leeds
    labels, g = leeds_clusters
    for row in g.itertuples():
        counts = Counter(loc for loc in locations[labels == row.cluster] if isinstance(loc, str))
        expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        got = [(getattr(row, f"location_{i}"), getattr(row, f"location_{i}_crimes")) for i in (1, 2, 3)]
        got = [(loc, c) for loc, c in got if loc is not None]
        assert got == expected, row.cluster
        assert sum(c for _, c in got) <= row.crimes
        if len(counts) <= 3:
            assert sum(c for _, c in got) == sum(counts.values())
    assert g["location_1"].str.startswith("On or near").all()


def constructed():
    """Cluster A: 30 crimes at 6 map points within 60 m; cluster B: 12 crimes at one point;
    noise: 10 lone crimes kilometres apart and two points 50 m apart with 2 crimes each."""
    a = [[1000 + dx, 1000 + dy] for dx, dy in [(0, 0), (20, 0), (40, 10), (0, 30), (25, 40), (50, 50)]]
    a_xy = np.repeat(a, 5, axis=0).astype(float)
    a_loc = ["On or near High Street"] * 18 + ["On or near Market Place"] * 9 + ["On or near Bus Station"] * 3
    b_xy = np.repeat([[6000.0, 1000.0]], 12, axis=0)
    b_loc = ["On or near Nightclub"] * 12
    lone = np.column_stack([np.arange(10) * 3000.0 + 500, np.full(10, 9000.0)])
    pair = np.array([[3000.0, 4000.0]] * 2 + [[3050.0, 4000.0]] * 2)
    xy = np.vstack([a_xy, b_xy, lone, pair])
    loc = a_loc + b_loc + ["On or near Lane"] * 10 + ["On or near Close"] * 4
    return xy, np.array(loc, dtype=object)


def test_two_clear_clusters_and_noise():
    xy, loc = constructed()
    labels = cluster_labels(xy)
    assert labels.tolist() == [1] * 30 + [2] * 12 + [-1] * 14
    g = repeat_locations(xy, loc, method="dbscan")
    assert g[["cluster", "crimes", "points"]].values.tolist() == [[1, 30, 6], [2, 12, 1]]
    assert g.loc[0, ["location_1", "location_1_crimes", "location_2", "location_2_crimes",
                     "location_3", "location_3_crimes"]].tolist() == [
        "On or near High Street", 18, "On or near Market Place", 9, "On or near Bus Station", 3]
    assert g.loc[1, "location_1"] == "On or near Nightclub" and g.loc[1, "location_2"] is None
    assert g.loc[1, "location_2_crimes"] == 0
    # A's hull is the convex hull of its six points; B is one point buffered by 5 m
    assert g.geometry[0].equals(shapely.MultiPoint(np.unique(xy[:30], axis=0)).convex_hull)
    assert g.geometry[1].area == pytest.approx(np.pi * 25, rel=0.01)
    assert g.geometry[1].contains(shapely.Point(6000, 1000))
    # the row order of the input does not matter
    perm = np.random.default_rng(5).permutation(len(xy))
    g2 = repeat_locations(xy[perm], loc[perm], method="dbscan")
    assert g2.drop(columns="geometry").equals(g.drop(columns="geometry"))
    assert g2.geometry.geom_equals(g.geometry).all()
    # a tighter eps splits A's far corner off; a higher min_samples drops B
    assert cluster_labels(xy, eps=20).max() >= 3
    assert cluster_labels(xy, min_samples=13).max() == 1
    # unlocated rows are noise and are not counted
    with_nan = np.vstack([xy, [[np.nan, np.nan]]])
    assert cluster_labels(with_nan)[-1] == -1
    assert repeat_locations(with_nan, np.append(loc, None), method="dbscan")["crimes"].tolist() == [30, 12]


def test_hdbscan_option_and_bad_input():
    xy, loc = constructed()
    labels = cluster_labels(xy, method="hdbscan", min_cluster_size=10)
    # A and B are two clusters (HDBSCAN may also sweep sparse crimes into one: its clusters are
    # relative to local density)
    assert len(set(labels[:30])) == 1 and len(set(labels[30:42])) == 1 and labels[0] != labels[30]
    assert min(labels[:42]) > 0 and labels.max() == 2
    h = repeat_locations(xy, loc, method="hdbscan", min_cluster_size=10)
    assert h["crimes"].tolist() == np.bincount(labels[labels > 0])[1:].tolist()
    assert "no sample weights" in h.attrs["choices"][0].why
    assert len(repeat_locations(np.empty((0, 2)))) == 0
    with pytest.raises(ValueError):
        repeat_locations(xy, method="optics")
    with pytest.raises(ValueError):
        repeat_locations(xy, loc[:3])


def test_map_points_are_the_default_repeat_locations_and_count_as_the_csvs(leeds):
    xy, locations = leeds
    g = repeat_locations(xy, locations)
    # independently: crimes per distinct coordinate pair, the ones with at least 5
    _, n = np.unique(xy, axis=0, return_counts=True)
    expected = np.sort(n[n >= 5])[::-1]
    assert g["crimes"].tolist() == expected.tolist()
    assert (g["points"] == 1).all()
    assert g.attrs["choices"][0].what == "repeat locations: police.uk map points"


def test_joined_map_points_stay_small():
    u = np.array([[0.0, 0], [20, 0], [500, 0]])
    assert map_point_groups(u, merge=30).tolist() == [0, 0, 1]
    chain = np.array([[x * 25.0, 0] for x in range(8)])  # 175 m of points 25 m apart
    assert len(set(map_point_groups(chain, merge=30).tolist())) == 8  # split back: wider than 100 m
    xy = np.repeat(np.array([[0.0, 0], [20, 0]]), [3, 3], axis=0)
    assert repeat_locations(xy, merge=0)["crimes"].tolist() == []  # 3 + 3: neither point has 5
    assert repeat_locations(xy, merge=30)["crimes"].tolist() == [6]


def _diameter(geom) -> float:
    pts = shapely.get_coordinates(geom)
    return float(np.max(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))))


def test_no_repeat_location_in_the_demo_is_wider_than_300_m(demo_out):
    import pyogrio

    layers = [name for name, _ in pyogrio.list_layers(demo_out / "results.gpkg") if name.startswith("repeats_")]
    assert len(layers) >= 5
    widest = 0.0
    for name in layers:
        g = pyogrio.read_dataframe(demo_out / "results.gpkg", layer=name)
        if len(g):
            widest = max(widest, max(_diameter(geom) for geom in g.geometry))
    assert 0 < widest <= 300, widest


def test_the_locations_table_groups_by_map_point(leeds):
    xy, locations = leeds
    top = top_locations(locations, xy[:, 0], xy[:, 1], n=200)
    # independently: crimes per (location text, coordinates)
    by_point = Counter((loc, x, y) for loc, (x, y) in zip(locations, xy.tolist()) if isinstance(loc, str))
    assert [(loc, n) for loc, n, _, _ in top[:10]] == [
        (k[0], v) for k, v in sorted(by_point.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1], kv[0][2]))[:10]]
    # the same name at different map points is listed apart, never summed across the district
    names = Counter(loc for loc, _, _, _ in top)
    shared = [name for name, k in names.items() if k > 1]
    assert shared, "Leeds has several map points of one name (On or near Supermarket ...)"
    by_name = Counter(loc for loc in locations if isinstance(loc, str))
    for name in shared:
        assert max(n for loc, n, _, _ in top if loc == name) < by_name[name]


def test_hot_cell_tooltips_list_the_cells_own_map_points():
    """Each hot or cold cell's tooltip lists its busiest map points with their counts, counted
    here independently: the located crimes (inside Leeds or not) whose point lies inside that
    cell's polygon."""
    from localprofile.build import build_profile
    from localprofile.catalog import load_catalog
    from localprofile.demo import demo_catalog_path
    from localprofile.loading import load_layers

    catalog = load_catalog(demo_catalog_path())
    crimes = load_layers(catalog, skip={n for n in catalog.layers if n != "crimes"})["crimes"].frame
    crimes = crimes[crimes.geometry.notna() & crimes["location"].notna()]
    xy, locations = shapely.get_coordinates(crimes.geometry.to_numpy()), crimes["location"].to_numpy()
    profile = build_profile(demo_catalog_path(), "Leeds", audience="public")
    result = profile.themes["all_crime"]
    g, classes = (profile.hexgrid, result.hex.hotspot) if result.hex is not None else (profile.grid, result.hotspot)
    shown = np.flatnonzero(classes.ravel() != "none")
    places = result.cell_locations
    assert set(places["cell"]) <= set(shown) and len(set(places["cell"])) > 20
    polygons = np.asarray(g.cells()).ravel()
    cells = places["cell"].drop_duplicates().to_numpy()
    for cell in cells[:: max(1, len(cells) // 12)]:
        inside = shapely.contains_xy(polygons[cell], xy[:, 0], xy[:, 1])
        by_point = Counter((loc, x, y) for loc, (x, y) in zip(locations[inside], xy[inside].tolist()))
        expected = sorted(by_point.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1], kv[0][2]))[:3]
        got = places[places["cell"] == cell]
        assert [(r.location, r.crimes) for r in got.itertuples()] == [(k[0], v) for k, v in expected]


def test_the_hot_cell_tooltip_in_the_page_names_map_points(demo_out):
    html = (demo_out / "index.html").read_text(encoding="utf-8")
    assert "busiest map points" in html
    assert '"where": "On or near ' in html
