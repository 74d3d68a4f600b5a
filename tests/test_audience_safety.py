"""Audience safety that a careless catalog cannot undo: suppression cannot be switched off, partner
counts are never finer than neighbourhoods (MSOAs), nested restricted layers cannot be
differenced, restricted free text stays with the force, and every command that reads restricted
layers asks for an audience and states the marking."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml
from conftest import CATALOG, DATA, one_line_error, run_cli, write_catalog

LOOKUP = DATA / "lookups" / "lsoa11_msoa_lad_west_yorkshire.csv"
OCG = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))["layers"]["ocg_members"]
OCG_FILE = DATA / "restricted" / "SYNTHETIC_ocg_members.csv"
NON_PRINCIPAL = {**OCG, "path": str(OCG_FILE), "label": "OCG members (non-principal)",
                 "options": {**OCG["options"], "include": {"Role": ["Significant member", "Peripheral member"]}}}


def build(tmp_path, cat, audience="partner", district="Calderdale"):
    return run_cli("build", "--catalog", str(cat), "--district", district, "--audience", audience,
                   "--out", str(tmp_path / f"out-{audience}"))


@pytest.mark.parametrize("value, needle", [
    (True, "not yes/true"), (False, "not no/false"), (1, "greater than or equal to 2"),
    (0, "greater than or equal to 2"), ("5", "valid integer"),
])
def test_suppress_below_must_be_a_whole_number_of_at_least_two(tmp_path, value, needle):
    cat = write_catalog(tmp_path, restricted=True, profile={"suppress_below": value})
    one_line_error(build(tmp_path, cat), "catalog.yaml", "profile.suppress_below", needle)


def test_yes_in_the_yaml_itself_is_refused(tmp_path):
    # as an analyst would type it: the YAML word, not a Python True
    cat = write_catalog(tmp_path, restricted=True)
    text = cat.read_text(encoding="utf-8").replace("profile:\n", "profile:\n  suppress_below: yes\n", 1)
    cat.write_text(text, encoding="utf-8")
    one_line_error(run_cli("validate", "--catalog", str(cat), "--audience", "partner"), "profile.suppress_below")


@pytest.mark.parametrize("profile, key", [
    ({"marking": ""}, "profile.marking"),
    ({"marking": "   "}, "profile.marking"),
    ({"markings": {"partner": ""}}, "profile.markings"),
])
def test_an_empty_marking_is_an_error(tmp_path, profile, key):
    cat = write_catalog(tmp_path, restricted=True, profile=profile)
    one_line_error(run_cli("validate", "--catalog", str(cat), "--audience", "force"), key, "must not be empty")


def _lookup_copy(tmp_path, *, drop_msoa=False, blank_for=0) -> Path:
    with open(LOOKUP, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    cols = [c for c in rows[0] if not (drop_msoa and c.startswith("MSOA"))]
    blanked = 0
    for r in rows:
        if blank_for and r["Local authority name"] == "Calderdale" and blanked < blank_for:
            r["MSOA Code"] = r["MSOA Name"] = ""
            blanked += 1
    out = tmp_path / "lookup.csv"
    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, cols, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return out


def test_a_lookup_without_msoa_columns_stops_a_partner_build(tmp_path):
    lookup = _lookup_copy(tmp_path, drop_msoa=True)
    cat = write_catalog(tmp_path, restricted=True, layers={"lsoa_lookup": {"path": str(lookup)}})
    one_line_error(build(tmp_path, cat), "lookup.csv", "LSOAs have no MSOA code", "never per LSOA")
    assert not (tmp_path / "out-partner").exists()
    # the force may fall back to LSOAs: it sees the points anyway, and the choice says so
    res = build(tmp_path, cat, "force")
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "out-force" / "summary.json").read_text(encoding="utf-8"))
    assert {"what": "neighbourhoods", "value": "LSOAs"}.items() <= next(
        c for c in s["choices"] if c["what"] == "neighbourhoods").items()


def test_a_lookup_with_some_blank_msoa_cells_stops_a_partner_build_and_counts_them(tmp_path):
    lookup = _lookup_copy(tmp_path, blank_for=3)
    cat = write_catalog(tmp_path, restricted=True, layers={"lsoa_lookup": {"path": str(lookup)}})
    msg = one_line_error(build(tmp_path, cat), "lookup.csv", "LSOAs have no MSOA code")
    assert "3 of Calderdale's" in msg


def test_the_same_file_as_two_restricted_layers_stops_a_partner_build(tmp_path):
    cat = write_catalog(tmp_path, restricted=True, layers={"ocg_nonprincipal": NON_PRINCIPAL})
    one_line_error(build(tmp_path, cat), "'ocg_members' and 'ocg_nonprincipal'", "both read SYNTHETIC_ocg_members.csv",
                   "combine them")


def test_nested_record_ids_in_two_files_stop_a_partner_build(tmp_path):
    # the subset saved as a file of its own: nested by record id, not by file
    with open(OCG_FILE, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    sub = tmp_path / "non_principal.csv"
    with open(sub, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(r for r in rows if r["Role"] != "Principal member")
    layer = {**NON_PRINCIPAL, "path": str(sub), "options": OCG["options"]}
    cat = write_catalog(tmp_path, restricted=True, layers={"ocg_nonprincipal": layer})
    one_line_error(build(tmp_path, cat), "'ocg_members' and 'ocg_nonprincipal'", "every record id of one",
                   "combine them")
    assert build(tmp_path, cat, "force").returncode == 0  # the force sees both as points


def test_unrelated_restricted_layers_still_build_for_partners(tmp_path):
    # the check refuses only overlap: the demo's four restricted layers are distinct records
    res = build(tmp_path, write_catalog(tmp_path, restricted=True))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "out-partner" / "summary.json").read_text(encoding="utf-8"))
    shown = [v for layer in s["context"].values() if layer["sensitivity"] == "restricted"
             for v in [layer["in_district"], *layer["by_neighbourhood"].values()]]
    assert shown and not [v for v in shown if isinstance(v, int) and 1 <= v <= 4]


def test_restricted_free_text_stays_with_the_force_unless_the_catalog_says(demo_root, tmp_path):
    secret = OCG["vintage"]  # "SYNTHETIC, generated with seed ..."
    for audience, present in (("force", True), ("partner", False)):
        for name in ("index.html", "summary.json"):
            text = (demo_root / audience / name).read_text(encoding="utf-8")
            assert (secret in text) is present, (audience, name)
    partner = (demo_root / "partner" / "index.html").read_text(encoding="utf-8")
    assert "force data" in partner and OCG["label"].replace("'", "&#39;") in partner
    # partner_text: true lets that one layer's text through
    cat = write_catalog(tmp_path, restricted=True, layers={"ocg_members": {"partner_text": True}})
    assert build(tmp_path, cat).returncode == 0
    assert secret in (tmp_path / "out-partner" / "index.html").read_text(encoding="utf-8")


def test_backtest_on_a_restricted_catalog_needs_an_audience_and_states_the_marking(tmp_path):
    args = ["backtest", "--catalog", str(CATALOG), "--district", "Calderdale", "--train", "2016-07",
            "--test", "2017-07"]
    one_line_error(run_cli(*args), "restricted layers", "--audience")
    res = run_cli(*args, "--audience", "partner")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert (out["audience"], out["marking"]) == ("partner", "OFFICIAL-SENSITIVE")
    assert "OFFICIAL-SENSITIVE" in res.stderr
    # a restricted crimes layer feeds every figure: only the force may backtest it
    cat = write_catalog(tmp_path, restricted=True, layers={"crimes": {"sensitivity": "restricted"}})
    one_line_error(run_cli("backtest", *args[1:3], "--catalog", str(cat), *args[3:], "--audience", "partner"),
                   "only be built for --audience force")


def test_validate_honours_the_audience_and_states_the_marking():
    one_line_error(run_cli("validate", "--catalog", str(CATALOG)), "--audience")
    res = run_cli("validate", "--catalog", str(CATALOG), "--audience", "partner")
    assert res.returncode == 0, res.stderr
    assert "OFFICIAL-SENSITIVE" in res.stderr and "withheld" in res.stdout
    pub = run_cli("validate", "--catalog", str(CATALOG), "--audience", "public")
    assert pub.returncode == 0 and "ocg_members" not in pub.stdout and "OFFICIAL" in pub.stderr


def test_a_lookup_whose_msoa_is_the_lsoa_itself_stops_a_partner_build(tmp_path):
    # a mis-mapped column: "MSOA Code" holding the LSOA code is no coarser than an LSOA
    with open(LOOKUP, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    calderdale = [r for r in rows if r["Local authority name"] == "Calderdale"]
    for r in calderdale[:2]:
        r["MSOA Code"], r["MSOA Name"] = r["LSOA Code"], r["LSOA Name"]
    lookup = tmp_path / "lookup.csv"
    with open(lookup, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    cat = write_catalog(tmp_path, restricted=True, layers={"lsoa_lookup": {"path": str(lookup)}})
    msg = one_line_error(build(tmp_path, cat), "lookup.csv", "the LSOA's own code")
    assert f"2 of Calderdale's {len(calderdale)} LSOAs" in msg, msg


def test_the_nesting_rule_is_needed(tmp_path):
    """Without it, partners could difference the two nested layers: on the force's exact counts,
    some neighbourhood has both counts at or above 5 (so both would be published) and a
    difference from 1 to 4."""
    from localprofile.build import build_profile

    cat = write_catalog(tmp_path, restricted=True, layers={"ocg_nonprincipal": NON_PRINCIPAL},
                        profile={"cell_size_m": 1000.0, "bandwidth_m": 1000.0})
    prof = build_profile(cat, "Leeds", audience="force")
    a = prof.context["ocg_members"].neighbourhood_counts
    b = prof.context["ocg_nonprincipal"].neighbourhood_counts
    assert any(x >= 5 and y >= 5 and 1 <= x - y <= 4 for x, y in zip(a, b))


def test_no_restricted_free_text_in_any_partner_output(tmp_path):
    """Description, vintage, licence and attribution of restricted layers: not in the partner's
    HTML, summary.json or GeoPackage (text and bytes), unless partner_text is set."""
    restricted = ("ocg_members", "cse_locations", "vulnerable_persons", "repeat_offenders")
    layers = {n: {"description": f"DESC-{n}", "vintage": f"VINTAGE-{n}", "licence": f"LICENCE-{n}",
                  "attribution": f"ATTRIB-{n}"} for n in restricted}
    layers["cse_locations"]["partner_text"] = True
    cat = write_catalog(tmp_path, restricted=True, layers=layers,
                        profile={"cell_size_m": 1000.0, "bandwidth_m": 1000.0})
    assert build(tmp_path, cat).returncode == 0
    out = tmp_path / "out-partner"
    blobs = {f: (out / f).read_bytes() for f in ("index.html", "summary.json", "results.gpkg")}
    for n in restricted:
        for word in ("DESC", "VINTAGE", "LICENCE", "ATTRIB"):
            marker = f"{word}-{n}".encode()
            shown = [f for f, b in blobs.items() if marker in b]
            if n == "cse_locations":
                assert "index.html" in shown, marker
            else:
                assert shown == [], (marker, shown)
