"""Acceptance 1-3 on the Leeds demo: outputs, record accounts, counts, Gi* vs esda, KDE units."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from conftest import THEMES, lookup_rows, read_police_rows
from pyproj import Transformer
from scipy import stats


def test_demo_writes_the_four_kinds_of_output(demo_out):
    assert (demo_out / "index.html").stat().st_size > 100_000
    assert (demo_out / "summary.json").exists()
    layers = {name for name, _ in pyogrio.list_layers(demo_out / "results.gpkg")}
    assert {"study_area", "lsoa"} | {f"grid_{t}" for t in THEMES} <= layers
    for t in THEMES:
        with rasterio.open(demo_out / f"kde_{t}.tif") as src:
            assert src.crs.to_epsg() == 27700
            assert src.tags()["units"] == "crimes per km2"
            assert np.nanmax(src.read(1)) > 0
    # nothing half-written is left beside the output folders
    assert not list(demo_out.parent.glob(".localprofile-*"))
    assert not list(demo_out.parent.parent.glob(".localprofile-*"))


def test_summary_has_the_documented_keys(demo_summary):
    s = demo_summary
    assert s["district"] == {"code": "E08000035", "name": "Leeds"}
    assert s["period"]["first_month"] == "2016-07" and s["period"]["last_month"] == "2017-07"
    assert set(s["themes"]) == set(THEMES)
    for t in s["themes"].values():
        assert {"crimes", "hotspot_cells", "cell_size_m", "bandwidth_m"} <= set(t)
        assert t["cell_size_m"] > 0 and t["bandwidth_m"] > 0
    whats = [c["what"] for c in s["choices"]]
    assert "cell size (m)" in whats and "grid buffer (m)" in whats and "hotspot threshold" in whats
    assert all(c["why"] for c in s["choices"])
    assert sum(1 for w in whats if w.startswith("bandwidth")) == len(THEMES)


def test_every_layer_balances(demo_summary):
    for name, acc in demo_summary["layers"].items():
        assert acc["read"] == acc["used"] + sum(acc["dropped"].values()), name
    crimes = demo_summary["layers"]["crimes"]
    assert crimes["read"] == 27176 + 28537  # both months, as the source README states
    assert crimes["dropped"] == {"no coordinates and no LSOA code": 2888}


def test_all_crime_equals_an_independent_count(demo_summary):
    leeds = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds"}
    assert len(leeds) == 482
    seen, n = set(), 0
    for row in read_police_rows():
        cid = row["Crime ID"].strip()
        if cid:
            if cid in seen:
                continue
            seen.add(cid)
        n += row["LSOA code"].strip() in leeds
    assert demo_summary["themes"]["all_crime"]["crimes"] == n
    drugs = sum(
        1 for r in read_police_rows() if r["LSOA code"] in leeds and r["Crime type"] == "Drugs"
    )
    assert demo_summary["themes"]["drugs"]["crimes"] == drugs


@pytest.fixture(scope="module")
def unclipped(tmp_path_factory):
    """Leeds built with ``profile.clip_outputs: false``: the grid layers keep the buffer cells
    that entered Gi*, so the statistic can be recomputed from the exported cells alone."""
    from conftest import run_cli, write_catalog

    tmp = tmp_path_factory.mktemp("unclipped")
    cat = write_catalog(tmp, profile={"clip_outputs": False})
    res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--out", str(tmp / "o"))
    assert res.returncode == 0, res.stderr
    return tmp / "o"


@pytest.fixture(scope="module")
def queen(unclipped):
    """libpysal queen contiguity built from the exported cell polygons themselves."""
    from libpysal.weights import Queen

    cells = gpd.read_file(unclipped / "results.gpkg", layer="grid_all_crime")
    return cells, Queen.from_dataframe(cells, use_index=False, silence_warnings=True)


def test_grid_layers_are_clipped_to_the_district_unless_asked(demo_out, unclipped, demo_summary):
    clipped = gpd.read_file(demo_out / "results.gpkg", layer="grid_all_crime")
    full = gpd.read_file(unclipped / "results.gpkg", layer="grid_all_crime")
    assert clipped["in_study_area"].astype(bool).all()
    assert len(clipped) == demo_summary["grid"]["cells_in_study_area"]
    inside = full["in_study_area"].astype(bool)
    assert 0 < inside.sum() == len(clipped) < len(full)  # the buffer adds cells outside
    keep = ["row", "col", "count", "gi_z", "gi_q", "hotspot"]
    import pandas as pd

    pd.testing.assert_frame_equal(full.loc[inside, keep].reset_index(drop=True), clipped[keep])
    assert full.loc[~inside, "gi_q"].isna().all()  # q only over the district's cells


@pytest.mark.parametrize("theme", ["all_crime", "drugs", "possession_of_weapons", "soc_indicators"])
def test_gi_star_equals_esda(unclipped, queen, theme):
    from esda.getisord import G_Local

    cells0, w = queen
    cells = gpd.read_file(unclipped / "results.gpkg", layer=f"grid_{theme}")
    assert np.array_equal(cells.geometry.centroid.x, cells0.geometry.centroid.x)
    g = G_Local(cells["count"].to_numpy(float), w, transform="B", star=True, permutations=0)
    assert np.isfinite(g.Zs).all()
    np.testing.assert_allclose(cells["gi_z"], g.Zs, rtol=0, atol=1e-6)
    np.testing.assert_allclose(cells["gi_p"], 2 * stats.norm.sf(np.abs(g.Zs)), atol=1e-9)


def _bh(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values, written out from the definition."""
    m = len(p)
    order = np.argsort(p)
    ranked = p[order] * m / np.arange(1, m + 1)
    adj = np.minimum.accumulate(ranked[::-1])[::-1].clip(max=1)
    out = np.empty(m)
    out[order] = adj
    return out


@pytest.mark.parametrize("theme", ["all_crime", "robbery"])
def test_gi_q_is_bh_over_the_in_area_cells(demo_out, demo_summary, theme):
    cells = gpd.read_file(demo_out / "results.gpkg", layer=f"grid_{theme}")
    inside = cells["in_study_area"].astype(bool).to_numpy()
    assert inside.all() and len(cells) == demo_summary["grid"]["cells_in_study_area"]
    np.testing.assert_allclose(cells.loc[inside, "gi_q"], _bh(cells.loc[inside, "gi_p"].to_numpy()), atol=1e-12)
    hot = inside & (cells["gi_q"] < 0.05).to_numpy() & (cells["gi_z"] > 0).to_numpy()
    assert (cells["hotspot"] == "hot").to_numpy().tolist() == hot.tolist()
    assert demo_summary["themes"][theme]["hotspot_cells"] == int(hot.sum())


def _points_in_study_area(demo_out, theme_types=None) -> int:
    area = gpd.read_file(demo_out / "results.gpkg", layer="study_area").geometry.iloc[0]
    rows = [r for r in read_police_rows() if r["Longitude"] and (theme_types is None or r["Crime type"] in theme_types)]
    lon = np.array([float(r["Longitude"]) for r in rows])
    lat = np.array([float(r["Latitude"]) for r in rows])
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon, lat)
    return int(shapely.contains_xy(area, x, y).sum())


@pytest.mark.parametrize("theme,types", [("all_crime", None), ("drugs", {"Drugs"})])
def test_kde_integral_matches_crimes_in_the_area(demo_out, demo_summary, theme, types):
    cells = gpd.read_file(demo_out / "results.gpkg", layer=f"grid_{theme}")
    inside = cells["in_study_area"].astype(bool)
    cell_km2 = cells.geometry.area.iloc[0] / 1e6
    integral = float(cells.loc[inside, "kde"].sum() * cell_km2)  # kde is crimes per km²
    n = _points_in_study_area(demo_out, types)
    assert abs(integral - n) / n < 0.05, (integral, n)


def test_kde_matches_a_direct_quartic_sum(demo_out, demo_summary):
    """The KDE raster (kde_all_crime.tif) against the kernel summed over every raw point
    (cKDTree), at the raster's cell centres inside the district."""
    import rasterio
    from scipy.spatial import cKDTree

    h = demo_summary["themes"]["all_crime"]["bandwidth_m"]
    with rasterio.open(demo_out / "kde_all_crime.tif") as src:
        band, transform = src.read(1), src.transform
    rr, cc = np.nonzero(np.isfinite(band))
    pick = np.random.default_rng(0).choice(len(rr), size=min(4000, len(rr)), replace=False)
    rr, cc = rr[pick], cc[pick]
    cx = transform.c + (cc + 0.5) * transform.a
    cy = transform.f + (rr + 0.5) * transform.e
    rows = [r for r in read_police_rows() if r["Longitude"]]
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        np.array([float(r["Longitude"]) for r in rows]), np.array([float(r["Latitude"]) for r in rows])
    )
    pts = np.column_stack([x, y])
    tree = cKDTree(pts)
    direct = np.zeros(len(cx))
    for i, nb in enumerate(tree.query_ball_point(np.column_stack([cx, cy]), h)):
        d2 = ((pts[nb] - [cx[i], cy[i]]) ** 2).sum(axis=1)
        direct[i] = ((1 - d2 / h**2) ** 2).sum()
    direct *= 3 / (np.pi * h**2) * 1e6  # per m² -> per km²
    kde = band[rr, cc].astype(float)
    assert np.corrcoef(kde, direct)[0, 1] > 0.99
    # raster cells of at most half the bandwidth, points linearly binned to their centres: the
    # binning error is of order (cell / h)² of a point's peak contribution; overall it is small
    assert np.abs(kde - direct).sum() / direct.sum() < 0.05


def test_lsoa_layer_has_counts_rates_imd_population(demo_out):
    lsoa = gpd.read_file(demo_out / "results.gpkg", layer="lsoa")
    assert len(lsoa) == 482 and lsoa.crs.to_epsg() == 27700
    for t in THEMES:
        assert {f"count_{t}", f"rate_{t}"} <= set(lsoa.columns)
    np.testing.assert_allclose(
        lsoa["rate_all_crime"], lsoa["count_all_crime"] / lsoa["population"] * 1000
    )
    assert lsoa["imd_decile"].between(1, 10).all()
    assert int(lsoa["population"].sum()) == 751485  # Leeds, Census 2011
