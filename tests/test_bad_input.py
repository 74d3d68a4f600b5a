"""Acceptance 6: bad input exits with code 2 and one line naming the file/key; no traceback."""

from __future__ import annotations

import csv

from pathlib import Path

import pytest
from conftest import CATALOG, DATA, ROOT, police_csv_text, run_cli, run_cli_subprocess, write_catalog


def assert_one_line_error(res, *needles: str) -> str:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert "Traceback" not in res.stderr and "Traceback" not in res.stdout
    assert res.stderr.endswith("\n") and res.stderr.count("\n") == 1, repr(res.stderr)  # one line
    msg = res.stderr.strip()
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
    res = run_cli("build", "--catalog", str(CATALOG), "--audience", "force", "--district", "Leds", "--out", str(tmp_path / "o"))
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
    res = run_cli("build", "--catalog", str(CATALOG), "--audience", "force", "--district", "Calderdale", "--out", str(blocker / "out"))
    assert_one_line_error(res, str(blocker))


def test_validate_accepts_the_demo_catalog():
    res = run_cli("validate", "--catalog", str(CATALOG), "--audience", "force")
    assert res.returncode == 0, res.stderr
    assert "crimes" in res.stdout and "55,713" in res.stdout


@pytest.mark.parametrize("cmd", [[], ["demo"], ["build"], ["validate"], ["themes"]])
def test_help(cmd):
    res = run_cli(*cmd, "--help")
    assert res.returncode == 0
    assert "Usage" in res.stdout


@pytest.mark.parametrize("args, names", [
    (["build"], "--catalog"),
    (["build-all", "--catalog", "data_catalog.yaml", "--out", "out/x", "--districts", "Leeds", "--workers", "0"],
     "--workers"),
    (["national", "--catalog", "data_catalog.yaml", "--out", "out/x", "--cell-size", "5"], "--cell-size"),
    (["build", "--catalog", "data_catalog.yaml", "--district", "Leeds", "--audience", "everyone"], "--audience"),
    (["build", "--no-such-option"], "--no-such-option"),
    (["no-such-command"], "no-such-command"),
])
def test_a_usage_error_is_one_line_naming_the_option_and_exit_2(args, names):
    """As the shell sees it (the installed entry point): a missing option, a value out of range
    or not allowed, an unknown option or command is one line, not click's boxed usage text."""
    res = run_cli_subprocess(*args)
    assert res.returncode == 2 and "Traceback" not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and names in lines[0], res.stderr
    assert not (ROOT / "out" / "x").exists()


def test_no_command_shows_the_help():
    res = run_cli_subprocess()
    assert res.returncode == 2 and "Usage" in res.stdout and "build-all" in res.stdout


def test_usage_error_exits_2():
    res = run_cli("build", "--catalog", str(CATALOG))  # no --district
    assert res.returncode == 2 and "Traceback" not in res.stderr


def _geojson(tmp_path, name, features, crs="urn:ogc:def:crs:OGC:1.3:CRS84"):
    import json

    path = tmp_path / name
    path.write_text(json.dumps({"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": crs}},
                                "features": features}), encoding="utf-8")
    return path


def _build(tmp_path, cat, district="Calderdale", *extra):
    return run_cli("build", "--catalog", str(cat), "--district", district, "--out", str(tmp_path / "o"), *extra)


def test_catalog_key_that_is_not_a_word(tmp_path):
    cat = tmp_path / "bad_catalog.yaml"
    cat.write_text("1: x\nlayers: {}\n", encoding="utf-8")
    assert_one_line_error(run_cli("validate", "--catalog", str(cat)), "bad_catalog.yaml", "key '1'")


def test_path_with_an_unknown_home_folder(tmp_path):
    cat = write_catalog(tmp_path, layers={"imd2019": {"path": "~no_such_user_here/imd.csv"}})
    assert_one_line_error(run_cli("validate", "--catalog", str(cat)), "layers.imd2019.path")


def test_a_csv_given_as_boundaries(tmp_path):
    csv_file = tmp_path / "lsoa.csv"
    csv_file.write_text("LSOA11CD,name\nE01010568,x\n", encoding="utf-8")
    cat = write_catalog(tmp_path, layers={"lsoa_boundaries": {"path": str(csv_file)}})
    assert_one_line_error(_build(tmp_path, cat), str(csv_file), "no geometry")


def test_boundaries_of_points(tmp_path):
    path = _geojson(tmp_path, "points.geojson", [
        {"type": "Feature", "properties": {"LSOA11CD": "E01010568"},
         "geometry": {"type": "Point", "coordinates": [-1.75, 53.85]}}])
    cat = write_catalog(tmp_path, layers={"lsoa_boundaries": {"path": str(path)}})
    assert_one_line_error(_build(tmp_path, cat), str(path), "no usable LSOA polygons")


def test_lonlat_boundaries_declared_as_british_national_grid(tmp_path):
    import json

    gj = json.loads((DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").read_text(encoding="utf-8"))
    path = _geojson(tmp_path, "wrong_crs.geojson", gj["features"], crs="urn:ogc:def:crs:EPSG::27700")
    cat = write_catalog(tmp_path, layers={"lsoa_boundaries": {"path": str(path)}})
    assert_one_line_error(_build(tmp_path, cat), str(path), "coordinate reference system")


def test_corrupt_zip_member(tmp_path):
    import zipfile

    src = (DATA / "police_uk" / "2016-07.zip").read_bytes()
    with zipfile.ZipFile(DATA / "police_uk" / "2016-07.zip") as zf:
        offset = zf.getinfo("2016-07/2016-07-west-yorkshire-street.csv").header_offset
    bad = bytearray(src)
    for i in range(offset + 200, offset + 400):
        bad[i] ^= 0xFF  # damage the compressed data
    path = tmp_path / "2016-07.zip"
    path.write_bytes(bytes(bad))
    cat = write_catalog(tmp_path, layers={"crimes": {"path": str(path)}})
    assert_one_line_error(_build(tmp_path, cat), "2016-07.zip:2016-07/2016-07-west-yorkshire-street.csv")


@pytest.mark.parametrize("layer,file,column", [
    ("census_population", "census/census2011_population_households_lsoa11_west_yorkshire.csv", 9),
    ("imd2019", "deprivation/imd2019_lsoa11_ranks_deciles_west_yorkshire.csv", 1),
])
def test_infinite_numbers(tmp_path, layer, file, column):
    with open(DATA / file, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[3][column] = "inf"
    bad = tmp_path / "bad.csv"
    with open(bad, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    cat = write_catalog(tmp_path, layers={layer: {"path": str(bad)}})
    assert_one_line_error(_build(tmp_path, cat), str(bad), "row 4", "'inf'")


def test_grid_too_large(tmp_path):
    assert_one_line_error(_build(tmp_path, CATALOG, "Leeds", "--cell-size", "2", "--audience", "force"), "cells", "larger cell size")


def test_header_only_crimes_file(tmp_path):
    header = police_csv_text("2016-07").splitlines()[0]
    path = tmp_path / "2016-07-west-yorkshire-street.csv"
    path.write_text(header + "\n", encoding="utf-8")
    cat = write_catalog(tmp_path, layers={"crimes": {"path": str(path)}})
    # the file is named where it is, not blamed on the district
    assert_one_line_error(_build(tmp_path, cat), str(path), "no rows: only a header")


def test_empty_and_binary_csv(tmp_path):
    for name, content in (("empty.csv", b""), ("binary.csv", bytes(range(256)) * 4)):
        path = tmp_path / name
        path.write_bytes(content)
        cat = write_catalog(tmp_path, layers={"lsoa_lookup": {"path": str(path)}})
        assert_one_line_error(_build(tmp_path, cat), str(path))


def test_folder_without_police_files(tmp_path):
    (tmp_path / "police").mkdir()
    (tmp_path / "police" / "notes.txt").write_text("nothing here")
    cat = write_catalog(tmp_path, layers={"crimes": {"path": str(tmp_path / "police")}})
    assert_one_line_error(_build(tmp_path, cat), str(tmp_path / "police"), "no file matching")
