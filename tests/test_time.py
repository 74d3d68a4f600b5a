"""Time in the profile: change between periods, and emerging hot spots when months allow."""

from __future__ import annotations

import csv
import io
import json

import geopandas as gpd
import pandas as pd
import pytest
from conftest import lookup_rows, police_csv_text, read_police_rows, run_cli, write_catalog


def test_change_between_the_two_demo_months(demo_summary, demo_out):
    leeds = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds"}
    rows = [r for r in read_police_rows() if r["LSOA code"] in leeds and r["Crime type"] == "Drugs"]
    before = sum(r["Month"] == "2016-07" for r in rows)
    after = sum(r["Month"] == "2017-07" for r in rows)
    ch = demo_summary["themes"]["drugs"]["change"]
    assert (ch["before"], ch["after"], ch["from"]) == (before, after, "2017-07")
    assert ch["percent"] == pytest.approx(100 * (after / before - 1))
    from scipy.stats import binomtest

    assert ch["p"] == pytest.approx(binomtest(after, before + after, 0.5).pvalue, rel=1e-6)
    c = next(c for c in demo_summary["choices"] if c["what"] == "emerging hotspots")
    assert c["value"] == "not computed" and "needs at least 10 time steps; 2 were given" in c["why"]
    lsoa = gpd.read_file(demo_out / "results.gpkg", layer="lsoa")
    assert lsoa["change_drugs"].sum() == pytest.approx(after - before)
    # per LSOA: the percentage (blank below 5 crimes before) and the exact test, as scipy's
    by_lsoa = {}
    for r in rows:
        b, a = by_lsoa.get(r["LSOA code"], (0, 0))
        by_lsoa[r["LSOA code"]] = (b + (r["Month"] == "2016-07"), a + (r["Month"] == "2017-07"))
    lsoa = lsoa.set_index("lsoa_code")
    busiest = sorted(by_lsoa, key=lambda c: -sum(by_lsoa[c]))[:15]
    for code in busiest:
        b, a = by_lsoa[code]
        assert lsoa.loc[code, "change_p_drugs"] == pytest.approx(binomtest(a, a + b, 0.5).pvalue, rel=1e-9)
        if b >= 5:
            assert lsoa.loc[code, "change_pct_drugs"] == pytest.approx(100 * (a / b - 1))
        else:
            assert pd.isna(lsoa.loc[code, "change_pct_drugs"])
    quiet = lsoa.index.difference(list(by_lsoa))
    assert (lsoa.loc[quiet, "change_p_drugs"] == 1).all() and lsoa.loc[quiet, "change_pct_drugs"].isna().all()


@pytest.fixture(scope="module")
def ten_months(tmp_path_factory):
    """2017-07's real crimes dealt into ten months, 2017-01 to 2017-10 (a fixture for the time
    machinery: the months are not real)."""
    tmp = tmp_path_factory.mktemp("ten")
    cat = _ten_month_catalog(tmp)
    res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--out", str(tmp / "o"))
    assert res.returncode == 0, res.stderr
    return tmp / "o"


def _ten_month_catalog(tmp, **profile):
    rows = list(csv.reader(io.StringIO(police_csv_text("2017-07"))))
    header, body = rows[0], rows[1:]
    paths = []
    for k in range(10):
        month = f"2017-{k + 1:02d}"
        part = [[r[0], month, *r[2:]] for i, r in enumerate(body) if i % 10 == k]
        p = tmp / f"{month}-west-yorkshire-street.csv"
        with open(p, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *part])
        paths.append(str(p))
    return write_catalog(tmp, layers={"crimes": {"path": paths}}, profile=profile)


def test_emerging_hotspots_on_hexagons(tmp_path):
    """With grid_shape: hexagon the emerging hot spots are classified, mapped and counted on the
    hexagons the profile shows."""
    cat = _ten_month_catalog(tmp_path, grid_shape="hexagon")
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    e = s["themes"]["all_crime"]["emerging_hotspots"]
    h = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="hex_all_crime")
    assert e["cells"] == "hexagons" and len(h) == sum(e["arcgis"].values())
    assert h["emerging"].value_counts().to_dict() == e["arcgis"]
    assert h["emerging_sfhotspot"].value_counts().to_dict() == e["sfhotspot"]
    assert any(k != "No Pattern Detected" for k in e["arcgis"])
    g = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="grid_all_crime")
    assert g["emerging"].notna().all()  # the squares keep their own classes
    html = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    assert "emerging hot and cold spots (hexagons in the district)" in html


def test_emerging_hotspots_with_ten_months(ten_months):
    s = json.loads((ten_months / "summary.json").read_text())
    e = s["themes"]["all_crime"]["emerging_hotspots"]
    assert e is not None and sum(e["arcgis"].values()) == s["grid"]["cells_in_study_area"]
    assert any(k != "No Pattern Detected" for k in e["arcgis"])  # the city centre is hot throughout
    g = gpd.read_file(ten_months / "results.gpkg", layer="grid_all_crime")
    inside = g["in_study_area"].astype(bool)
    assert inside.all() and g["emerging"].notna().all()  # every district cell has a class
    c = next(c for c in s["choices"] if c["what"] == "emerging hotspots")
    assert c["value"] == "10 monthly time steps"
    assert s["themes"]["all_crime"]["change"]["months_before"] == 5
    # mapped too: one layer of the cells with a pattern, its legend listing exactly those patterns
    import re

    html = (ten_months / "index.html").read_text(encoding="utf-8")
    assert "Emerging hot and cold spots" in html
    patterns = set(g.loc[inside, "emerging"]) - {"No Pattern Detected"}
    legend = html.split("Emerging hot and cold spots</strong>")[1].split("<br><br>")[0]
    assert set(re.findall(r"</span>([^<]+)(?:<br>|$)", legend)) == patterns


def test_monthly_series_per_lsoa(demo_out, demo_summary):
    m = gpd.read_file(demo_out / "results.gpkg", layer="monthly_lsoa")
    for slug, t in demo_summary["themes"].items():
        mine = m[m["theme"] == slug]
        assert int(mine["crimes"].sum()) == t["crimes"]
        assert mine.groupby("month")["crimes"].sum().to_dict() == t["monthly"]


def test_surfaces_are_clipped_to_the_district_unless_asked(demo_out, tmp_path):
    import numpy as np
    import rasterio

    g = gpd.read_file(demo_out / "results.gpkg", layer="grid_all_crime")
    with rasterio.open(demo_out / "kde_all_crime.tif") as src:  # the finer KDE raster: k x k a cell
        k = round(float(src.tags()["gi_star_cell_size_m"]) / src.res[0])
        assert int(np.isfinite(src.read(1)).sum()) == k * k * int(g["in_study_area"].astype(bool).sum())
    # the Gi* z and the counts are surfaces too, cell for cell the grid layer's
    r, c = g["row"].to_numpy(), g["col"].to_numpy()
    for name, column in (("gi_z_all_crime.tif", "gi_z"), ("count_all_crime.tif", "count")):
        with rasterio.open(demo_out / name) as src:
            band = src.read(1)
            assert int(np.isfinite(band).sum()) == len(g)
            np.testing.assert_allclose(band[r, c], g[column].to_numpy(), rtol=1e-6)
    cat = write_catalog(tmp_path, profile={"clip_outputs": False})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    g2 = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="grid_all_crime")
    with rasterio.open(tmp_path / "o" / "kde_all_crime.tif") as src:
        k = round(float(src.tags()["gi_star_cell_size_m"]) / src.res[0])
        assert int(np.isfinite(src.read(1)).sum()) == k * k * len(g2)  # every cell that entered the analysis


def test_emerging_hotspots_refuse_months_with_a_gap(tmp_path):
    """Ten months, one missing in the middle: a trend over unequal steps would be a guess, so the
    profile says which month is missing instead of classifying."""
    rows = list(csv.reader(io.StringIO(police_csv_text("2017-07"))))
    header, body = rows[0], rows[1:]
    months = [f"2017-{k:02d}" for k in (1, 2, 3, 4, 5, 7, 8, 9, 10, 11)]  # 2017-06 missing
    paths = []
    for k, month in enumerate(months):
        p = tmp_path / f"{month}-west-yorkshire-street.csv"
        with open(p, "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([header, *[[r[0], month, *r[2:]] for i, r in enumerate(body) if i % 10 == k]])
        paths.append(str(p))
    cat = write_catalog(tmp_path, layers={"crimes": {"path": paths}})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    c = next(c for c in s["choices"] if c["what"] == "emerging hotspots")
    assert c["value"] == "not computed" and "not consecutive (1 missing" in c["why"] and "2017-06" in c["why"]
    assert s["themes"]["all_crime"]["emerging_hotspots"] is None
    html = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    assert "later period, 5 months (2017-07 to 2017-11)" in html
    assert "earlier, 5 months (2017-01 to 2017-05)" in html


def test_mann_kendall_on_real_monthly_lsoa_counts_matches_pymannkendall(ten_months):
    """The engine's vectorised Mann-Kendall on every Leeds LSOA's monthly counts (real crimes,
    small whole numbers, so many ties) against pymannkendall, series by series."""
    import numpy as np
    import pymannkendall as mk

    from localprofile.engine.trend import mann_kendall

    m = gpd.read_file(ten_months / "results.gpkg", layer="monthly_lsoa")
    m = m[m["theme"] == "all_crime"]
    cube = m.pivot_table(index="month", columns="lsoa_code", values="crimes", aggfunc="sum", fill_value=0)
    assert cube.shape[0] == 10 and cube.shape[1] > 400
    x = cube.to_numpy(float)
    r = mann_kendall(x)
    for j in range(0, x.shape[1], 7):  # every 7th LSOA: about 70 series
        ref = mk.original_test(x[:, j])
        assert r.S[j] == ref.s
        np.testing.assert_allclose([r.z[j], r.p[j]], [ref.z, ref.p], rtol=1e-10, atol=1e-14)
