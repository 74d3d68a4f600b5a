"""Bad input in the lookup, deprivation, census and postcode files, diagnosed where it is: a file
in which no row has a valid code is one line naming the file, the column and a value; a download
cut off mid-row drops its short row under "truncated row" naming the file; a header-only file is
named in validate (a warning among other files, an error alone); and the fix the message points
to works. Run on the shipped files, as ``validate`` reads them."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from conftest import DATA, one_line_error, run_cli, write_catalog

from localprofile.validate import empty_file_note, truncated_reason

# catalog layer -> (adapter, shipped file [zip member], the code column to spoil, the column
# whose values are put in its place (another geography), the words of the message)
CASES = {
    "lsoa_lookup": ("lsoa_lookup", "lookups/lsoa11_msoa_lad_west_yorkshire.csv", "LSOA Code", "MSOA Code",
                    "is not an LSOA code"),
    "lsoa_lookup_district": ("lsoa_lookup", "lookups/lsoa11_msoa_lad_west_yorkshire.csv", "Local authority code",
                             "Region code", "is not a district code"),
    "imd2019": ("imd2019", "deprivation/imd2019_lsoa11_ranks_deciles_west_yorkshire.csv", "lsoa11_code", None,
                "is not an LSOA code"),
    "census_population": ("census2011_population", "census/census2011_population_households_lsoa11_west_yorkshire.csv",
                          "LSOA Code", "MSOA Code", "is not an LSOA code"),
    "ons_postcodes": ("ons_postcode_directory", "postcodes/ons_postcode_oa_lsoa_msoa_lad_may22_west_yorkshire.zip",
                      "pcds", "oa11cd", "is not a postcode"),
    "codepoint_open": ("codepoint_open", "postcodes/codepoint_open_2025_west_yorkshire.zip", "Postcode",
                       "Admin_ward_code", "is not a postcode"),
}
LAYER = {"lsoa_lookup_district": "lsoa_lookup"}


def shipped_rows(rel: str) -> list[list[str]]:
    """The shipped file's rows (header first), as csv reads them; of a zip, its one CSV."""
    path = DATA / rel
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as zf:
            (member,) = [n for n in zf.namelist() if n.endswith(".csv")]
            text = zf.read(member).decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text)))


def write(path, rows, *, final_newline=True) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    text = buf.getvalue()
    path.write_text(text if final_newline else text.rstrip("\n"), encoding="utf-8")


def catalog(tmp_path, case, *paths):
    layer = LAYER.get(case, case)
    return write_catalog(tmp_path, layers={layer: {"path": [str(p) for p in paths] if len(paths) > 1 else str(paths[0])}})


def validate(cat):
    return run_cli("validate", "--catalog", str(cat))


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_code_column_of_another_geography_names_file_column_and_value(tmp_path, case):
    _, rel, column, other, words = CASES[case]
    rows = shipped_rows(rel)
    header, body = rows[0], rows[1:]
    c = header.index(column)
    spoilt = [r[:] for r in body]
    for r in spoilt:
        # the codes of another geography (an MSOA, an output area, a ward) in the code column
        r[c] = r[header.index(other)] if other else "E02" + r[c][3:]
    path = tmp_path / f"{case}.csv"
    write(path, [header, *spoilt])
    res = validate(catalog(tmp_path, case, path))
    one_line_error(res, str(path), f"column '{column}'", "row 2", f"{column} '{spoilt[0][c]}' {words}")
    # the fix the message points to: the codes, in the column named
    write(path, rows)
    res = validate(catalog(tmp_path, case, path))
    assert res.returncode == 0, res.stderr


def test_some_bad_codes_are_a_counted_drop(tmp_path):
    from test_bad_input_step4 import load_layer

    rows = shipped_rows(CASES["imd2019"][1])
    for r in rows[1:6]:
        r[0] = "Leeds 001A"
    path = tmp_path / "imd.csv"
    write(path, rows)
    acc = load_layer(catalog(tmp_path, "imd2019", path), "imd2019").account
    assert acc.dropped["LSOA code malformed (not E01 or W01 and 6 digits)"] == 5
    assert acc.read == len(rows) - 1 == acc.used + acc.n_dropped


@pytest.mark.parametrize("case", sorted(set(CASES) - set(LAYER)))
def test_a_file_cut_off_mid_row_drops_its_short_row_and_validate_names_it(tmp_path, case):
    from test_bad_input_step4 import load_layer

    _, rel, column, _, _ = CASES[case]
    rows = shipped_rows(rel)
    path = tmp_path / f"{case}.csv"
    write(path, [*rows[:-1], rows[-1][:2]], final_newline=False)  # the download stopped mid-row
    cat = catalog(tmp_path, case, path)
    acc = load_layer(cat, LAYER.get(case, case)).account
    assert acc.dropped[truncated_reason(path)] == 1
    assert acc.read == len(rows) - 1 == acc.used + acc.n_dropped
    res = validate(cat)
    assert res.returncode == 0, res.stderr
    assert f"warning: {path} ends mid-row (a download cut off?): its last row is dropped" in res.stderr


@pytest.mark.parametrize("case", sorted(set(CASES) - set(LAYER)))
def test_a_header_only_file_alone_stops_and_among_others_is_a_warning(tmp_path, case):
    from test_bad_input_step4 import load_layer

    _, rel, _, _, _ = CASES[case]
    rows = shipped_rows(rel)
    empty = tmp_path / f"{case}_empty.csv"
    write(empty, rows[:1])
    one_line_error(validate(catalog(tmp_path, case, empty)), str(empty), "no rows: only a header")
    full = tmp_path / f"{case}.csv"
    write(full, rows)
    cat = catalog(tmp_path, case, full, empty)
    data = load_layer(cat, LAYER.get(case, case))
    assert data.account.notes[empty_file_note(empty)] == 0
    assert data.meta["empty_files"] == [str(empty)]
    res = validate(cat)
    assert res.returncode == 0 and f"warning: {empty}: 0 rows (only a header)" in res.stderr, res.stderr


def optional_layer(tmp_path, name, adapter, text, instead_of=None):
    path = tmp_path / f"{name}.csv"
    path.write_text(text, encoding="utf-8")
    spec = {"adapter": adapter, "path": str(path), "vintage": "v", "licence": "l", "attribution": "a",
            "sensitivity": "open"}
    return path, write_catalog(tmp_path, layers={name: spec, **({instead_of: None} if instead_of else {})})


def test_the_2011_to_2021_lookup_names_file_column_and_value_and_its_cut_row(tmp_path):
    from test_bad_input_step4 import load_layer

    rows = "LSOA11CD,LSOA21CD,CHGIND\n" + "".join(f"E0101{i:04d},E0101{i:04d},U\n" for i in range(1, 30))
    path, cat = optional_layer(tmp_path, "lsoa_vintages", "lsoa11_lsoa21_lookup",
                               rows.replace("E0101", "Leeds 0"))
    one_line_error(validate(cat), str(path), "column 'LSOA11CD'", "row 2", "LSOA11CD 'Leeds 00001' is not an LSOA code")
    path.write_text(rows + "E01019999,E0", encoding="utf-8")  # cut off inside the last row
    acc = load_layer(cat, "lsoa_vintages").account
    assert acc.dropped[truncated_reason(path)] == 1 and acc.used == 29 == acc.read - acc.n_dropped


def test_iod2025_and_census2021_drop_a_cut_row_naming_the_file(tmp_path):
    from test_bad_input_step4 import load_layer

    iod = "LSOA code (2021),IMD_rank,IMD_decile\n" + "".join(f"E0101{i:04d},{i},1\n" for i in range(1, 30))
    path, cat = optional_layer(tmp_path, "iod", "iod2025", iod + "E01019999,12")
    acc = load_layer(cat, "iod").account
    assert acc.dropped[truncated_reason(path)] == 1 and acc.used == 29
    census = ("date,geography,geography code,Residence type: Total; measures: Value\n"
              + "".join(f"2021,Leeds {i:03d}A,E0101{i:04d},1500\n" for i in range(1, 30)))
    path, cat = optional_layer(tmp_path, "census21", "census2021_population", census + "2021,Leeds 999A,E0101",
                               instead_of="census_population")
    acc = load_layer(cat, "census21").account
    assert acc.dropped[truncated_reason(path)] == 1 and acc.used == 29
    path.write_text(census.replace(",E0101", ",E0201"), encoding="utf-8")  # an MSOA download
    one_line_error(validate(cat), str(path), "column 'geography code'", "'E02010001' is not an LSOA code")


def test_code_point_open_without_a_header_as_os_ships_it(tmp_path):
    from test_bad_input_step4 import load_layer

    rows = shipped_rows(CASES["codepoint_open"][1])[1:]  # OS's files have no header row
    path = tmp_path / "wy.csv"
    write(path, [*rows[:-1], rows[-1][:3]], final_newline=False)
    cat = catalog(tmp_path, "codepoint_open", path)
    acc = load_layer(cat, "codepoint_open").account
    assert acc.dropped[truncated_reason(path)] == 1 and acc.read == len(rows) == acc.used + acc.n_dropped + 0
    spoilt = [[r[9], *r[1:]] for r in rows]  # the ward code where the postcode should be
    write(path, spoilt)
    one_line_error(validate(cat), str(path), "column 'Postcode'", "row 1", f"Postcode '{rows[0][9]}' is not a postcode")
