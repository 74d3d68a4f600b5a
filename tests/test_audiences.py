"""Step 2, acceptance 5: restricted layers never reach partner or public outputs beyond
suppressed neighbourhood counts. Every output file of the demo is scanned."""

from __future__ import annotations

import json
import re
import struct

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from conftest import DATA, CATALOG, run_cli
from pyproj import Transformer

RESTRICTED = {
    "ocg_members": ("SYNTHETIC_ocg_members.csv", ["Nominal ID", "OCG ID"]),
    "cse_locations": ("SYNTHETIC_cse_locations.csv", ["Location ID"]),
    "vulnerable_persons": ("SYNTHETIC_vulnerable_persons.csv", ["Person ID"]),
    "repeat_offenders": ("SYNTHETIC_repeat_offenders.csv", ["Offender ID"]),
}
# and the nominal layer, which is not a point layer of the context (force outputs only)
ALL_RESTRICTED = {**RESTRICTED, "nominals": ("SYNTHETIC_nominals.csv", ["Nominal ID"])}
THRESHOLD = 5


@pytest.fixture(scope="module")
def secrets():
    """Every identifier and coordinate of the restricted layers, in the forms outputs could hold."""
    frames = {n: pd.read_csv(DATA / "restricted" / f, dtype=str) for n, (f, _) in ALL_RESTRICTED.items()}
    ids = sorted({v for n, (_, cols) in ALL_RESTRICTED.items() for c in cols for v in frames[n][c]})
    # A synthetic record at the postcode of a school shares the school's (open) point: not a leak.
    schools = set(pd.read_csv(DATA / "schools" / "edubase_2017_west_yorkshire_extract.csv", dtype=str)["Postcode"])
    xy = pd.concat([f.loc[~f["Postcode"].isin(schools), ["Easting", "Northing"]].astype(float)
                    for f in frames.values()]).drop_duplicates()
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(xy["Easting"].to_numpy(), xy["Northing"].to_numpy())
    texts = set()
    for x, y, lo, la in zip(xy["Easting"], xy["Northing"], lon, lat):
        texts.add(f"{x:.0f},{y:.0f}")
        texts.add(f"{x:.1f},{y:.1f}")
        for d in (4, 5, 6):
            texts.add(f"{lo:.{d}f},{la:.{d}f}")
            texts.add(f"{la:.{d}f},{lo:.{d}f}")
    binary = {struct.pack("<dd", x, y) for x, y in zip(xy["Easting"], xy["Northing"])}
    binary |= {struct.pack("<dd", lo, la) for lo, la in zip(lon, lat)}
    labels = [s["label"] for s in _catalog_layers().values() if s["sensitivity"] == "restricted"]
    return {"ids": ids, "texts": texts, "binary": binary, "labels": labels, "n_points": len(xy)}


def number_pairs(text: str) -> set[str]:
    """Every pair of numbers written next to each other ("a, b" or "a,b"), spaces removed:
    whole numbers only, so 53.7408 is not found inside 53.74081."""
    pairs = re.findall(r"(?<![\d.])(?=(-?\d+(?:\.\d+)?,\s?-?\d+(?:\.\d+)?)(?![\d.]))", text)
    return {p.replace(" ", "") for p in pairs}


def _catalog_layers():
    import yaml

    return yaml.safe_load(CATALOG.read_text(encoding="utf-8"))["layers"]


def _files(folder):
    return sorted(p for p in folder.iterdir() if p.is_file())


def test_the_secrets_are_real_targets(secrets, demo_root):
    """The scan must be able to find them: the force outputs do hold them."""
    force = demo_root / "force"
    html = (force / "index.html").read_text(encoding="utf-8")
    assert sum(i in html for i in secrets["ids"]) > 100
    gpkg = (force / "results.gpkg").read_bytes()
    s = json.loads((force / "summary.json").read_text(encoding="utf-8"))
    in_leeds = sum(s["context"][n]["in_district"] for n in RESTRICTED)
    assert sum(b in gpkg for b in secrets["binary"]) > 0.8 * in_leeds  # the Leeds points (some share a postcode)
    assert len(number_pairs(html) & secrets["texts"]) > 0.8 * in_leeds
    assert {"context_ocg_members_synthetic", "context_cse_locations_synthetic"} <= {
        n for n, _ in pyogrio.list_layers(force / "results.gpkg")}


@pytest.mark.parametrize("audience", ["partner", "public"])
def test_no_restricted_identifier_or_coordinate_in_any_output(secrets, demo_root, audience):
    folder = demo_root / audience
    files = _files(folder)
    assert {p.suffix for p in files} == {".html", ".json", ".gpkg", ".tif"}
    for path in files:
        raw = path.read_bytes()
        text = raw.decode("utf-8", errors="replace")
        leaked_ids = [i for i in secrets["ids"] if i in text]
        assert leaked_ids == [], (path.name, leaked_ids[:5])
        leaked_xy = sorted(number_pairs(text) & secrets["texts"])
        assert leaked_xy == [], (path.name, leaked_xy[:5])
        leaked_bin = sum(b in raw for b in secrets["binary"])
        assert leaked_bin == 0, (path.name, leaked_bin)
    layers = {n for n, _ in pyogrio.list_layers(folder / "results.gpkg")}
    assert not any(n.startswith(("context_ocg", "context_cse", "context_vulnerable", "context_repeat")) for n in layers)
    if audience == "public":  # not even the layers' names or labels
        for path in files:
            text = path.read_bytes().decode("utf-8", errors="replace")
            for word in [*secrets["labels"], *ALL_RESTRICTED, "SYNTHETIC_"]:
                assert word not in text, (path.name, word)


def _is_allowed(v) -> bool:
    """A figure a partner may see of a restricted layer: 0, suppressed ("<5", or "*" withheld to
    protect another), at least the threshold, a total given as its visible part ("35+"), or
    withheld altogether."""
    s = str(v)
    if s.endswith("+"):
        s = s[:-1]
        return s.isdigit() and (int(s) == 0 or int(s) >= THRESHOLD)
    return s in ("0", f"<{THRESHOLD}", "*", "withheld") or (s.isdigit() and int(s) >= THRESHOLD)


def test_partner_restricted_counts_are_suppressed(demo_root):
    folder = demo_root / "partner"
    s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert s["audience"] == "partner" and s["marking"] == "OFFICIAL-SENSITIVE"
    seen_suppressed = 0
    for name in RESTRICTED:
        c = s["context"][name]
        assert c["detail"] == "neighbourhood counts" and c["synthetic"] is True
        # nothing that could be differenced against the cells: no categories, no assignment
        # detail, no record account, no file names
        assert c["categories"] == {} and c["assignment"] == {}
        acc = s["layers"][name]
        assert (acc["read"], acc["used"], acc["dropped"], acc["notes"], acc["files"], acc["found"]) == (
            "withheld", "withheld", {}, {}, ["withheld"], {})
        cells = list(c["by_neighbourhood"].values())
        bad = [v for v in [c["in_district"], *cells] if not _is_allowed(v)]
        assert bad == [], (name, bad)
        hidden = [v for v in cells if v in (f"<{THRESHOLD}", "*")]
        seen_suppressed += len(hidden)
        if hidden:  # the total is only the visible part, so hidden cells cannot be derived
            assert c["in_district"] == f"{sum(int(v) for v in cells if v.isdigit())}+"
            assert len(hidden) >= 2  # never a single hidden cell beside a total
        assert all(isinstance(v, str) for v in cells)
    assert seen_suppressed > 20  # suppression really happened
    hoods = gpd.read_file(folder / "results.gpkg", layer="neighbourhoods").rename(
        columns=lambda c: c.replace("_synthetic", ""))
    for name in RESTRICTED:  # numbers, NULL where suppressed (tests/test_partner_gpkg.py)
        assert all(_is_allowed(int(v)) for v in hoods[name].dropna()), name
    # complementary suppression: never exactly one hidden neighbourhood in a layer
    for name in RESTRICTED:
        assert hoods[name].isna().sum() != 1
        assert (hoods[name].isna() == (hoods[f"{name}_suppressed"] != "none")).all()
    # the HTML table of restricted layers by neighbourhood: only allowed figures
    html = (folder / "index.html").read_text(encoding="utf-8")
    section = html[html.index("Restricted layers by neighbourhood"):html.index('id="deprivation"')]
    cells = re.findall(r'<td class="num">([^<]*)</td>', section.split("</thead>", 1)[1])
    assert cells and all(_is_allowed(c.replace("&lt;", "<")) for c in cells)


def test_partner_keeps_open_layers_at_point_level(demo_root):
    s = json.loads((demo_root / "partner" / "summary.json").read_text(encoding="utf-8"))
    assert s["context"]["schools"]["detail"] == "points"
    assert "context_schools" in {n for n, _ in pyogrio.list_layers(demo_root / "partner" / "results.gpkg")}


def test_markings_by_audience(demo_root):
    for audience, marking in (("force", "OFFICIAL-SENSITIVE"), ("partner", "OFFICIAL-SENSITIVE"), ("public", "OFFICIAL")):
        s = json.loads((demo_root / audience / "summary.json").read_text(encoding="utf-8"))
        assert s["marking"] == marking
        html = (demo_root / audience / "index.html").read_text(encoding="utf-8")
        assert html.count(f'role="note">{marking}</div>') == 2


def test_synthetic_data_is_marked_wherever_it_appears(demo_root):
    html = (demo_root / "force" / "index.html").read_text(encoding="utf-8")
    assert "Contains SYNTHETIC data, not real" in html and html.count(">SYNTHETIC<") >= 4
    s = json.loads((demo_root / "force" / "summary.json").read_text(encoding="utf-8"))
    assert all(s["context"][n]["synthetic"] for n in RESTRICTED)
    for n in RESTRICTED:
        pts = gpd.read_file(demo_root / "force" / "results.gpkg", layer=f"context_{n}_synthetic")
        assert len(pts) == s["context"][n]["in_district"] > 0
    for n, (f, _) in ALL_RESTRICTED.items():
        assert (pd.read_csv(DATA / "restricted" / f)["Synthetic"] == "SYNTHETIC - not real data").all()


def test_audience_must_be_given_with_restricted_layers(tmp_path):
    res = run_cli("build", "--catalog", str(CATALOG), "--district", "Leeds", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "restricted layers" in res.stderr and "--audience" in res.stderr
    res = run_cli("build", "--catalog", str(CATALOG), "--district", "Leeds", "--audience", "everyone")
    assert res.returncode == 2


def test_the_generator_reproduces_the_shipped_files(tmp_path):
    res = run_cli("synthesize", "--out", str(tmp_path))
    assert res.returncode == 0, res.stderr
    for _, (f, _) in ALL_RESTRICTED.items():
        assert (tmp_path / f).read_bytes() == (DATA / "restricted" / f).read_bytes(), f
    other = tmp_path / "other"
    assert run_cli("synthesize", "--out", str(other), "--seed", "7").returncode == 0
    assert (other / "SYNTHETIC_ocg_members.csv").read_bytes() != (DATA / "restricted" / "SYNTHETIC_ocg_members.csv").read_bytes()


def test_synthetic_records_follow_population_and_deprivation():
    """Placed where people live, more often in deprived LSOAs (as force data typically is)."""
    vp = pd.read_csv(DATA / "restricted" / "SYNTHETIC_vulnerable_persons.csv", dtype=str)
    pcs = pd.read_csv(DATA / "postcodes" / "ons_postcode_oa_lsoa_msoa_lad_may22_west_yorkshire.zip",
                      dtype=str, encoding="latin-1").set_index("pcds")["lsoa11cd"]
    imd = pd.read_csv(DATA / "deprivation" / "imd2019_lsoa11_ranks_deciles_west_yorkshire.csv").set_index("lsoa11_code")["IMD_decile"]
    deciles = imd.reindex(pcs.reindex(vp["Postcode"]).to_numpy()).to_numpy()
    assert np.isfinite(deciles).all()
    assert (deciles <= 2).mean() > 0.4  # WY residents in deciles 1-2: about 30%


def test_markings_travel_with_the_gis_files(demo_root):
    import sqlite3

    import rasterio

    for audience, marking in (("force", "OFFICIAL-SENSITIVE"), ("public", "OFFICIAL")):
        with rasterio.open(demo_root / audience / "kde_all_crime.tif") as src:
            assert src.tags()["marking"] == marking and src.tags()["audience"] == audience
        con = sqlite3.connect(demo_root / audience / "results.gpkg")
        descriptions = [d for (d,) in con.execute("select description from gpkg_contents")]
        con.close()
        assert descriptions and all(d.startswith(f"{marking}, for {audience}.") for d in descriptions)


def test_overriding_one_marking_keeps_the_others():
    from localprofile.catalog import ProfileSettings

    s = ProfileSettings(markings={"partner": "OFFICIAL"})
    assert s.marking_for("partner") == "OFFICIAL"
    assert s.marking_for("force") == "OFFICIAL-SENSITIVE"


def test_a_restricted_postcode_file_is_not_used_for_other_audiences(tmp_path):
    """The geocoder only uses postcode layers the audience may use."""
    from conftest import write_catalog

    cat = write_catalog(tmp_path, layers={"codepoint_open": {"sensitivity": "restricted"}})
    out = {}
    for audience in ("force", "public"):
        res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--audience", audience,
                      "--out", str(tmp_path / audience))
        assert res.returncode == 0, res.stderr
        out[audience] = json.loads((tmp_path / audience / "summary.json").read_text(encoding="utf-8"))
    assert out["force"]["layers"]["schools"]["used"] == 211
    assert "codepoint_open" not in out["public"]["layers"]
    # without Code-Point's coordinates no school can be placed: each drop is counted
    pub = out["public"]["layers"]["schools"]
    assert pub["used"] == 0 and sum(pub["dropped"].values()) == 214
