"""Repeat-location clusters in a built profile (GeoPackage layer, summary, map)."""

from __future__ import annotations

import geopandas as gpd
import shapely
from conftest import read_police_rows
from pyproj import Transformer


def test_repeat_clusters_are_exported_and_contain_their_crimes(demo_out, demo_summary):
    reps = gpd.read_file(demo_out / "results.gpkg", layer="repeats_drugs")
    info = demo_summary["themes"]["drugs"]["repeat_locations"]
    assert len(reps) == info["clusters"] > 0 and reps.crs.to_epsg() == 27700
    assert int(reps["crimes"].sum()) == info["crimes_in_clusters"] <= demo_summary["themes"]["drugs"]["crimes_located"]
    assert reps["crimes"].is_monotonic_decreasing  # cluster 1 is the largest
    # the largest cluster's hull holds at least as many Leeds drugs crimes as it claims
    rows = [r for r in read_police_rows() if r["Crime type"] == "Drugs" and r["Longitude"]]
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        [float(r["Longitude"]) for r in rows], [float(r["Latitude"]) for r in rows])
    inside = shapely.contains_xy(reps.geometry.iloc[0].buffer(1e-6), x, y).sum()
    assert inside >= reps["crimes"].iloc[0]
    html = (demo_out / "index.html").read_text(encoding="utf-8")
    assert "Repeat locations (largest" in html
