"""Districts with gaps in their data, rebuilt output folders, and catalog text in the map."""

from __future__ import annotations

import csv
import json
import re
from html.parser import HTMLParser

import geopandas as gpd
import pytest
from conftest import DATA, lookup_rows, read_police_rows, run_cli, write_catalog


def visible_text(html: str) -> str:
    """The text a reader sees: everything outside script and style elements."""

    class _Text(HTMLParser):
        skip, parts = 0, []

        def handle_starttag(self, tag, attrs):
            self.skip += tag in ("script", "style")

        def handle_endtag(self, tag):
            self.skip -= tag in ("script", "style")

        def handle_data(self, data):
            if not self.skip:
                self.parts.append(data)

    p = _Text()
    p.feed(html)
    return " ".join(p.parts)


@pytest.fixture(scope="module")
def gappy(tmp_path_factory):
    """Calderdale with 5 LSOAs missing from the boundary file and 3 more without population."""
    tmp = tmp_path_factory.mktemp("gappy")
    cald = sorted(r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Calderdale")
    no_bounds, no_pop = set(cald[:5]), set(cald[5:8])
    gj = json.loads((DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").read_text(encoding="utf-8"))
    gj["features"] = [f for f in gj["features"] if f["properties"]["LSOA11CD"] not in no_bounds]
    (tmp / "b.geojson").write_text(json.dumps(gj), encoding="utf-8")
    src = DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv"
    with open(src, newline="", encoding="utf-8") as f:
        rows = [r for r in csv.reader(f) if r[6] not in no_pop]
    with open(tmp / "c.csv", "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    cat = write_catalog(tmp, layers={
        "lsoa_boundaries": {"path": str(tmp / "b.geojson")},
        "census_population": {"path": str(tmp / "c.csv")},
        "crimes": {"path": str(DATA / "police_uk" / "2016-07.zip")},
    })
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp / "out"))
    assert res.returncode == 0, res.stderr
    pops = {r[6]: int(r[9].replace(",", "")) for r in rows[1:]}
    return tmp / "out", set(cald), no_bounds, no_pop, pops


def test_every_crime_is_in_an_lsoa_row(gappy):
    out, cald, no_bounds, _, _ = gappy
    s = json.loads((out / "summary.json").read_text())
    lsoa = gpd.read_file(out / "results.gpkg", layer="lsoa")
    assert set(lsoa["lsoa_code"]) == cald  # all 128, drawn or not
    assert lsoa.loc[lsoa["lsoa_code"].isin(no_bounds)].geometry.isna().all()
    for slug, t in s["themes"].items():
        assert int(lsoa[f"count_{slug}"].sum()) == t["crimes"], slug
    n = sum(1 for r in read_police_rows() if r["Month"] == "2016-07" and r["LSOA code"] in cald)
    assert s["themes"]["all_crime"]["crimes"] == n
    whats = {c["what"]: c["value"] for c in s["choices"]}
    assert whats["LSOAs without a boundary"] == 5
    assert whats["LSOAs without a population figure"] == 3


def test_rate_uses_the_same_lsoas_above_and_below_the_line(gappy):
    out, _, _, no_pop, pops = gappy
    s = json.loads((out / "summary.json").read_text())
    lsoa = gpd.read_file(out / "results.gpkg", layer="lsoa")
    with_pop = ~lsoa["lsoa_code"].isin(no_pop)
    residents = sum(pops[c] for c in lsoa.loc[with_pop, "lsoa_code"])
    assert s["population"] == residents
    expected = 1000 * lsoa.loc[with_pop, "count_all_crime"].sum() / residents
    assert s["themes"]["all_crime"]["rate_per_1000"] == pytest.approx(expected, abs=1e-3)
    text = visible_text((out / "index.html").read_text(encoding="utf-8"))
    assert "Calderdale" in text and not re.search(r"\bnan\b", text, re.IGNORECASE)


def test_rebuilding_with_fewer_themes_leaves_no_stale_surface(tmp_path):
    out = tmp_path / "out"
    cat = write_catalog(tmp_path, layers={"crimes": {"path": str(DATA / "police_uk" / "2017-07.zip")}})
    assert run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(out)).returncode == 0
    assert (out / "kde_robbery.tif").exists()
    (out / "analyst_notes.txt").write_text("mine")
    cat = write_catalog(tmp_path, layers={"crimes": {"path": str(DATA / "police_uk" / "2017-07.zip")}},
                        themes={"robbery": None})
    assert run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(out)).returncode == 0
    assert not (out / "kde_robbery.tif").exists() and (out / "kde_drugs.tif").exists()
    assert (out / "analyst_notes.txt").read_text() == "mine"


def test_basemap_attribution_is_escaped(tmp_path):
    evil = '<img src=x onerror="alert(3)">'
    cat = write_catalog(tmp_path, layers={"crimes": {"path": str(DATA / "police_uk" / "2017-07.zip")}},
                        profile={"basemap_tiles": "https://tiles.example/{z}/{x}/{y}.png",
                                 "basemap_attribution": evil})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    html = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    assert evil not in html and "<img src=x" not in html
    assert "\\u0026lt;img src=x" in html  # escaped once for HTML, then JSON-encoded by folium


def test_a_theme_without_crimes_in_the_district_builds_and_says_why_lisa_is_missing(tmp_path):
    """police.uk has no "Violent crime" type since 2013: the theme has no crimes, its LSOA rates
    are all 0, and local Moran's I is undefined: the build says so instead of failing."""
    import json

    from conftest import run_cli, write_catalog

    cat = write_catalog(tmp_path, themes={"violent_crime": {"label": "Violent crime", "crime_types": ["Violent crime"]},
                                          "drugs": {"label": "Drugs", "crime_types": ["Drugs"]}})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert s["themes"]["violent_crime"]["crimes"] == 0
    assert any(c["what"] == "LISA, violent_crime" and c["value"] == "not computed" for c in s["choices"])
