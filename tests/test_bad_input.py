"""Acceptance 6: bad input exits with code 2 and one line naming the file/key; no traceback."""

from __future__ import annotations

import csv

from pathlib import Path

import pytest
from conftest import CATALOG, police_csv_text, run_cli, write_catalog


def assert_one_line_error(res, *needles: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    msg = res.stderr.strip()
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    assert msg.count("\n") == 0, msg
    assert msg.startswith("error: ")
    for n in needles:
        assert n in msg, (n, msg)
    return msg


def test_missing_catalog_file(tmp_path):
    res = run_cli("build", "--catalog", str(tmp_path / "nope.yaml"), "--district", "Leeds")
    assert_one_line_error(res, "nope.yaml", "not found")


def test_missing_data_file(tmp_path):
    cat = write_catalog(tmp_path, layers={"imd2019": {"path": str(tmp_path / "imd_missing.csv")}})
    res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--out", str(tmp_path / "o"))
    assert_one_line_error(res, "catalog.yaml", "layers.imd2019.path", "imd_missing.csv")
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_glob_matching_nothing(tmp_path):
    cat = write_catalog(tmp_path, layers={"crimes": {"path": str(tmp_path / "police" / "*.zip")}})
    res = run_cli("validate", "--catalog", str(cat))
    assert_one_line_error(res, "layers.crimes.path", "no file matches")


def test_csv_missing_the_longitude_column(tmp_path):
    text = police_csv_text("2016-07").replace("Longitude,", "Lon,", 1)
    bad = tmp_path / "2016-07-west-yorkshire-street.csv"
    bad.write_text(text, encoding="utf-8")
    cat = write_catalog(tmp_path, layers={"crimes": {"path": str(bad)}})
    res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--out", str(tmp_path / "o"))
    assert_one_line_error(res, str(bad), "column 'Longitude'")


def test_district_that_does_not_exist(tmp_path):
    res = run_cli("build", "--catalog", str(CATALOG), "--district", "Leds", "--out", str(tmp_path / "o"))
    msg = assert_one_line_error(res, "Leds", "lsoa11_msoa_lad_west_yorkshire.csv")
    assert "did you mean 'Leeds'" in msg


@pytest.mark.parametrize(
    "text,needles",
    [
        ("layers: [unclosed", ["not valid YAML", "line"]),
        ("- just\n- a list\n", ["a catalog must be a mapping"]),
        ("layers: {}\n", ["key 'layers'", "no layers"]),
        ("layers:\n  crimes:\n    adapter: police_uk_street\n    path: x.csv\n", ["key 'layers.crimes.vintage'", "required"]),
        ("layers:\n  crimes:\n    adapter: nosuch\n    path: x\n    vintage: v\n    licence: l\n    attribution: a\n    sensitivity: open\n",
         ["key 'layers.crimes.adapter'", "unknown adapter 'nosuch'"]),
        ("layers:\n  crimes:\n    adapter: police_uk_street\n    path: x\n    vintage: v\n    licence: l\n    attribution: a\n    sensitivity: secret\n",
         ["key 'layers.crimes.sensitivity'", "'open' or 'restricted'"]),
        ("layers:\n  crimes:\n    adapter: police_uk_street\n    path: x\n    vintage: v\n    licence: l\n    attribution: a\n    sensitivity: open\n    colour: red\n",
         ["key 'layers.crimes.colour'", "unknown key"]),
        ("profile:\n  marking: A\n  marking: B\nlayers: {}\n", ["duplicate key 'marking'"]),
        ("profile:\n  hotspot_q: 2\nlayers: {}\n", ["key 'profile.hotspot_q'"]),
    ],
)
def test_malformed_catalog(tmp_path, text, needles):
    cat = tmp_path / "bad_catalog.yaml"
    cat.write_text(text, encoding="utf-8")
    for cmd in (["validate", "--catalog", str(cat)],
                ["build", "--catalog", str(cat), "--district", "Leeds", "--out", str(tmp_path / "o")]):
        assert_one_line_error(run_cli(*cmd), "bad_catalog.yaml", *needles)


def test_unknown_crime_type_in_a_theme(tmp_path):
    cat = write_catalog(tmp_path, themes={"knives": {"label": "Knives", "crime_types": ["Knife crime"]}})
    res = run_cli("validate", "--catalog", str(cat))
    assert_one_line_error(res, "themes.knives.crime_types", "'Knife crime' is not a police.uk crime type")


def test_catalog_missing_a_required_role(tmp_path):
    cat = write_catalog(tmp_path, layers={"census_population": None})
    res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--out", str(tmp_path / "o"))
    assert_one_line_error(res, "no layer provides population", "census2011_population")


def test_non_numeric_population_names_row_and_column(tmp_path):
    src = Path(__file__).resolve().parent.parent / "data/census/census2011_population_households_lsoa11_west_yorkshire.csv"
    with open(src, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0][9] == "Persons"
    rows[4][9] = "lots"  # spreadsheet row 5
    bad = tmp_path / "census.csv"
    with open(bad, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    cat = write_catalog(tmp_path, layers={"census_population": {"path": str(bad)}})
    res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--out", str(tmp_path / "o"))
    assert_one_line_error(res, str(bad), "row 5", "column 'Persons'", "'lots'")


def test_unwritable_output_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    res = run_cli("build", "--catalog", str(CATALOG), "--district", "Calderdale", "--out", str(blocker / "out"))
    assert_one_line_error(res, str(blocker))


def test_validate_accepts_the_demo_catalog():
    res = run_cli("validate", "--catalog", str(CATALOG))
    assert res.returncode == 0, res.stderr
    assert "crimes" in res.stdout and "55,713" in res.stdout


@pytest.mark.parametrize("cmd", [[], ["demo"], ["build"], ["validate"], ["themes"]])
def test_help(cmd):
    res = run_cli(*cmd, "--help")
    assert res.returncode == 0
    assert "Usage" in res.stdout


def test_usage_error_exits_2():
    res = run_cli("build", "--catalog", str(CATALOG))  # no --district
    assert res.returncode == 2 and "Traceback" not in res.stderr
