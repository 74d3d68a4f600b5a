"""Hexagonal grids: binning against the polygons themselves, Gi* against esda with queen weights."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from localprofile.engine.hexgrid import gi_star_hex, make_hexgrid, neighbour_sum


def test_points_fall_in_the_hexagon_that_holds_them():
    rng = np.random.default_rng(3)
    h = make_hexgrid(shapely.box(0, 0, 5000, 4000), cell_size=300, buffer=300)
    x, y = rng.uniform(0, 5000, 4000), rng.uniform(0, 4000, 4000)
    row, col = h.locate(x, y)
    polys = h.cells().reshape(h.shape)
    assert shapely.contains_xy(polys[row, col], x, y).all()
    xc, yc = h.centres()
    r2, c2 = h.locate(xc.ravel(), yc.ravel())
    assert (r2.reshape(h.shape) == np.arange(h.ny)[:, None]).all() and (c2.reshape(h.shape) == np.arange(h.nx)).all()
    a = shapely.area(polys).ravel()
    np.testing.assert_allclose(a, 300**2, rtol=1e-9)  # the same area as the square cell
    assert h.bin(x, y).sum() == 4000


def test_six_neighbours_and_gi_star_equal_esda():
    from esda.getisord import G_Local
    from libpysal.weights import Queen

    rng = np.random.default_rng(11)
    area = shapely.Point(2500, 2500).buffer(2200)
    h = make_hexgrid(area, cell_size=250, buffer=250)
    counts = rng.poisson(0.8, h.shape).astype(float)
    counts[5:9, 6:10] += 5
    # vertices snapped to the millimetre, so that neighbours share them exactly (queen weights
    # match shared vertices)
    cells = gpd.GeoDataFrame({"y": counts[h.active]}, geometry=shapely.set_precision(h.cells(h.active), 0.001))
    w = Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    interior = neighbour_sum(np.ones(h.shape), h.active, include_self=False)[h.active]
    assert interior.max() == 6 and (np.array([w.cardinalities[i] for i in range(w.n)]) == interior).all()
    z, p = gi_star_hex(counts, h.active)
    ref = G_Local(cells["y"].to_numpy(), w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(z[h.active], ref.Zs, atol=1e-9)


def test_a_profile_on_hexagons(tmp_path):
    import json

    from conftest import run_cli, write_catalog

    cat = write_catalog(tmp_path, profile={"grid_shape": "hexagon", "clip_outputs": False})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    hexes = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="hex_all_crime")
    inside = hexes["in_study_area"].astype(bool)
    assert s["themes"]["all_crime"]["cell_shape"] == "hexagon"
    assert s["themes"]["all_crime"]["hotspot_cells"] == int((hexes["hotspot"] == "hot").sum()) > 0
    assert int(hexes["count"].sum()) >= s["themes"]["all_crime"]["points_in_district_polygon"]
    assert (shapely.get_num_coordinates(hexes.geometry.to_numpy()) == 7).all()  # six corners, closed
    from esda.getisord import G_Local
    from libpysal.weights import Queen

    snapped = hexes.set_geometry(shapely.set_precision(hexes.geometry.to_numpy(), 0.001))
    w = Queen.from_dataframe(snapped, use_index=False, silence_warnings=True)
    ref = G_Local(hexes["count"].to_numpy(float), w, transform="B", star=True, permutations=0)
    np.testing.assert_allclose(hexes["gi_z"], ref.Zs, atol=1e-6)
    assert inside.sum() < len(hexes)
    c = next(c for c in s["choices"] if c["what"] == "hotspot threshold")
    assert f"adjusted for {int(inside.sum()):,} tests, one per hexagon" in c["why"]


def test_permutation_gi_star_on_hexagons_matches_esda(tmp_path):
    """Permutation Gi* on the hexagons of a real profile (Calderdale, all crime, permutation
    inference), against esda with queen weights built from the hexagon polygons."""
    import warnings

    from conftest import write_catalog
    from esda.getisord import G_Local
    from libpysal.weights import Queen

    from localprofile.build import build_profile
    from localprofile.engine.permutation import gi_star_permutation

    P = 2999  # both sides of the esda comparison; the profile runs its own 9,999
    cat = write_catalog(tmp_path, profile={"grid_shape": "hexagon", "inference": "permutation",
                                           "permutations": 9999})
    prof = build_profile(cat, "Calderdale", audience="public")
    h, res = prof.hexgrid, prof.themes["all_crime"].hex
    act = h.active
    cells = gpd.GeoDataFrame(geometry=shapely.set_precision(h.cells(act), 0.001))
    w = Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = G_Local(res.count[act].astype(float), w, transform="B", star=True, permutations=P,
                      seed=5, n_jobs=1)
    ours = gi_star_permutation(res.count, act, permutations=P, seed=9, neighbour_sum=neighbour_sum)
    has_nb = np.array([w.cardinalities[i] for i in range(w.n)]) > 0
    a, b = ours.p_sim[act][has_nb], ref.p_sim[has_nb]
    p = (a + b) / 2
    gap = np.abs(a - b) / (np.sqrt(p * (1 - p) * 2 / P) + 2 / (P + 1))
    assert act.sum() > 500 and (gap > 3).mean() <= 0.01 and gap.max() <= 5
    # square (queen, 8 neighbours) weights on the same counts would not match: the check can fail
    sq = gi_star_permutation(res.count, act, permutations=P, seed=9)
    gap_sq = np.abs(sq.p_sim[act][has_nb] - b) / (np.sqrt(p * (1 - p) * 2 / P) + 2 / (P + 1))
    assert (gap_sq > 3).mean() > 0.01
    # the profile's hexagon p-values are the permutation ones (two-sided), not the analytical ones
    assert np.isfinite(res.gi_p[act][has_nb]).all()
    _, p_an = gi_star_hex(res.count, act)
    assert not np.allclose(res.gi_p[act][has_nb], p_an[act][has_nb])
    assert np.all(res.gi_p[act][has_nb] >= 2 / 10000 - 1e-12)
