"""The executive summary's key judgements, the SOC themes mapped to data and the intelligence
gaps (issue 10, sections 2, 3 and 9), checked against recounts of the raw files."""

from __future__ import annotations

import csv
import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import DATA, lookup_rows, read_police_rows
from scipy import stats

from localprofile.build import build_profile
from localprofile.render.html import render_html
from localprofile.render.summary import summary_dict

SOC_TYPES = {"Drugs", "Possession of weapons", "Robbery"}


@pytest.fixture(scope="module")
def profiles(leeds_profiles):
    return leeds_profiles


@pytest.fixture(scope="module")
def raw(leeds_police_rows) -> pd.DataFrame:
    """The shipped police.uk rows (``leeds`` marks Leeds' by LSOA code), projected to British National Grid."""
    return leeds_police_rows


def judgement(p, topic):
    return next(j for j in p.judgements if j.topic == topic)


def test_five_to_eight_judgements_each_with_a_confidence_and_its_reason(profiles):
    for audience, p in profiles.items():
        assert 5 <= len(p.judgements) <= 8, audience
        for j in p.judgements:
            assert j.confidence in ("high", "medium", "low") and len(j.why) > 20, (audience, j)
        topics = [j.topic for j in p.judgements]
        # restricted layers feed force judgements only
        assert ("force data" in topics) is (audience == "force")
        assert all(not j.restricted for j in p.judgements) or audience == "force"


def test_the_overall_change_matches_a_recount_of_the_raw_csv(profiles, raw):
    leeds = raw[raw["leeds"]]
    before, after = int((leeds["Month"] == "2016-07").sum()), int((leeds["Month"] == "2017-07").sum())
    pvalue = stats.binomtest(after, before + after, 0.5).pvalue
    pct = 100 * (after - before) / before
    for audience, p in profiles.items():
        j = judgement(p, "trend")
        assert (j.figures["before"], j.figures["after"]) == (before, after)
        assert f"{abs(pct):.1f}%" in j.text and f"{before:,} to {after:,}" in j.text
        assert ("rose" if after > before else "fell") in j.text
        assert ("unlikely to be chance" in j.text) is bool(pvalue < 0.05)
        # p-values for the force only; partners and the public read words
        assert ("p = " in j.text or "p < " in j.text) is (audience == "force"), j.text
        # two months: a trend cannot be trusted, and the reason says why
        assert j.confidence == "low" and "2 months" in j.why


def test_each_theme_change_is_called_chance_or_not_as_the_exact_test_says(profiles, raw):
    leeds = raw[raw["leeds"]]
    j = judgement(profiles["partner"], "theme change")
    for slug, crime_type in (("robbery", "Robbery"), ("drugs", "Drugs"), ("anti_social_behaviour", "Anti-social behaviour")):
        rows = leeds[leeds["Crime type"] == crime_type]
        b, a = int((rows["Month"] == "2016-07").sum()), int((rows["Month"] == "2017-07").sum())
        beyond = bool(stats.binomtest(a, a + b, 0.5).pvalue < 0.05)
        assert j.figures[slug]["beyond_chance"] is beyond, slug
        assert (f"{b:,} to {a:,}" in j.text) is beyond, (slug, j.text)  # only changes beyond chance are quantified
    assert "p =" not in j.text and j.confidence == "low"


def test_the_concentration_judgement_recounts_with_shapely(profiles, raw):
    p = profiles["force"]
    j = judgement(p, "concentration")
    slug = j.figures["theme"]
    assert slug == "soc_indicators"
    t, g = p.themes[slug], p.grid
    soc = raw[raw["Crime type"].isin(SOC_TYPES) & np.isfinite(raw["x"])]
    pts = shapely.points(soc["x"].to_numpy(), soc["y"].to_numpy())
    hot = shapely.union_all(g.cells(t.hotspot == "hot"))
    in_area = shapely.union_all(g.cells(g.in_area))
    n_hot, n_area = int(shapely.intersects(hot, pts).sum()), int(shapely.intersects(in_area, pts).sum())
    assert (j.figures["in_hot_cells"], j.figures["mapped"]) == (n_hot, n_area)
    assert f"{n_hot / n_area:.0%} of the {n_area:,} crimes" in j.text
    # the hot cells' share of the district's area, on the LSOA polygons of the boundary file
    b = gpd.read_file(DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").to_crs(27700)
    leeds = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds"}
    district = shapely.union_all(b[b["LSOA11CD"].isin(leeds)].geometry.to_numpy())
    share = shapely.intersection(hot, district).area / district.area
    assert j.figures["area_share"] == pytest.approx(share, abs=0.002)
    # the most deprived 10%: IMD 2019 decile 1 of each crime's LSOA
    with open(DATA / "deprivation" / "imd2019_lsoa11_ranks_deciles_west_yorkshire.csv", newline="", encoding="utf-8") as f:
        decile = {r["lsoa11_code"]: float(r["IMD_decile"]) for r in csv.DictReader(f)}
    mine = raw[raw["leeds"] & raw["Crime type"].isin(SOC_TYPES)]
    dep = float((mine["LSOA code"].map(decile) == 1).mean())
    assert j.figures["most_deprived_10pc"] == pytest.approx(dep, abs=5e-5)  # the profile keeps 4 decimals
    assert f"{dep:.0%} were in the most deprived 10%" in j.text
    # confidence: every crime has a map point, but only two months
    assert j.confidence == "medium" and "100% of its" in j.why and "2 months" in j.why
    # partners read plain words: no Gi* jargon
    assert "Gi*" in j.text and "Gi*" not in judgement(profiles["partner"], "concentration").text


def test_repeat_locations_and_the_busiest_map_points_recount_from_the_csv(profiles, raw):
    j = judgement(profiles["public"], "repeat locations")
    mine = raw[raw["leeds"] & raw["Crime type"].isin(SOC_TYPES) & np.isfinite(raw["x"])]
    at = mine.groupby(["Longitude", "Latitude"]).size()
    repeats = at[at >= 5]
    assert (j.figures["clusters"], j.figures["crimes_in_clusters"]) == (len(repeats), int(repeats.sum()))
    busiest = mine.groupby(["Location", "Longitude", "Latitude"]).size().sort_values(ascending=False)
    (loc, _, _), n = next(iter(busiest.items()))
    assert j.figures["top_locations"][0] == {"location": loc, "crimes": int(n)}
    assert f"{loc} ({n:,})" in j.text


def test_the_priority_judgement_names_the_overlays_top_and_its_drivers(profiles):
    for audience in ("force", "partner"):
        p = profiles[audience]
        j = judgement(p, "priority neighbourhoods")
        top = p.overlay.table.head(3)
        for _, r in top.iterrows():
            assert f"{r['name']} ({r.iloc[0]})" in j.text
        assert top.iloc[0]["why"].split(";")[0][1:].rstrip(".") in j.text
        stay = int(p.overlay.sensitivity.to_numpy().min())
        assert f"at least {stay} of the top {p.overlay.top}" in j.why
    # the force's ranking takes in SYNTHETIC restricted layers: low confidence, and it says so
    j = judgement(profiles["force"], "priority neighbourhoods")
    assert j.confidence == "low" and "SYNTHETIC" in j.why and j.restricted


def test_the_theme_priority_judgement_follows_the_theme_table(profiles):
    force, partner = judgement(profiles["force"], "theme priority"), judgement(profiles["partner"], "theme priority")
    top = profiles["force"].theme_scores.table.index[0]
    assert profiles["force"].themes[top].theme.label.split(" (")[0] in force.text
    assert "WORKED EXAMPLE" in force.text and force.confidence == "low"
    assert "data alone" in partner.text  # the force's scores are for the force only


def test_force_data_judgement_recounts_the_restricted_layers(profiles):
    j = judgement(profiles["force"], "force data")
    with open(DATA / "restricted" / "SYNTHETIC_cse_locations.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    pts = shapely.points([float(r["Easting"]) for r in rows], [float(r["Northing"]) for r in rows])
    b = gpd.read_file(DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").to_crs(27700)
    leeds = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds"}
    district = shapely.union_all(b[b["LSOA11CD"].isin(leeds)].geometry.to_numpy())
    n = int(shapely.contains(district, pts).sum())
    assert j.figures["cse_locations"]["in_district"] == n and f"{n:,} CSE locations" in j.text
    assert "SYNTHETIC" in j.text and j.confidence == "low"


def test_fraud_and_modern_slavery_read_no_data_loaded_in_every_audience(profiles):
    for audience, p in profiles.items():
        status = {s.slug: s.status for s in p.soc_themes}
        assert status["fraud"] == status["modern_slavery"] == "no data loaded", audience
        assert status["drugs_supply"] == status["weapons"] == "data loaded"
        gap = judgement(p, "intelligence gaps")
        assert {"fraud", "modern_slavery"} <= set(gap.figures["no_data"]) and gap.confidence == "high"
        html = render_html(p)
        section = re.search(r'<div id="soc-themes">(.*?)</div>', html, re.S).group(1)
        for label in ("Fraud and economic crime", "Modern slavery and human trafficking"):
            row = re.search(rf"<tr><td>{label}</td>\s*<td>(.*?)</td>", section, re.S).group(1)
            assert "No data loaded" in row, (audience, label)
        gaps = [g.text for g in p.gaps]
        assert "Fraud and economic crime: no data loaded." in gaps
    # CSE: force data for the force, held by the force for partners, no data in public outputs
    ex = {a: next(s for s in p.soc_themes if s.slug == "exploitation") for a, p in profiles.items()}
    assert (ex["force"].status, ex["partner"].status, ex["public"].status) == (
        "data loaded", "force data only", "no data loaded")
    assert ex["partner"].layers[0]["shown"].startswith("held by the force")


def test_a_soc_theme_maps_a_catalog_theme_by_its_crime_types(tmp_path):
    """A burglary theme added in the catalog joins organised acquisitive crime, and a catalog
    entry replaces a shipped SOC theme."""
    from conftest import write_catalog

    cat = write_catalog(tmp_path, themes={"burglary": {"label": "Burglary", "crime_types": ["Burglary"]}},
                        profile={"soc_themes": {"fraud": {"label": "Fraud", "keywords": ["school"]}},
                                 "cell_size_m": 1000.0, "bandwidth_m": 1000.0})
    p = build_profile(cat, "Calderdale")
    soc = {s.slug: s for s in p.soc_themes}
    assert [t["theme"] for t in soc["organised_acquisitive_crime"].themes] == ["robbery", "burglary"]
    rows = read_police_rows()
    calderdale = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Calderdale"}
    n = sum(r["Crime type"] == "Burglary" and r["LSOA code"] in calderdale for r in rows)
    assert soc["organised_acquisitive_crime"].themes[1]["crimes"] == n
    assert soc["fraud"].status == "data loaded" and soc["fraud"].layers[0]["layer"] == "schools"


def test_gaps_and_recommendations_come_from_the_data(profiles):
    p = profiles["partner"]
    text = " ".join(g.text for g in p.gaps)
    crimes = p.layers["crimes"].account
    assert f"crimes: {crimes.n_dropped:,} of {crimes.read:,} rows dropped" in text
    assert "Only 2 months (2016-07, 2017-07)" in text and "Census 2011" in text
    assert any("full year" in r for r in p.recommendations)
    assert any("SYNTHETIC" in g.text for g in p.gaps) and not any("SYNTHETIC" in g.text for g in profiles["public"].gaps)


def test_summary_json_carries_the_judgements(profiles):
    for audience, p in profiles.items():
        s = json.loads(json.dumps(summary_dict(p)))
        assert [j["text"] for j in s["key_judgements"]] == [j.text for j in p.judgements]
        assert {j["confidence"] for j in s["key_judgements"]} <= {"high", "medium", "low"}
        assert [t["slug"] for t in s["soc_themes"]][:2] == ["drugs_supply", "exploitation"]
        assert s["intelligence_gaps"] and s["recommendations"] == p.recommendations
        assert s["action_plan"]["unit"] == p.overlay.unit


def test_partner_and_public_outputs_hold_no_force_judgement_or_small_restricted_count(profiles):
    force = profiles["force"]
    secret = [j.text for j in force.judgements if j.restricted]
    assert secret
    threshold = force.settings.suppress_below
    for audience in ("partner", "public"):
        p = profiles[audience]
        html, summary = render_html(p), json.dumps(summary_dict(p), ensure_ascii=False)
        for text in secret:
            assert text not in summary and text.replace("'", "&#39;") not in html, audience
        assert "Force data in the district" not in html + summary
        for s in summary_dict(p)["soc_themes"]:
            for layer in s["layers"]:
                if layer["sensitivity"] == "restricted":
                    assert audience == "partner" and isinstance(layer["in_district"], str)
                    assert all(h["count"] >= threshold for h in layer["top_neighbourhoods"])
