"""Issue 10: maps a partner can read offline. Place names recounted from the raw files, no
restricted label, the roads basemap from a GeoPackage made of real boundaries, the colours, and
the rule that keeps one or two crimes out of the top rate class."""

from __future__ import annotations

import colorsys
import csv
import io
import json
import re
import zipfile
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import DATA, THEMES, lookup_rows, read_police_rows, write_catalog
from pyproj import Transformer

from localprofile.render import maps
from localprofile.stages import orientation as stage

TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)


def orientation_of(html: str) -> dict:
    """The labels and roads embedded in a report (window.localprofileOrientation)."""
    m = re.search(r"window\.localprofileOrientation = (\{.*?\});</script>", html, re.S)
    assert m, "no orientation data in the report"
    return json.loads(m.group(1))


def labels_of(data: dict) -> pd.DataFrame:
    kinds = [k[0] for k in data["kinds"]]
    return pd.DataFrame({"kind": [kinds[k] for k in data["k"]], "name": [data["names"][n] for n in data["n"]],
                         "lat": np.array(data["lat"]) / 1e5, "lon": np.array(data["lon"]) / 1e5})


@pytest.fixture(scope="module")
def leeds_polygon():
    """Leeds as the union of its LSOAs in the shipped boundaries, by the shipped lookup."""
    codes = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds"}
    b = gpd.read_file(DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").to_crs(27700)
    poly = shapely.union_all(shapely.make_valid(b.loc[b["LSOA11CD"].isin(codes), "geometry"].to_numpy()))
    assert len(codes) == 482
    return poly


@pytest.fixture(scope="module")
def partner(demo_root) -> tuple[str, pd.DataFrame]:
    html = (demo_root / "partner" / "index.html").read_text(encoding="utf-8")
    return html, labels_of(orientation_of(html))


def _codepoint_units() -> pd.DataFrame:
    with zipfile.ZipFile(DATA / "postcodes" / "codepoint_open_2025_west_yorkshire.zip") as zf:
        name = next(n for n in zf.namelist() if n.endswith(".csv"))
        cp = pd.read_csv(zf.open(name))
    return cp[cp["Positional_quality_indicator"] != 90]


def test_postcode_sector_and_district_labels_recounted_from_the_raw_postcode_file(partner, leeds_polygon):
    """Each sector ("LS6 1") and district ("LS6") label sits at the mean position of its live
    unit postcodes inside Leeds (the shipped ONS directory has no coordinates, so Code-Point
    Open places every unit): recounted from the raw CSV with pandas and shapely."""
    _, labels = partner
    cp = _codepoint_units()
    inside = shapely.contains_xy(leeds_polygon, cp["Eastings"].to_numpy(float), cp["Northings"].to_numpy(float))
    cp = cp[inside]
    pc = cp["Postcode"].str.replace(r"\s+", "", regex=True)
    for kind, key in (("postcode_sector", pc.str[:-3] + " " + pc.str[-3]), ("postcode_district", pc.str[:-3])):
        want = cp.groupby(key.to_numpy())[["Eastings", "Northings"]].mean()
        lon, lat = TO_WGS84.transform(want["Eastings"].to_numpy(), want["Northings"].to_numpy())
        got = labels[labels["kind"] == kind].set_index("name")
        assert sorted(got.index) == sorted(want.index)
        got = got.loc[want.index]
        assert np.abs(got["lat"].to_numpy() - lat).max() < 1.5e-5  # the JSON's metre rounding
        assert np.abs(got["lon"].to_numpy() - lon).max() < 1.5e-5
    assert {"LS1 1", "LS6 1", "LS1", "LS6"} <= set(labels["name"])


def test_lsoa_msoa_and_school_names_are_labels(partner, leeds_polygon):
    _, labels = partner
    rows = [r for r in lookup_rows() if r["Local authority name"] == "Leeds"]
    lsoa, msoa = {r["LSOA Name"] for r in rows}, {r["MSOA Name"] for r in rows}
    assert len(lsoa) == 482 and len(msoa) == 107
    assert set(labels.loc[labels["kind"] == "lsoa", "name"]) == lsoa
    assert set(labels.loc[labels["kind"] == "msoa", "name"]) == msoa
    # schools: the open establishments of the raw EduBase extract whose postcode Code-Point puts in Leeds
    with open(DATA / "schools" / "edubase_2017_west_yorkshire_extract.csv", newline="", encoding="utf-8-sig") as f:
        schools = [r for r in csv.DictReader(f) if not r["Establishment status"].lower().startswith("closed")]
    cp = _codepoint_units().set_index("Postcode")
    want = set()
    for r in schools:
        if r["Postcode"] in cp.index:
            e, n = cp.loc[r["Postcode"], ["Eastings", "Northings"]]
            if shapely.contains_xy(leeds_polygon, float(e), float(n)):
                want.add(r["Establishment name"])
    assert len(want) > 30
    assert set(labels.loc[labels["kind"] == "school", "name"]) == want


def test_map_point_labels_are_the_police_uk_locations_of_leeds(partner):
    _, labels = partner
    rows = [r for r in read_police_rows() if r["LSOA name"].startswith("Leeds ") and r["Longitude"]]
    names = Counter(r["Location"] for r in rows)
    got = labels.loc[labels["kind"] == "map_point", "name"]
    assert got.str.startswith("On or near ").all()
    assert set(got) <= set(names)
    assert len(set(got)) > 0.9 * len(names)  # nearly every named point (a few lie outside the polygon)
    # the busiest map point (name and position) comes first
    points = Counter((r["Location"], float(r["Latitude"]), float(r["Longitude"])) for r in rows)
    (name, lat, lon), _ = points.most_common(1)[0]
    first = labels[labels["kind"] == "map_point"].iloc[0]
    assert first["name"] == name and abs(first["lat"] - lat) < 2e-5 and abs(first["lon"] - lon) < 2e-5


def test_no_restricted_value_ever_becomes_a_label(demo_root):
    """Partner and public labels are the same (the public build never reads a restricted layer),
    and no value of a restricted file is a label in any audience."""
    html = {a: (demo_root / a / "index.html").read_text(encoding="utf-8") for a in ("force", "partner", "public")}
    data = {a: orientation_of(h) for a, h in html.items()}
    assert data["partner"] == data["public"]
    assert data["force"] == data["public"]  # labels come from open layers only, whatever the audience
    restricted = set()
    for f in (DATA / "restricted").glob("SYNTHETIC_*.csv"):
        with open(f, newline="", encoding="utf-8") as fh:
            for r in csv.DictReader(fh):
                restricted |= {v for k, v in r.items() if v and k not in {"Synthetic", "District"}}
    names = set(data["partner"]["names"])
    assert restricted and not (names & restricted)


def test_label_text_is_escaped_for_the_script_it_sits_in():
    labels = gpd.GeoDataFrame({"kind": ["school"], "name": ['</script><img src=x onerror="alert(1)"> & Co'],
                               "rank": [0]}, geometry=[shapely.Point(430000, 433000)], crs=27700)
    o = stage.Orientation(labels, None, {})
    text = maps.orientation_json(type("P", (), {"orientation": o})())
    assert "<" not in text and ">" not in text and "&" not in text
    assert json.loads(text)["names"] == ['</script><img src=x onerror="alert(1)"> & Co']


def _hue(colour: str) -> tuple[float, float]:
    r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
    h, _, v = colorsys.rgb_to_hsv(r, g, b)
    return h * 360, colorsys.rgb_to_hsv(r, g, b)[1]


def _apart(a: float, b: float) -> float:
    d = abs(a - b) % 360
    return min(d, 360 - d)


def test_hot_and_cold_cells_are_of_other_hue_families_than_the_choropleth():
    hot, cold = _hue(maps.HOT)[0], _hue(maps.COLD)[0]
    assert _apart(hot, cold) > 120
    for c in maps.CHOROPLETH:
        h, s = _hue(c)
        if s > 0.25:  # the near-white "0" class has no hue to confuse
            assert _apart(h, hot) >= 50 and _apart(h, cold) >= 50, c
    # the ramp is one family (yellow to green) and the LISA classes stay apart from it and each other
    hues = [_hue(c)[0] for c in maps.CHOROPLETH if _hue(c)[1] > 0.25]
    assert max(hues) - min(hues) < 90
    lisa = list(maps.LISA_COLOURS.values())
    assert len(set(lisa)) == 4
    for c in lisa:
        assert min(_apart(_hue(c)[0], h) for h in hues) >= 40, c


def _lsoa_layers(html: str) -> list[list[dict]]:
    """The LSOA choropleth's features of each theme map, in page order."""
    dec, out = json.JSONDecoder(), []
    for m in re.finditer(r"_add\(\{", html):
        obj, _ = dec.raw_decode(html, m.end() - 1)
        feats = obj.get("features", [])
        if feats and {"fill", "lsoa_code", "crimes", "rate"} <= set(feats[0]["properties"]):
            out.append([f["properties"] for f in feats])
    return out


def test_one_or_a_few_crimes_never_put_an_lsoa_in_the_top_class(partner):
    """Recount each LSOA's crimes of a rare type from the raw police.uk rows: every LSOA the map
    fills with the darkest class has at least MIN_TOP_CRIMES of them, and the rule matters (some
    LSOA with fewer has a rate in the top quantile class)."""
    html, _ = partner
    layers = dict(zip(THEMES, _lsoa_layers(html)))
    assert set(layers) == set(THEMES)
    rows = read_police_rows()
    pop = pd.read_csv(DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv",
                      thousands=",")
    people = pop.set_index("LSOA Code")["Persons"]  # usual residents (the first "Persons" column)
    bound = 0
    for slug, crime_type in (("drugs", "Drugs"), ("possession_of_weapons", "Possession of weapons"),
                             ("robbery", "Robbery")):
        counts = Counter(r["LSOA code"] for r in rows if r["Crime type"] == crime_type)
        feats = layers[slug]
        top = [f for f in feats if f["fill"] == maps.CHOROPLETH[-1]]
        assert top, slug
        assert all(counts[f["lsoa_code"]] >= stage.MIN_TOP_CRIMES for f in top), slug
        # without the rule: rate above the top class's lower bound on fewer crimes
        low_top = min(counts[f["lsoa_code"]] / people[f["lsoa_code"]] * 1000 for f in top)
        bound += sum(1 for f in feats if 0 < counts[f["lsoa_code"]] < stage.MIN_TOP_CRIMES
                     and counts[f["lsoa_code"]] / people[f["lsoa_code"]] * 1000 > low_top)
    assert bound > 0


def test_the_rate_class_rule_is_a_recorded_choice(demo_root):
    summary = json.loads((demo_root / "partner" / "summary.json").read_text(encoding="utf-8"))
    text = json.dumps(summary)
    assert "map rate classes" in text and f"at least {stage.MIN_TOP_CRIMES} crimes" in text
    assert "map place names" in text


# --- the offline roads basemap --------------------------------------------------------------


@pytest.fixture(scope="module")
def roads_build(tmp_path_factory):
    """A public Leeds build whose catalog has a roads layer: a GeoPackage of lines made from the
    exterior rings of every shipped West Yorkshire LSOA boundary, each named by its LSOA."""
    from localprofile.build import build_profile
    from localprofile.render.html import render_html

    tmp = tmp_path_factory.mktemp("roads")
    b = gpd.read_file(DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").to_crs(27700)
    name = next(c for c in b.columns if c.upper() == "LSOA11NM")
    polys = shapely.get_parts(b.geometry.to_numpy())
    owner = np.repeat(np.arange(len(b)), shapely.get_num_geometries(b.geometry.to_numpy()))
    xy, ring = shapely.get_coordinates(shapely.get_exterior_ring(polys), return_index=True)
    rings = shapely.linestrings(xy, indices=ring)  # LineStrings (a GeoPackage has no LinearRing)
    roads = gpd.GeoDataFrame({"name_1": b[name].to_numpy()[owner], "road_classification": "Unclassified"},
                             geometry=rings, crs=27700)
    path = tmp / "open_roads_test.gpkg"
    roads.to_file(path, layer="road_link", driver="GPKG")
    catalog = write_catalog(tmp, layers={"roads": {
        "adapter": "roads", "path": str(path), "vintage": "test: LSOA 2011 rings", "licence": "OGL v3.0",
        "attribution": "Contains OS data", "sensitivity": "open"}})
    p = build_profile(catalog, "Leeds", audience="public")
    html = render_html(p)
    (tmp / "index.html").write_text(html, encoding="utf-8")  # for the browser test, on any worker
    return p, html, roads, tmp


def test_roads_are_clipped_to_the_district_and_its_buffer_and_embedded(roads_build, leeds_polygon):
    p, html, raw, tmp = roads_build
    o = p.orientation
    assert o.roads is not None and len(o.roads)
    buffer = leeds_polygon.buffer(_buffer(p) + 1)
    assert shapely.within(o.roads.geometry.to_numpy(), buffer).all()
    # a Bradford LSOA's ring, 10 km off, is not drawn; a central Leeds one is, and named at street zoom
    data = orientation_of(html)
    labels = labels_of(data)
    roads = set(labels.loc[labels["kind"] == "road", "name"])
    assert "Leeds 111B" in roads
    far = raw[raw["name_1"] == "Bradford 001A"].geometry.iloc[0]
    assert far.distance(leeds_polygon) > _buffer(p)
    assert "Bradford 001A" not in roads
    # the embedded lines decode to the stage's roads (vertex count) within the budget
    assert sum(data["roads"]["len"]) == int(shapely.get_num_coordinates(
        shapely.get_parts(o.roads.geometry.to_numpy())).sum()) <= stage.MAX_ROAD_VERTICES
    assert any(c.what == "offline basemap" for c in p.choices)


def _buffer(p) -> float:
    return next(float(c.value) for c in p.choices if c.what == "grid buffer (m)")


def test_roads_make_the_report_only_a_little_larger(roads_build, demo_root):
    _, html, _, _ = roads_build
    plain = (demo_root / "public" / "index.html").stat().st_size
    assert len(html.encode()) - plain < 1_000_000


def test_roads_adapter_reads_any_ogr_lines_file_with_a_record_account(tmp_path):
    from localprofile.catalog import LayerSpec
    from localprofile.layers import roads

    gdf = gpd.GeoDataFrame({"name": ["Kirkstall Road", "", None], "class": ["A Road", "B Road", None]},
                           geometry=[shapely.LineString([(0, 0), (1, 1)]), shapely.LineString([(1, 1), (2, 2)]),
                                     shapely.Polygon([(0, 0), (1, 0), (1, 1)])], crs=4326)
    gdf.to_file(tmp_path / "r.geojson")
    spec = LayerSpec(adapter="roads", path="r.geojson", vintage="v", licence="l", attribution="a", sensitivity="open")
    data = roads.load([tmp_path / "r.geojson"], spec)
    assert data.frame.crs.to_epsg() == 27700
    assert data.frame["name"].tolist()[:1] == ["Kirkstall Road"] and pd.isna(data.frame["name"].iloc[1])
    assert data.frame["road_class"].tolist() == ["A Road", "B Road"]
    assert (data.account.read, data.account.used, data.account.dropped) == (3, 2, {"not a line": 1})


@pytest.mark.browser
def test_the_roads_basemap_draws_offline(roads_build):
    from test_html_offline import open_offline

    _, _, _, tmp = roads_build

    def inspect(page):
        return page.evaluate("""() => {
            const m = document.querySelector('.folium-map.leaflet-container');
            const pane = m.querySelector('.leaflet-basemap-pane');
            const label = [...m.querySelectorAll('.leaflet-control-layers label')].map(l => l.textContent.trim());
            return {paths: pane ? pane.querySelectorAll('path').length : -1, labels: label,
                    legend: [...document.querySelectorAll('.legend [data-layer="roads"]')]
                            .map(e => e.hidden)};
        }""")

    facts, errors, blocked, _ = open_offline(tmp / "index.html", inspect)
    assert errors == [] and blocked == []
    assert facts["paths"] == 1  # one grey polyline of every road, beneath the other layers
    assert "Roads (offline basemap)" in facts["labels"]
    assert facts["legend"] and not any(facts["legend"])  # on by default: its legend part shows
