"""The KDE raster: finer than the Gi* grid, so that every bandwidth from 50 m up gives its own
surface, while its mean over each Gi* cell integrates to the same crimes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import rasterio

from localprofile.demo import demo_grid
from localprofile.engine.kde import block_mean, kde_factor, kde_raster, quartic_kde


def test_sub_cell_bandwidths_give_distinct_surfaces():
    g = demo_grid("Leeds", theme="all_crime", cell_size=500)
    f = kde_factor(500, 50, g.grid.nx * g.grid.ny)
    surfaces = {bw: kde_raster(g.grid, g.x, g.y, bw, factor=f)[0] for bw in (50, 100, 200, 400)}
    for a, b in itertools.combinations(surfaces, 2):
        diff = np.abs(surfaces[a] - surfaces[b])
        assert diff.max() > 0.05 * surfaces[a].max(), (a, b)
    # on the Gi* grid itself both collapse to the binned counts: the old failure
    coarse = {bw: quartic_kde(g.grid.linear_bin(g.x, g.y), 500, bw) for bw in (200, 400)}
    np.testing.assert_array_equal(coarse[200], coarse[400])
    # the raster's mean per Gi* cell tells them apart
    means = {bw: block_mean(surfaces[bw], f) for bw in (200, 400)}
    assert np.abs(means[200] - means[400]).max() > 1.0


@pytest.mark.parametrize("bw", [50, 300, 1500])
def test_the_raster_integrates_to_the_crimes(bw):
    g = demo_grid("Leeds", theme="drugs", cell_size=500)
    s, f = kde_raster(g.grid, g.x, g.y, bw)
    cell_km2 = (500 / f) ** 2 / 1e6
    assert s.sum() * cell_km2 == pytest.approx(g.counts.sum(), rel=0.02)
    assert block_mean(s, f).sum() * 0.25 == pytest.approx(s.sum() * cell_km2, rel=1e-9)


def test_the_geotiff_is_the_raster(demo_out, demo_summary):
    with rasterio.open(demo_out / "kde_all_crime.tif") as src:
        cell = src.res[0]
        tags = src.tags()
        data = src.read(1)
    gi_cell = demo_summary["grid"]["cell_size_m"] if "grid" in demo_summary else float(tags["gi_star_cell_size_m"])
    assert cell < float(tags["gi_star_cell_size_m"]) / 3.9
    assert float(tags["gi_star_cell_size_m"]) == pytest.approx(float(gi_cell))
    choice = next(c for c in demo_summary["choices"] if c["what"] == "KDE raster cell (m), all_crime")
    assert choice["value"] == pytest.approx(cell)
    assert np.isfinite(data).sum() > 10_000
