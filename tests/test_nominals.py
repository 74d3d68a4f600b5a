"""Nominal prioritisation: the risk matrix against a hand count, ranks independent of row order,
the demo's Leeds table recounted from the SYNTHETIC file, force outputs only, and a nominal layer
that cannot be marked open."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
from conftest import DATA, one_line_error, run_cli, write_catalog

from localprofile.engine.nominals import prioritise_nominals


def frame(rows):
    return pd.DataFrame(rows, columns=["nominal_id", "role", "offences_12m", "violent_12m", "grading",
                                       "last_intelligence"])


def test_the_matrix_matches_a_hand_count():
    t = prioritise_nominals(frame([
        ["N1", "Significant member", 3, 0, "2B", "2017-04"],   # 20 + 10 + 0 + 5 + 10 (3 months) = 45
        ["N2", "Principal member", 0, 4, "3E", "2016-06"],     # 30 + 0 + 20 + 0 + 0 (13 months) = 50
        ["N3", "Peripheral member", 6, 1, "1A", "2017-01"],    # 10 + 20 + 10 + 10 + 5 (6 months) = 55
    ]), "2017-07")
    assert t["nominal_id"].tolist() == ["N3", "N2", "N1"]
    assert t["points"].tolist() == [55, 50, 45]
    assert t.loc[0, "reasons"] == ("Peripheral member (10); 6 offences in 12 months (20); 1 violent offence (10); "
                                   "graded 1A (10); intelligence 6 months old (5)")
    assert "violent" not in t.loc[2, "reasons"]  # a factor that scored nothing is not a reason


def test_ranks_do_not_depend_on_row_order_and_ties_go_by_id():
    rows = [["B", "Peripheral member", 1, 0, "2C", "2015-01"], ["A", "Peripheral member", 1, 0, "2C", "2015-01"],
            ["C", "Principal member", 9, 3, "1A", "2017-07"]]
    a = prioritise_nominals(frame(rows), "2017-07")
    b = prioritise_nominals(frame(rows[::-1]), "2017-07")
    pd.testing.assert_frame_equal(a, b)
    assert a["nominal_id"].tolist() == ["C", "A", "B"]


def test_the_demo_table_is_recounted_from_the_synthetic_file(demo_root):
    s = json.loads((demo_root / "force" / "summary.json").read_text(encoding="utf-8"))
    table = s["nominals"]
    with open(DATA / "restricted" / "SYNTHETIC_nominals.csv", encoding="utf-8") as f:
        leeds = [r for r in csv.DictReader(f) if r["District"] == "Leeds"]
    role = {"Principal member": 30, "Significant member": 20, "Peripheral member": 10}

    def points(r):  # the default matrix, written out again
        off, vio = int(r["Offences 12m"]), int(r["Violent offences 12m"])
        y, m = map(int, r["Last intelligence"].split("-"))
        age = (2017 - y) * 12 + (7 - m)
        return (role[r["Role"]] + (20 if off >= 6 else 10 if off >= 3 else 5 if off >= 1 else 0)
                + (20 if vio >= 3 else 10 if vio >= 1 else 0)
                + (10 if r["Intelligence grading"] in ("1A", "1B", "2A") else 5 if r["Intelligence grading"] in ("1C", "2B", "3A") else 0)
                + (10 if age <= 3 else 5 if age <= 6 else 2 if age <= 12 else 0))

    expected = sorted(leeds, key=lambda r: (-points(r), r["Nominal ID"]))[:20]
    assert [(t["nominal_id"], t["points"]) for t in table] == [(r["Nominal ID"], points(r)) for r in expected]


def test_nominals_reach_force_outputs_only(demo_root):
    for audience in ("partner", "public"):
        folder = demo_root / audience
        assert "nominals" not in json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        html = (folder / "index.html").read_text(encoding="utf-8")
        assert "Nominal prioritisation" not in html and "N-SYN-" not in html
    assert "Nominal prioritisation" in (demo_root / "force" / "index.html").read_text(encoding="utf-8")


def test_a_nominal_layer_marked_open_is_an_error(tmp_path):
    cat = write_catalog(tmp_path, layers={"nominals": {
        "adapter": "nominals", "path": str(DATA / "restricted" / "SYNTHETIC_nominals.csv"), "vintage": "v",
        "licence": "l", "attribution": "a", "sensitivity": "open"}})
    one_line_error(run_cli("validate", "--catalog", str(cat)), "sensitivity must be restricted")


def test_a_grading_column_of_another_kind_names_file_column_and_value(tmp_path):
    src = (DATA / "restricted" / "SYNTHETIC_nominals.csv").read_text(encoding="utf-8").splitlines()
    header = src[0].split(",")
    g = header.index("Intelligence grading")
    rows = [r.split(",") for r in src[1:]]
    for r in rows:
        r[g] = "B2"  # written the other way round
    path = tmp_path / "nominals.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    cat = write_catalog(tmp_path, layers={"nominals": {
        "adapter": "nominals", "path": str(path), "vintage": "v", "licence": "l", "attribution": "a",
        "sensitivity": "restricted"}}, restricted=True)
    one_line_error(run_cli("validate", "--catalog", str(cat), "--audience", "force"), str(path),
                   "column 'Intelligence grading'", "'B2' is not a 3x5x2 grading")


def test_a_district_without_nominals_builds_with_an_empty_table(tmp_path):
    from localprofile.build import build_profile
    from localprofile.demo import demo_catalog_path
    from localprofile.render.html import render_html

    with open(DATA / "restricted" / "SYNTHETIC_nominals.csv", encoding="utf-8") as f:
        assert not any(r["District"] == "Wakefield" for r in csv.DictReader(f))
    p = build_profile(demo_catalog_path(), "Wakefield", audience="force")
    assert p.nominals is not None and len(p.nominals) == 0
    assert "No nominal is placed in Wakefield." in render_html(p)


def test_intelligence_dated_after_the_crime_data_is_one_line(tmp_path):
    src = (DATA / "restricted" / "SYNTHETIC_nominals.csv").read_text(encoding="utf-8")
    path = tmp_path / "nominals.csv"
    path.write_text(src.replace(",2017-06,", ",2019-03,"), encoding="utf-8")
    cat = write_catalog(tmp_path, layers={"nominals": {
        "adapter": "nominals", "path": str(path), "vintage": "v", "licence": "l", "attribution": "a",
        "sensitivity": "restricted"}}, restricted=True)
    one_line_error(run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--audience", "force",
                           "--out", str(tmp_path / "o")), str(path), "after 2017-07", "Last intelligence")


def test_roles_in_any_case_score_and_a_negative_count_is_a_counted_drop(tmp_path):
    from test_bad_input_step4 import load_layer

    src = (DATA / "restricted" / "SYNTHETIC_nominals.csv").read_text(encoding="utf-8").splitlines()
    rows = [src[0], src[1].replace("Principal member", "principal MEMBER"), src[2].replace(",3,2,", ",-3,2,")]
    path = tmp_path / "nominals.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    cat = write_catalog(tmp_path, layers={"nominals": {
        "adapter": "nominals", "path": str(path), "vintage": "v", "licence": "l", "attribution": "a",
        "sensitivity": "restricted"}}, restricted=True)
    data = load_layer(cat, "nominals")
    assert data.frame["role"].tolist() == ["Principal member"]
    assert data.account.dropped == {"negative offence count": 1}
