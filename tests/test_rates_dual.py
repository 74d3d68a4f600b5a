"""Rate surfaces (crimes per 1,000 residents) and dual KDE surfaces between themes."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from conftest import run_cli, write_catalog


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dual")
    cat = write_catalog(tmp, profile={"dual_kde": [
        {"numerator": "drugs", "denominator": "all_crime", "kind": "ratio", "min_denominator": 1.0},
        {"numerator": "drugs", "denominator": "all_crime", "kind": "log_ratio", "min_denominator": 1.0},
        {"numerator": "robbery", "denominator": "drugs", "kind": "difference"},
    ]})
    res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--out", str(tmp / "o"))
    assert res.returncode == 0, res.stderr
    return tmp / "o"


def test_rate_surface_agrees_with_the_district_rate(built):
    s = json.loads((built / "summary.json").read_text())
    g = gpd.read_file(built / "results.gpkg", layer="grid_all_crime")
    inside = g[g["in_study_area"].astype(bool)]
    rate = inside["rate_per_1000"].to_numpy()
    assert np.isnan(rate).mean() < 0.3  # blank only where hardly anyone lives
    # the surface is smoothed crimes over smoothed residents: recover the smoothed residents,
    # and the ratio of the two totals over the district is close to the district's own rate
    kde = inside["kde"].to_numpy()
    ok = np.isfinite(rate) & (rate > 0)
    residents = (kde[ok] / rate[ok] * 1000).sum()  # the smoothed residents per km², summed
    district = 1000 * kde[ok].sum() / residents
    assert district == pytest.approx(s["themes"]["all_crime"]["rate_per_1000"], rel=0.15)
    with rasterio.open(built / "rate_all_crime.tif") as src:
        assert src.tags()["units"] == "crimes per 1000 residents"


def test_dual_kde_of_a_theme_within_another(built):
    s = json.loads((built / "summary.json").read_text())
    assert [d["kind"] for d in s["dual_kde"]] == ["ratio", "log_ratio", "difference"]
    with rasterio.open(built / "dual_drugs_ratio_all_crime.tif") as src:
        ratio = src.read(1)
        assert float(src.tags()["bandwidth_m"]) == max(s["themes"]["drugs"]["bandwidth_m"],
                                                      s["themes"]["all_crime"]["bandwidth_m"])
    finite = ratio[np.isfinite(ratio)]
    # drugs are a subset of all crime, smoothed alike: the share lies in [0, 1]
    assert finite.size > 100 and finite.min() >= 0 and finite.max() <= 1 + 1e-9
    with rasterio.open(built / "dual_drugs_log_ratio_all_crime.tif") as src:
        lr = src.read(1)
    assert np.nanmax(lr) <= 1e-9
    np.testing.assert_allclose(np.exp(lr[np.isfinite(lr)]), ratio[np.isfinite(lr)], rtol=1e-5)
    with rasterio.open(built / "dual_robbery_difference_drugs.tif") as src:
        assert np.isfinite(src.read(1)).any()


def test_unknown_theme_in_a_dual_is_an_error(tmp_path):
    cat = write_catalog(tmp_path, profile={"dual_kde": [{"numerator": "knives", "denominator": "drugs"}]})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and "no theme 'knives'" in res.stderr and res.stderr.count("\n") == 1


def test_dual_surfaces_are_on_the_numerators_map(built):
    """Each dual surface is an overlay on its numerator theme's map, with its legend range: the
    log ratio and the difference on a diverging scale (the largest absolute value), the ratio
    from 0."""
    import re

    html = (built / "index.html").read_text(encoding="utf-8")
    for label in ("drugs ratio all_crime", "drugs log ratio all_crime", "robbery difference drugs"):
        assert html.count(f"Dual KDE: {label}") == 2  # the layer control name and the legend
    with rasterio.open(built / "dual_drugs_log_ratio_all_crime.tif") as src:
        lr = src.read(1)
    largest = float(np.nanmax(np.abs(lr)))
    m = re.search(r"Dual KDE: drugs log ratio all_crime</strong>[^<]*<br>\s*&minus;([\d,.]+) &ndash; ([\d,.]+)", html)
    assert m and float(m.group(1).replace(",", "")) == pytest.approx(largest, abs=0.006)


@pytest.mark.browser
def test_dual_layer_draws_offline(built):
    from test_html_offline import open_offline

    def inspect(page):
        control = page.locator(".leaflet-control-layers", has_text="Dual KDE: drugs log ratio").first
        control.scroll_into_view_if_needed()
        control.hover()  # the control is collapsed until hovered
        control.locator("label", has_text="Dual KDE: drugs log ratio all_crime").click()
        page.wait_for_timeout(300)
        return page.evaluate("""() => [...document.querySelectorAll('img.leaflet-image-layer')]
                                      .map(i => i.complete && i.naturalWidth > 0)""")

    shown, errors, blocked, _ = open_offline(built / "index.html", inspect)
    assert errors == [] and blocked == [] and shown == [True]
