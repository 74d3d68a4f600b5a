"""The 4P action plan (issue 10, section 8): data-driven prompts recounted with shapely and the
raw police.uk CSV, the plan file's text escaped, a bad plan file one line, and force-only
prompts kept from partners and the public."""

from __future__ import annotations

import dataclasses
import json
import re

import numpy as np
import pandas as pd
import pytest
import shapely
from conftest import CATALOG, one_line_error, run_cli, write_catalog

from localprofile.render.html import render_html
from localprofile.render.summary import summary_dict
from localprofile.stages.action_plan import P_STAGES, action_plan, load_plan

THEME_TYPES = {"soc_indicators": {"Drugs", "Possession of weapons", "Robbery"},
               "anti_social_behaviour": {"Anti-social behaviour"}}


@pytest.fixture(scope="module")
def profiles(leeds_profiles):
    return leeds_profiles


@pytest.fixture(scope="module")
def raw(leeds_police_rows) -> pd.DataFrame:
    """The shipped police.uk rows (``leeds`` marks Leeds' by LSOA code), projected to British National Grid."""
    return leeds_police_rows


def rows_of(plan, theme=None):
    return [(n, r) for n in plan.neighbourhoods for r in n.rows if theme is None or r.theme == theme]


def prompts(plan, p_stage):
    return [(n, r, pr) for n, r in rows_of(plan) if r.p == p_stage for pr in r.prompts]


def test_every_top_neighbourhood_gets_a_four_p_table_per_theme(profiles):
    for audience, p in profiles.items():
        plan = p.action_plan
        top = [str(c) for c in p.overlay.table.iloc[: p.overlay.top, 0]]
        assert [n.code for n in plan.neighbourhoods][: len(top)] == top
        for n in plan.neighbourhoods[: len(top)]:
            got = {(r.theme, r.p) for r in n.rows if r.theme != "force_data"}
            assert got == {(t, s.title()) for t in THEME_TYPES for s in P_STAGES}, (audience, n.code)
        assert sum(len(r.prompts) for _, r in rows_of(plan)) > 2 * len(top)  # the data fills it


def test_schools_near_hot_cells_recount_with_shapely(profiles):
    for audience in ("force", "partner"):
        p = profiles[audience]
        schools = p.context["schools"].points
        unit_of = (pd.Series(p.lsoa["lsoa_code"].to_numpy(), index=p.lsoa["lsoa_code"].to_numpy())
                   if p.overlay.unit == "LSOA" else p.neighbourhoods.lsoa_to_code)
        d = p.settings.overlay.near_hot_cells_m
        checked = 0
        for n in p.action_plan.neighbourhoods:
            for slug in THEME_TYPES:
                boxes = p.grid.cells(p.themes[slug].hotspot == "hot")
                mine = schools[(schools["lsoa_code"].map(unit_of) == n.code).to_numpy()]
                dist = shapely.distance(mine.geometry.to_numpy()[:, None], boxes[None, :]).min(axis=1) if len(mine) else []
                expected = int((np.asarray(dist) <= d).sum())
                row = next(r for r in n.rows if r.theme == slug and r.p == "Prevent")
                got = [pr for pr in row.prompts if pr.figures.get("layer") == "schools"]
                if expected:
                    assert got and got[0].figures["count"] == expected, (audience, n.code, slug)
                    assert got[0].text.startswith(f"Schools: {expected} within {d:,.0f} m of the ")
                    assert f"hot spots in {n.name}" in got[0].text and "Prevent — school liaison" in got[0].text
                    checked += 1
                else:
                    assert not got
        assert checked >= 3, audience  # the demo's top neighbourhoods do have schools near hot cells


def test_pursue_map_points_recount_from_the_raw_csv(profiles, raw):
    p = profiles["partner"]
    g = p.grid
    found = 0
    for n, r, pr in prompts(p.action_plan, "Pursue"):
        hot = p.themes[r.theme].hotspot == "hot"
        geom = p.overlay.table.set_index(p.overlay.table.columns[0]).geometry[n.code]
        for loc in pr.figures["locations"]:
            at = raw[raw["Crime type"].isin(THEME_TYPES[r.theme]) & (raw["Location"] == loc["location"])
                     & (np.hypot(raw["x"] - loc["x"], raw["y"] - loc["y"]) < 0.01)]
            assert len(at) == loc["crimes"], (n.code, loc)
            col, row = int((loc["x"] - g.x0) // g.cell_size), int((g.y1 - loc["y"]) // g.cell_size)
            assert hot[row, col] and geom.contains(shapely.Point(loc["x"], loc["y"]))
            assert f"{loc['location']} ({loc['crimes']:,})" in pr.text
            found += 1
    assert found >= 10


def test_protect_repeat_locations_recount_from_the_raw_csv(profiles, raw):
    p = profiles["partner"]
    table = p.overlay.table.set_index(p.overlay.table.columns[0])
    checked = 0
    for n in p.action_plan.neighbourhoods[: p.overlay.top]:
        geom = table.geometry[n.code]
        for slug, types in THEME_TYPES.items():
            mine = raw[raw["leeds"] & raw["Crime type"].isin(types) & np.isfinite(raw["x"])]
            at = mine.groupby(["x", "y"]).size()
            at = at[at >= 5]
            xy = np.array(at.index.tolist()) if len(at) else np.empty((0, 2))
            inside = shapely.contains_xy(geom, xy[:, 0], xy[:, 1]) if len(at) else np.array([], bool)
            row = next(r for r in n.rows if r.theme == slug and r.p == "Protect")
            if inside.any():
                f = row.prompts[0].figures
                assert (f["repeat_locations"], f["crimes"]) == (int(inside.sum()), int(at[inside].sum()))
                checked += 1
            else:
                assert not row.prompts
    assert checked >= 2


def test_the_demo_plan_files_text_is_shown_escaped(profiles):
    html = render_html(profiles["force"])
    section = re.search(r'<section id="action-plan">(.*?)</section>', html, re.S).group(1)
    assert "<h2>8. 4P action plan</h2>" in section and "WORKED EXAMPLE" in section
    assert "Target hardening &amp; CCTV review at the repeat locations" in section
    assert "Target hardening & CCTV" not in section
    # the public profile is not among the demo plan's audiences: prompts only
    public = render_html(profiles["public"])
    assert "Youth diversion offer" not in public and "Pursue — targeted patrols" in public


def test_plan_text_with_markup_is_escaped(profiles, tmp_path):
    p = profiles["partner"]
    code = p.action_plan.neighbourhoods[0].code
    f = tmp_path / "plan.yaml"
    f.write_text(f"""version: 1
plan:
  {code}:
    anti_social_behaviour:
      prepare:
        action: "<script>alert('x')</script> & <b>bold</b>"
        owner: "O'Brien <owner@example.org>"
        due: 2026-06-30
""", encoding="utf-8")
    plan, _ = action_plan(p, load_plan(f, themes=list(p.themes)))
    row = next(r for r in plan.neighbourhoods[0].rows if r.theme == "anti_social_behaviour" and r.p == "Prepare")
    assert row.entries[0]["due"] == "2026-06-30"
    html = render_html(dataclasses.replace(p, action_plan=plan))
    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
    assert "O&#39;Brien &lt;owner@example.org&gt;" in html


@pytest.mark.parametrize("text, key, needle", [
    ("version: 1\nplan:\n  E02002415:\n    drugs:\n      pursue: {action: x, ownr: y}\n",
     "plan.E02002415.drugs.pursue.0.ownr", "unknown key"),
    ("version: 1\nplan:\n  E02002415:\n    drugs:\n      pursuit: {action: x}\n",
     "plan.E02002415.drugs.pursuit", "not one of pursue"),
    ("version: 1\nplan:\n  E02002415:\n    drugs:\n      prevent: {action: x, due: next week}\n",
     "plan.E02002415.drugs.prevent.0.due", "date"),
    ("version: 1\nplan:\n  E02002415:\n    burglary:\n      protect: {action: x}\n",
     "plan.E02002415.burglary", "unknown theme"),
    ("version: 1\nplan:\n  E02002415:\n    drugs:\n      prepare: {owner: y}\n",
     "plan.E02002415.drugs.prepare.0.action", "required key is missing"),
    ("version: 2\n", "version", "1"),
])
def test_a_bad_plan_file_is_one_line_naming_file_and_key(tmp_path, text, key, needle):
    bad = tmp_path / "my_plan.yaml"
    bad.write_text(text, encoding="utf-8")
    cat = write_catalog(tmp_path, profile={"plan": str(bad)})
    for args in (("build", "--district", "Leeds", "--out", str(tmp_path / "out")), ("validate",)):
        one_line_error(run_cli(*args, "--catalog", str(cat)), "my_plan.yaml", f"key '{key}'", needle)
    assert not (tmp_path / "out").exists()


def test_a_missing_plan_file_is_one_line(tmp_path):
    cat = write_catalog(tmp_path, profile={"plan": str(tmp_path / "nowhere.yaml")})
    one_line_error(run_cli("validate", "--catalog", str(cat)), "nowhere.yaml", "plan file not found")


def test_force_only_prompts_never_reach_partner_or_public(profiles):
    force = profiles["force"]
    restricted = [pr for _, r in rows_of(force.action_plan) for pr in r.prompts if pr.restricted]
    labels = {c.label for c in force.context.values() if c.sensitivity == "restricted"}
    # the force's plan does use its restricted layers
    assert {pr.figures["layer"] for pr in restricted} >= {"ocg_members", "vulnerable_persons"}
    for audience in ("partner", "public"):
        p = profiles[audience]
        assert not [pr for _, r in rows_of(p.action_plan) for pr in r.prompts if pr.restricted]
        assert not [r for _, r in rows_of(p.action_plan) if r.theme == "force_data"]
        plan_json = json.dumps(summary_dict(p)["action_plan"], ensure_ascii=False)
        html = render_html(p)
        section = re.search(r'<section id="action-plan">(.*?)</section>', html, re.S).group(1)
        for label in labels:
            assert label not in plan_json and label.replace("'", "&#39;") not in section, (audience, label)
        for pr in restricted:
            assert pr.text not in plan_json


def test_the_catalog_without_a_plan_gets_prompts_and_a_recommendation(profiles, tmp_path):
    p = dataclasses.replace(profiles["public"], settings=profiles["public"].settings.model_copy(update={"plan": None}))
    plan, _ = action_plan(p, None)
    assert plan.file is None and not any(r.entries for _, r in rows_of(plan))
    from localprofile.stages.judgements import intelligence_gaps

    _, recs = intelligence_gaps(p, p.soc_themes, plan)
    assert any("plan_template.yaml" in r for r in recs)
    assert "No plan file is named" in render_html(dataclasses.replace(p, action_plan=plan))


def test_the_shipped_template_is_a_valid_empty_plan():
    from localprofile.stages.action_plan import template_path

    assert load_plan(template_path()).plan == {}
    assert "plan: examples/action_plan_example.yaml" in CATALOG.read_text(encoding="utf-8")
