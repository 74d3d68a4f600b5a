"""The binned KDE against scikit-learn's KernelDensity on the real Leeds crimes (for the kernels
scikit-learn has: Epanechnikov and Gaussian; the quartic is checked against a direct sum)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from sklearn.neighbors import KernelDensity

from localprofile.demo import demo_catalog_path
from localprofile.engine.grid import make_grid
from localprofile.engine.kde import fine_grid, kde_raster, quartic_kde


@pytest.fixture(scope="module")
def leeds():
    from localprofile.catalog import load_catalog
    from localprofile.loading import load_layers
    from localprofile.study_area import select_district

    cat = load_catalog(demo_catalog_path())
    layers = load_layers(cat, skip={n for n in cat.layers if n not in cat.roles().values()})
    area = select_district(layers["lsoa_lookup"].frame, layers["lsoa_boundaries"].frame, "Leeds")
    pts = shapely.get_coordinates(layers["crimes"].frame.geometry.dropna().to_numpy())
    return area.polygon, pts


@pytest.mark.parametrize("kernel,bandwidth", [("epanechnikov", 600.0), ("gaussian", 250.0)])
def test_binned_kde_matches_sklearn(leeds, kernel, bandwidth):
    polygon, pts = leeds
    g = make_grid(polygon, 100, 5 * bandwidth)
    ours = quartic_kde(g.linear_bin(pts[:, 0], pts[:, 1]), g.cell_size, bandwidth, kernel=kernel)
    xc, yc = g.centres()
    # sklearn evaluates exactly (slowly): 4,000 of the district's cells, drawn at random
    pick = np.random.default_rng(0).choice(int(g.in_area.sum()), 4000, replace=False)
    centres = np.column_stack([xc[g.in_area], yc[g.in_area]])[pick]
    kd = KernelDensity(kernel=kernel, bandwidth=bandwidth).fit(pts)
    ref = np.exp(kd.score_samples(centres)) * len(pts) * 1e6  # crimes per km²
    got = ours[g.in_area][pick]
    assert np.corrcoef(got, ref)[0, 1] > 0.999
    assert np.abs(got - ref).sum() / ref.sum() < 0.02
    assert np.abs(got - ref).max() < 0.03 * ref.max()


@pytest.mark.parametrize("kernel,bandwidth", [("quartic", 160.0), ("gaussian", 60.0)])
def test_the_kde_raster_matches_a_direct_sum(leeds, kernel, bandwidth, monkeypatch):
    # the build's KDE: a raster finer than the 500 m Gi* cells at a bandwidth like the automatic
    # one, where few raster cells hold crimes and each one's kernel is added directly (no FFT);
    # the reference sums the kernel over every crime: scikit-learn for the Gaussian, and for the
    # quartic, which scikit-learn lacks, scipy's cKDTree pairs within the bandwidth
    from scipy.spatial import cKDTree

    from localprofile.engine import kde

    polygon, pts = leeds
    g = make_grid(polygon, 500, 4 * bandwidth)
    chosen, choose = [], kde.direct_is_cheaper
    monkeypatch.setattr(kde, "direct_is_cheaper", lambda *a: chosen.append(choose(*a)) or chosen[-1])
    surface, f = kde_raster(g, pts[:, 0], pts[:, 1], bandwidth, kernel)
    assert chosen == [True]
    fine = fine_grid(g, f)
    xc, yc = fine.centres()
    pick = np.random.default_rng(1).choice(int(fine.in_area.sum()), 4000, replace=False)
    centres = np.column_stack([xc[fine.in_area], yc[fine.in_area]])[pick]
    if kernel == "gaussian":
        ref = np.exp(KernelDensity(kernel=kernel, bandwidth=bandwidth).fit(pts).score_samples(centres)) * len(pts)
    else:
        pairs = cKDTree(centres).sparse_distance_matrix(cKDTree(pts), bandwidth, output_type="ndarray")
        k = (1 - pairs["v"] ** 2 / bandwidth**2) ** 2 * 3 / (np.pi * bandwidth**2)
        ref = np.bincount(pairs["i"], weights=k, minlength=len(centres))
    ref = ref * 1e6  # crimes per km²
    got = surface[fine.in_area][pick]
    assert np.corrcoef(got, ref)[0, 1] > 0.999
    # raster cells of a quarter of the bandwidth: linear binning is within a few percent
    assert np.abs(got - ref).sum() / ref.sum() < 0.04
    assert np.abs(got - ref).max() < 0.04 * ref.max()


def test_the_catalog_chooses_the_kernel(tmp_path):
    import json

    from conftest import run_cli, write_catalog

    cat = write_catalog(tmp_path, profile={"kernel": "gaussian"})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    bw = s["themes"]["all_crime"]["bandwidth_m"]
    c = next(c for c in s["choices"] if c["what"] == "bandwidth (m), all_crime")
    assert "divided by 2 sqrt 2 for the Gaussian" in c["why"]
    assert s["grid"]["buffer_m"] >= 4 * max(t["bandwidth_m"] for t in s["themes"].values())
    assert "Gaussian kernel" in (tmp_path / "o" / "index.html").read_text() and bw > 0
    import rasterio

    for name in ("kde_all_crime.tif", "rate_all_crime.tif"):  # the files say which kernel, too
        with rasterio.open(tmp_path / "o" / name) as src:
            assert src.tags()["kernel"] == "gaussian" and float(src.tags()["bandwidth_m"]) == bw
