"""Data-driven scale (PISA): global Moran's I on the grid against esda, and the chosen size."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from localprofile.engine.grid import make_grid
from localprofile.engine.scale import global_moran_grid, pisa_cell_size


def test_moran_equals_esda_on_an_irregular_grid():
    from esda.moran import Moran
    from libpysal.weights import Queen

    rng = np.random.default_rng(5)
    area = shapely.Polygon([(0, 0), (3000, 0), (3000, 1500), (1500, 1500), (1500, 3000), (0, 3000)])
    g = make_grid(area, 200, 0)
    counts = rng.poisson(1.0, g.shape).astype(float)
    counts[:5, :5] += 6
    i, z = global_moran_grid(counts, g.in_area)
    cells = gpd.GeoDataFrame({"y": counts[g.in_area]}, geometry=g.cells(g.in_area))
    w = Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    ref = Moran(cells["y"].to_numpy(), w, transformation="B", permutations=0)
    assert abs(i - ref.I) < 1e-12 and abs(z - ref.z_norm) < 1e-9


def test_the_catalog_can_ask_for_pisa(tmp_path):
    import json

    from conftest import run_cli, write_catalog

    cat = write_catalog(tmp_path, profile={"cell_size_rule": "pisa"})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    c = next(c for c in s["choices"] if c["what"] == "cell size (m)")
    assert "peak incremental spatial autocorrelation" in c["why"]
    assert s["grid"]["cell_size_m"] == c["value"] and 100 <= c["value"] <= 1000


def test_pisa_finds_the_scale_of_planted_clusters():
    rng = np.random.default_rng(1)
    area = shapely.box(0, 0, 10_000, 10_000)
    centres = rng.uniform(1000, 9000, (25, 2))
    pts = np.vstack([c + rng.normal(0, 250, (80, 2)) for c in centres] + [rng.uniform(0, 10_000, (500, 2))])
    c = pisa_cell_size(pts[:, 0], pts[:, 1], area)
    assert 150 <= c.value <= 400 and "Moran" in c.why and "m: I" in c.why  # clusters of sd 250 m
