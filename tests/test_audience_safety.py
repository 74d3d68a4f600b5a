"""Step 4, acceptance 2: partner data safe against a careless catalog.

Partner profiles are built from modified copies of the demo catalog: each either stops with one
line naming the file or key, or publishes no restricted count (nor difference of counts) from 1
to 4. Commands that read restricted layers need ``--audience`` and print the marking.
"""

from __future__ import annotations

import csv
import json
import re
import sqlite3
from itertools import combinations

import pytest
import yaml
from conftest import CATALOG, DATA, run_cli, write_catalog

from localprofile.build import build_profile
from localprofile.catalog import load_catalog
from localprofile.errors import InputError
from localprofile.render import write_outputs

LOOKUP = DATA / "lookups" / "lsoa11_msoa_lad_west_yorkshire.csv"
FAST = {"cell_size_m": 1000.0, "bandwidth_m": 1000.0}  # the scale is not what these tests are about
RESTRICTED = ("ocg_members", "cse_locations", "vulnerable_persons", "repeat_offenders")


def _catalog(tmp_path, **kw):
    kw["profile"] = {**FAST, **kw.get("profile", {})}
    return write_catalog(tmp_path, restricted=True, **kw)


def _lookup(tmp_path, drop_columns=(), blank_msoa_in=(), own_code_in=()):
    """A copy of the shipped lookup without some columns, or with MSOA cells blank for LSOAs."""
    with LOOKUP.open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    fields = [c for c in rows[0] if c not in drop_columns]
    path = tmp_path / "lookup.csv"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fields, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            if r["LSOA Code"] in blank_msoa_in:
                r = {**r, "MSOA Code": "", "MSOA Name": ""}
            if r["LSOA Code"] in own_code_in:  # a mis-mapped column: "MSOA" = the LSOA
                r = {**r, "MSOA Code": r["LSOA Code"], "MSOA Name": r["LSOA Name"]}
            w.writerow(r)
    return path


def _small(value) -> bool:
    """A published value that is an exact count from 1 to 4."""
    if isinstance(value, str):
        value = int(value) if value.isdigit() else None  # "<5", "*", "37+" are not exact
    return isinstance(value, int) and 1 <= value <= 4


def _one_line(exc: InputError) -> str:
    text = str(exc)
    assert "\n" not in text, text
    return text


# --- suppress_below and markings: one-line errors naming the key ---------------------------------


@pytest.mark.parametrize("value", ["yes", "true", "1", "0", "-3", "2.5", "'5'"])
def test_suppress_below_must_be_an_integer_of_at_least_2(tmp_path, value):
    path = _catalog(tmp_path)
    path.write_text(path.read_text(encoding="utf-8").replace("profile:\n", f"profile:\n  suppress_below: {value}\n", 1),
                    encoding="utf-8")
    with pytest.raises(InputError) as e:
        load_catalog(path)
    assert "profile.suppress_below" in _one_line(e.value)
    res = run_cli("build", "--catalog", str(path), "--district", "Leeds", "--audience", "partner",
                  "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "profile.suppress_below" in res.stderr
    assert not (tmp_path / "o").exists()


def test_suppress_below_default_and_two_are_accepted(tmp_path):
    assert load_catalog(_catalog(tmp_path)).profile.suppress_below == 5
    assert load_catalog(_catalog(tmp_path, profile={"suppress_below": 2})).profile.suppress_below == 2


@pytest.mark.parametrize("profile,key", [
    ({"marking": ""}, "profile.marking"),
    ({"marking": "   "}, "profile.marking"),
    ({"markings": {"partner": ""}}, "profile.markings"),
    ({"markings": {"public": " "}}, "profile.markings"),
])
def test_an_empty_marking_is_an_error_naming_the_key(tmp_path, profile, key):
    path = _catalog(tmp_path, profile=profile)
    with pytest.raises(InputError) as e:
        load_catalog(path)
    assert key in _one_line(e.value) and "empty" in str(e.value)
    res = run_cli("validate", "--catalog", str(path))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and key in res.stderr


# --- neighbourhoods: MSOAs or nothing for partners ------------------------------------------------


def test_partner_build_stops_when_the_lookup_has_no_msoa_columns(tmp_path):
    lookup = _lookup(tmp_path, drop_columns=("MSOA Code", "MSOA Name"))
    cat = _catalog(tmp_path, layers={"lsoa_lookup": {"path": str(lookup)}})
    with pytest.raises(InputError) as e:
        build_profile(cat, "Leeds", audience="partner")
    msg = _one_line(e.value)
    assert "lookup.csv" in msg and "482 of 482 LSOAs" in msg and "no MSOA" in msg, msg
    # force may fall back to LSOAs, and the choice says so
    prof = build_profile(cat, "Leeds", audience="force")
    c = next(c for c in prof.choices if c.what == "neighbourhoods")
    assert c.value == "LSOAs" and "no MSOA" in c.why
    assert len(prof.neighbourhoods.codes) == 482


def test_partner_build_stops_when_some_msoa_cells_are_blank(tmp_path):
    leeds = [r["LSOA Code"] for r in csv.DictReader(LOOKUP.open(encoding="utf-8-sig"))
             if r["Local authority name"] == "Leeds"]
    lookup = _lookup(tmp_path, blank_msoa_in=set(leeds[:3]))
    cat = _catalog(tmp_path, layers={"lsoa_lookup": {"path": str(lookup)}})
    res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--audience", "partner",
                  "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "lookup.csv" in res.stderr and "3 of 482 LSOAs" in res.stderr, res.stderr
    assert not (tmp_path / "o").exists()


def test_partner_build_stops_when_msoa_codes_are_lsoa_codes(tmp_path):
    leeds = [r["LSOA Code"] for r in csv.DictReader(LOOKUP.open(encoding="utf-8-sig"))
             if r["Local authority name"] == "Leeds"]
    lookup = _lookup(tmp_path, own_code_in=set(leeds[-2:]))
    cat = _catalog(tmp_path, layers={"lsoa_lookup": {"path": str(lookup)}})
    with pytest.raises(InputError) as e:
        build_profile(cat, "Leeds", audience="partner")
    msg = _one_line(e.value)
    assert "lookup.csv" in msg and "2 of 482 LSOAs" in msg and "own code" in msg, msg


# --- differencing: nested restricted layers -------------------------------------------------------


def _nested_layers():
    base = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))["layers"]["ocg_members"]
    return {"ocg_non_principal": {**base, "path": str(DATA.parent / base["path"]),
                                  "label": "OCG members other than principals",
                                  "options": {**base["options"],
                                              "include": {"Role": ["Significant member", "Peripheral member"]}}}}


def test_two_layers_from_one_file_stop_a_partner_build_naming_both(tmp_path):
    cat = _catalog(tmp_path, layers=_nested_layers())
    with pytest.raises(InputError) as e:
        build_profile(cat, "Leeds", audience="partner")
    msg = _one_line(e.value)
    assert "'ocg_members'" in msg and "'ocg_non_principal'" in msg and "combine them" in msg, msg
    assert "layers.ocg_non_principal" in msg


def test_two_layers_sharing_record_ids_stop_a_partner_build(tmp_path):
    """A subset written to a second file: the record ids give it away."""
    src = DATA / "restricted" / "SYNTHETIC_ocg_members.csv"
    with src.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    subset = tmp_path / "ocg_subset.csv"
    with subset.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, list(rows[0]))
        w.writeheader()
        w.writerows(r for r in rows if r["Role"] != "Principal member")
    layers = _nested_layers()
    layers["ocg_non_principal"] = {**layers["ocg_non_principal"], "path": str(subset)}
    layers["ocg_non_principal"]["options"] = {k: v for k, v in layers["ocg_non_principal"]["options"].items()
                                              if k != "include"}
    with pytest.raises(InputError) as e:
        build_profile(_catalog(tmp_path, layers=layers), "Leeds", audience="partner")
    msg = _one_line(e.value)
    assert "share record ids" in msg and "'ocg_members'" in msg and "'ocg_non_principal'" in msg, msg


def test_nested_layers_without_the_check_would_leak(tmp_path):
    """The rule is needed: on the force profile (exact counts), the two nested layers' per-MSOA
    differences include counts from 1 to 4 in MSOAs where both would pass suppression."""
    cat = _catalog(tmp_path, layers=_nested_layers())
    prof = build_profile(cat, "Leeds", audience="force")
    a, b = prof.context["ocg_members"].neighbourhood_counts, prof.context["ocg_non_principal"].neighbourhood_counts
    assert any(x >= 5 and y >= 5 and 1 <= x - y <= 4 for x, y in zip(a, b))


# --- a partner build that goes ahead: no small count, no small difference, no free text ---------


@pytest.fixture(scope="module")
def partner(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("partner")
    layers = {n: {"description": f"DESC-{n} secret notes", "vintage": f"VINTAGE-{n} extract 2026-11",
                  "attribution": f"ATTRIB-{n} Intelligence Unit"} for n in RESTRICTED}
    layers["cse_locations"]["partner_text"] = True
    cat = _catalog(tmp, layers=layers)
    prof = build_profile(cat, "Leeds", audience="partner")
    out = tmp / "out"
    write_outputs(prof, out)
    return prof, out


def test_partner_counts_are_msoas_with_no_count_or_difference_from_1_to_4(partner):
    prof, out = partner
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    hoods = s["context"]["ocg_members"]["by_neighbourhood"]
    assert len(hoods) == 107 and all(re.fullmatch(r"E02\d{6}", k) for k in hoods)  # Leeds' MSOAs
    published = {}
    for name in RESTRICTED:
        c = s["context"][name]
        assert c["detail"] == "neighbourhood counts" and c["categories"] == {} and c["assignment"] == {}
        values = [*c["by_neighbourhood"].values(), c["in_district"]]
        assert not any(_small(v) for v in values), name
        published[name] = values
    # no two restricted layers share a file or a record, so none is a subset of another; even so,
    # no pair's difference is read where both counts are exact and one layer's are all smaller
    for a, b in combinations(RESTRICTED, 2):
        exact = [(int(x), int(y)) for x, y in zip(published[a], published[b]) if str(x).isdigit() and str(y).isdigit()]
        nested = all(x >= y for x, y in exact) or all(y >= x for x, y in exact)
        assert not (nested and any(1 <= abs(x - y) <= 4 for x, y in exact)), (a, b)


def test_partner_outputs_carry_no_restricted_free_text_by_default(partner):
    prof, out = partner
    html = (out / "index.html").read_text(encoding="utf-8")
    summary = (out / "summary.json").read_text(encoding="utf-8")
    con = sqlite3.connect(out / "results.gpkg")
    gpkg = "\n".join(str(v) for row in con.execute("SELECT * FROM gpkg_contents") for v in row)
    con.close()
    gpkg_bytes = (out / "results.gpkg").read_bytes()
    for name in RESTRICTED:
        for word in ("DESC", "VINTAGE", "ATTRIB"):
            marker = f"{word}-{name}"
            if name == "cse_locations":  # partner_text: true
                assert marker in html, marker
            else:
                assert marker not in html and marker not in summary and marker not in gpkg, marker
                assert marker.encode() not in gpkg_bytes
    s = json.loads(summary)
    assert s["layers"]["ocg_members"]["vintage"] == "force data"
    assert s["layers"]["cse_locations"]["vintage"] == "VINTAGE-cse_locations extract 2026-11"
    assert "OCG members&#39; home addresses" in html and "force data" in html
    assert prof.layers["ocg_members"].spec.options == {}  # include values are free text too


# --- commands that read restricted layers -------------------------------------------------------


def test_backtest_on_a_restricted_catalog_needs_an_audience(tmp_path):
    args = ["backtest", "--catalog", str(CATALOG), "--district", "Leeds", "--train", "2016-07", "--test", "2017-07"]
    res = run_cli(*args)
    assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    assert "--audience" in res.stderr and "restricted" in res.stderr
    res = run_cli(*args, "--audience", "partner", "--cell-size", "1000", "--bandwidth", "1000")
    assert res.returncode == 0, res.stderr
    assert "marking: OFFICIAL-SENSITIVE" in res.stderr
    r = json.loads(res.stdout)
    assert r["audience"] == "partner" and r["marking"] == "OFFICIAL-SENSITIVE"


def test_backtest_of_a_restricted_crimes_layer_is_for_force_only(tmp_path):
    cat = _catalog(tmp_path, layers={"crimes": {"sensitivity": "restricted"}})
    res = run_cli("backtest", "--catalog", str(cat), "--district", "Leeds", "--train", "2016-07",
                  "--test", "2017-07", "--audience", "partner")
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "layers.crimes.sensitivity" in res.stderr


def test_validate_honours_the_audience_and_prints_the_marking(tmp_path):
    cat = _catalog(tmp_path, profile={"markings": {"partner": "OFFICIAL-SENSITIVE PARTNER"}})
    res = run_cli("validate", "--catalog", str(cat), "--audience", "partner")
    assert res.returncode == 0, res.stderr
    assert "OFFICIAL-SENSITIVE PARTNER" in res.stdout
    rows = {line.split("│")[1].strip(): line for line in res.stdout.splitlines() if line.count("│") > 3}
    assert "withheld" in rows["ocg_members"] and "withheld" not in rows["crimes"]
    res = run_cli("validate", "--catalog", str(cat), "--audience", "public")
    assert res.returncode == 0 and "ocg_members" not in res.stdout and "OFFICIAL" in res.stdout
    res = run_cli("validate", "--catalog", str(cat))  # no audience: figures as for force, said so
    assert res.returncode == 0 and "for force" in res.stdout and "OFFICIAL-SENSITIVE" in res.stdout
