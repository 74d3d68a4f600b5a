"""Bad input diagnosed where it is: the file, the column and an example value, in validate as in
build; truncated downloads and header-only files named; and every hint, followed, works."""

from __future__ import annotations

import csv
import io
import json

from conftest import one_line_error, police_csv_text, run_cli, write_catalog


def rows_of(month="2016-07") -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(police_csv_text(month))))
    return rows[0], rows[1:]


def write(path, header, rows, *, final_newline=True) -> None:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    text = buf.getvalue()
    path.write_text(text if final_newline else text.rstrip("\n"), encoding="utf-8")


def crimes_catalog(tmp_path, path):
    return write_catalog(tmp_path, layers={"crimes": {"path": str(path)}})


def build(tmp_path, cat, district="Calderdale"):
    return run_cli("build", "--catalog", str(cat), "--district", district, "--out", str(tmp_path / "o"))


def test_a_month_column_resaved_by_excel_names_file_column_and_value(tmp_path):
    header, rows = rows_of()
    m = header.index("Month")
    for r in rows:
        r[m] = "07/2016"  # what Excel makes of 2016-07 on a re-save
    path = tmp_path / "2016-07-west-yorkshire-street.csv"
    write(path, header, rows)
    cat = crimes_catalog(tmp_path, path)
    for res in (run_cli("validate", "--catalog", str(cat)), build(tmp_path, cat)):
        msg = one_line_error(res, str(path), "column 'Month'", "Month '07/2016' is not YYYY-MM", "row 2")
        assert "lies in" not in msg  # not blamed on the district
    # the fix the message points to: the month as YYYY-MM again
    for r in rows:
        r[m] = "2016-07"
    write(path, header, rows)
    assert run_cli("validate", "--catalog", str(cat)).returncode == 0


def test_some_bad_months_are_a_counted_drop(tmp_path):
    from localprofile.catalog import load_catalog
    from localprofile.layers import police_uk_street

    header, rows = rows_of()
    m = header.index("Month")
    for r in rows[:7]:
        r[m] = "07/2016"
    path = tmp_path / "2016-07-west-yorkshire-street.csv"
    write(path, header, rows)
    cat = load_catalog(crimes_catalog(tmp_path, path))
    acc = police_uk_street.load(cat.paths("crimes"), cat.layers["crimes"]).account
    assert acc.dropped["Month not YYYY-MM"] == 7
    assert acc.read == len(rows) == acc.used + acc.n_dropped


def test_coordinates_swapped_throughout_a_police_file_stop_with_one_line(tmp_path):
    header, rows = rows_of()
    lo, la = header.index("Longitude"), header.index("Latitude")
    for r in rows:
        r[lo], r[la] = r[la], r[lo]
    path = tmp_path / "2016-07-west-yorkshire-street.csv"
    write(path, header, rows)
    cat = crimes_catalog(tmp_path, path)
    for res in (run_cli("validate", "--catalog", str(cat)), build(tmp_path, cat)):
        one_line_error(res, str(path), "column 'Longitude'", "look swapped", "holds latitudes")


def test_a_truncated_download_drops_its_short_row_and_names_the_file(tmp_path):
    header, rows = rows_of()
    last = rows[-1]
    cut = last[: header.index("LSOA code")]  # cut off mid-row: no LSOA code, no crime type ...
    path = tmp_path / "2016-07-west-yorkshire-street.csv"
    write(path, header, [*rows[:-1], cut], final_newline=False)
    cat = crimes_catalog(tmp_path, path)
    res = build(tmp_path, cat)
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    acc = s["layers"]["crimes"]
    reason = f"truncated row: {path} ends mid-row (a download cut off?)"
    assert acc["dropped"][reason] == 1
    assert acc["read"] == len(rows) == acc["used"] + sum(acc["dropped"].values())
    html = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    assert "truncated row" in html and path.name in html
    # a complete file (final newline, every field) loses no row to truncation
    write(path, header, rows)
    assert build(tmp_path, cat).returncode == 0
    s = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    assert not any(r.startswith("truncated") for r in s["layers"]["crimes"]["dropped"])


def test_a_header_only_file_is_a_warning_in_validate_and_named_in_the_profile(tmp_path):
    header, rows = rows_of()
    full = tmp_path / "2016-07-west-yorkshire-street.csv"
    write(full, header, rows)
    empty = tmp_path / "2017-07-west-yorkshire-street.csv"
    write(empty, header, [])
    cat = write_catalog(tmp_path, layers={"crimes": {"path": [str(full), str(empty)]}})
    res = run_cli("validate", "--catalog", str(cat))
    assert res.returncode == 0, res.stderr
    assert f"warning: {empty}: 0 rows (only a header), in layer 'crimes'" in res.stderr
    assert build(tmp_path, cat).returncode == 0
    html = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    assert f"file with only a header (0 rows): {empty}" in html
    # every file header-only: the build names the file, not the district
    only = write_catalog(tmp_path, layers={"crimes": {"path": str(empty)}})
    one_line_error(build(tmp_path, only), str(empty), "no rows: only a header")
    one_line_error(run_cli("validate", "--catalog", str(only)), str(empty), "no rows")


def test_the_encoding_hint_names_a_key_that_works(tmp_path):
    path = tmp_path / "schools.csv"
    src = write_catalog(tmp_path)  # to find the shipped schools file
    import yaml

    base = yaml.safe_load(src.read_text(encoding="utf-8"))
    school = base["layers"]["schools"]
    text = open(school["path"], "rb").read().decode("cp1252")
    text = text.replace("School", "Schöol", 1)  # an accented name, saved as Windows-1252
    path.write_bytes(text.encode("cp1252"))
    cat = write_catalog(tmp_path, layers={"schools": {"path": str(path), "encoding": "utf-8"}})
    msg = one_line_error(run_cli("validate", "--catalog", str(cat)), str(path), "not valid utf-8 text")
    assert "encoding: cp1252" in msg and "beside its path" in msg
    # follow the hint: the layer's own encoding key, beside path
    fixed = write_catalog(tmp_path, layers={"schools": {"path": str(path), "encoding": "cp1252"}})
    assert run_cli("validate", "--catalog", str(fixed)).returncode == 0
    # and the place the old hint sent people, under options, is refused by the adapter
    wrong = write_catalog(tmp_path, layers={"schools": {"path": str(path), "options": {"encoding": "cp1252"}}})
    assert run_cli("validate", "--catalog", str(wrong)).returncode == 2


# --- the generic point adapter (every other CSV adapter shares read_csv and its checks) -------

from conftest import DATA  # noqa: E402

OCG = DATA / "restricted" / "SYNTHETIC_ocg_members.csv"


def ocg_rows() -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(OCG.read_text(encoding="utf-8"))))
    return rows[0], rows[1:]


def load_layer(cat_path, name):
    from localprofile.catalog import load_catalog
    from localprofile.layers import ADAPTERS
    from localprofile.loading import LoadContext

    cat = load_catalog(cat_path)
    return ADAPTERS[cat.layers[name].adapter].load(cat.paths(name), cat.layers[name], LoadContext(cat))


def test_a_truncated_point_file_drops_its_short_row_naming_the_file(tmp_path):
    from localprofile.validate import truncated_reason

    header, rows = ocg_rows()
    cut = rows[-1][: header.index("Easting")]  # cut off after the postcode: it would be placed by it
    path = tmp_path / "ocg.csv"
    write(path, header, [*rows[:-1], cut], final_newline=False)
    cat = write_catalog(tmp_path, layers={"ocg_members": {"path": str(path)}}, restricted=True)
    acc = load_layer(cat, "ocg_members").account
    assert acc.dropped[truncated_reason(path)] == 1
    assert acc.read == len(rows) == acc.used + acc.n_dropped
    # validate says so too: the analyst may want to download it again
    res = run_cli("validate", "--catalog", str(cat), "--audience", "force")
    assert res.returncode == 0, res.stderr
    assert f"warning: {path} ends mid-row (a download cut off?): its last row is dropped, in layer 'ocg_members'" in res.stderr
    # the same rows with a final newline: a complete file, nothing dropped as truncated
    write(path, header, rows)
    whole = load_layer(cat, "ocg_members").account
    assert not any(r.startswith("truncated") for r in whole.dropped)
    assert whole.used == acc.used + 1


def test_a_header_only_point_file_is_a_warning_in_validate_and_stops_alone(tmp_path):
    header, rows = ocg_rows()
    full, empty = tmp_path / "ocg.csv", tmp_path / "ocg_2.csv"
    write(full, header, rows)
    write(empty, header, [])
    cat = write_catalog(tmp_path, layers={"ocg_members": {"path": [str(full), str(empty)]}}, restricted=True)
    res = run_cli("validate", "--catalog", str(cat), "--audience", "force")
    assert res.returncode == 0, res.stderr
    assert f"warning: {empty}: 0 rows (only a header), in layer 'ocg_members'" in res.stderr
    assert f"file with only a header (0 rows): {empty}" in load_layer(cat, "ocg_members").account.notes
    # the layer's only file is a header: one line naming it, exit 2
    only = write_catalog(tmp_path, layers={"ocg_members": {"path": str(empty)}}, restricted=True)
    one_line_error(run_cli("validate", "--catalog", str(only), "--audience", "force"), str(empty), "no rows: only a header")


# --- every hint, followed, works ------------------------------------------------------------


def test_the_point_adapter_hint_options_columns_works(tmp_path):
    header, rows = ocg_rows()
    renamed = ["PC" if h == "Postcode" else "E_BNG" if h == "Easting" else "N_BNG" if h == "Northing" else h
               for h in header]
    path = tmp_path / "sites.csv"
    write(path, renamed, rows)
    spec = {"adapter": "points", "path": str(path), "vintage": "v", "licence": "l", "attribution": "a",
            "sensitivity": "open", "label": "Sites"}
    cat = write_catalog(tmp_path, layers={"sites": spec})
    msg = one_line_error(run_cli("validate", "--catalog", str(cat)), str(path), "options.columns")
    assert "no location columns" in msg
    fixed = write_catalog(tmp_path, layers={"sites": {**spec, "options": {"columns": {"easting": "E_BNG", "northing": "N_BNG"}}}})
    res = run_cli("validate", "--catalog", str(fixed))
    assert res.returncode == 0, res.stderr
    assert load_layer(fixed, "sites").account.used == len(rows)


def test_the_lsoa_table_hint_options_code_works(tmp_path):
    src = DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv"
    rows = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8"))))
    i = rows[0].index("LSOA Code")
    table = [["Area", "Reports"], *[[r[i], str(n % 7)] for n, r in enumerate(rows[1:])]]
    path = tmp_path / "reports.csv"
    write(path, table[0], table[1:])
    spec = {"adapter": "lsoa_table", "path": str(path), "vintage": "v", "licence": "l", "attribution": "a",
            "sensitivity": "open", "label": "Reports"}
    cat = write_catalog(tmp_path, layers={"reports": spec})
    one_line_error(run_cli("validate", "--catalog", str(cat)), str(path), "missing column 'LSOA code'", "options.code")
    fixed = write_catalog(tmp_path, layers={"reports": {**spec, "options": {"code": "Area"}}})
    res = run_cli("validate", "--catalog", str(fixed))
    assert res.returncode == 0, res.stderr
    assert load_layer(fixed, "reports").account.used == len(table) - 1


def test_the_census2021_hint_options_column_works(tmp_path):
    src = DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv"
    rows = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8"))))
    code, name, persons = rows[0].index("LSOA Code"), rows[0].index("LSOA Name"), rows[0].index("Persons")
    header = ["date", "geography", "geography code", "Residents"]
    body = [["2021", r[name], r[code], r[persons].replace(",", "")] for r in rows[1:]]
    path = tmp_path / "census2021.csv"
    write(path, header, body)
    spec = {"adapter": "census2021_population", "path": str(path), "vintage": "v", "licence": "l",
            "attribution": "a", "sensitivity": "open"}
    cat = write_catalog(tmp_path, layers={"census_population": None, "census21": spec})
    one_line_error(run_cli("validate", "--catalog", str(cat)), str(path), "total population", "options.column")
    fixed = write_catalog(tmp_path, layers={"census_population": None, "census21": {**spec, "options": {"column": "Residents"}}})
    res = run_cli("validate", "--catalog", str(fixed))
    assert res.returncode == 0, res.stderr
    assert load_layer(fixed, "census21").account.used == len(body)


# --- an LSOA table (lsoa_table) built from the shipped Census file -----------------------------


def reports_table():
    src = DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv"
    rows = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8"))))
    i = rows[0].index("LSOA Code")
    return ["LSOA11CD", "Reports"], [[r[i], str(n % 7)] for n, r in enumerate(rows[1:])]


def reports_catalog(tmp_path, path):
    spec = {"adapter": "lsoa_table", "path": str(path), "vintage": "v", "licence": "l", "attribution": "a",
            "sensitivity": "open", "label": "Reports"}
    return write_catalog(tmp_path, layers={"reports": spec})


def test_an_lsoa_table_with_no_lsoa_code_names_file_column_and_value(tmp_path):
    header, rows = reports_table()
    bad = [[f"LSOA {r[0][3:]}", r[1]] for r in rows]  # codes written without their E01 prefix
    path = tmp_path / "reports.csv"
    write(path, header, bad)
    cat = reports_catalog(tmp_path, path)
    one_line_error(run_cli("validate", "--catalog", str(cat)), str(path), "column 'LSOA11CD'", "row 2",
             f"LSOA11CD '{bad[0][0]}' is not an LSOA code")
    # only some rows bad: a counted drop, and the account adds up
    write(path, header, [*bad[:5], *rows[5:]])
    acc = load_layer(cat, "reports").account
    assert acc.dropped["LSOA code malformed (not E01 or W01 and 6 digits)"] == 5
    assert acc.read == len(rows) == acc.used + acc.n_dropped


def test_an_lsoa_table_cut_off_mid_row_or_with_only_a_header(tmp_path):
    from localprofile.validate import truncated_reason

    header, rows = reports_table()
    path = tmp_path / "reports.csv"
    write(path, header, [*rows[:-1], rows[-1][:1]], final_newline=False)  # the last row lost its count
    cat = reports_catalog(tmp_path, path)
    acc = load_layer(cat, "reports").account
    assert acc.dropped[truncated_reason(path)] == 1
    assert acc.used == len(rows) - 1 and acc.read == acc.used + acc.n_dropped
    write(path, header, [])
    one_line_error(run_cli("validate", "--catalog", str(cat)), str(path), "no rows: only a header")


def test_a_census2021_file_of_another_geography_names_file_column_and_value(tmp_path):
    src = DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv"
    rows = list(csv.reader(io.StringIO(src.read_text(encoding="utf-8"))))
    msoa, name, persons = rows[0].index("MSOA Code"), rows[0].index("MSOA Name"), rows[0].index("Persons")
    header = ["date", "geography", "geography code", "Residence type: Total; measures: Value"]
    body = [["2021", r[name], r[msoa], r[persons].replace(",", "")] for r in rows[1:]]  # an MSOA download
    path = tmp_path / "census2021.csv"
    write(path, header, body)
    spec = {"adapter": "census2021_population", "path": str(path), "vintage": "v", "licence": "l",
            "attribution": "a", "sensitivity": "open"}
    cat = write_catalog(tmp_path, layers={"census_population": None, "census21": spec})
    one_line_error(run_cli("validate", "--catalog", str(cat)), str(path), "column 'geography code'", "row 2",
             f"geography code '{body[0][2]}' is not an LSOA code")
    # an LSOA file with a few other geographies (a district total row, say) keeps them as drops
    lsoa = rows[0].index("LSOA Code")
    body = [["2021", r[name], r[lsoa], r[persons].replace(",", "")] for r in rows[1:]]
    write(path, header, [["2021", "Leeds", "E08000035", "751485"], *body])
    acc = load_layer(cat, "census21").account
    assert acc.dropped["not an LSOA (another geography in the file)"] == 1
    assert acc.read == len(body) + 1 == acc.used + acc.n_dropped


def test_a_police_file_cut_inside_a_quoted_field_is_a_truncated_row_not_a_malformed_csv(tmp_path):
    from localprofile.catalog import load_catalog
    from localprofile.layers import police_uk_street
    from localprofile.validate import truncated_reason

    header, rows = rows_of()
    loc = header.index("Location")
    path = tmp_path / "2016-07-west-yorkshire-street.csv"
    write(path, header, rows[:-1])
    last = rows[-1]
    head = ",".join(f'"{v}"' if "," in v else v for v in last[:loc])
    with open(path, "a", encoding="utf-8") as f:
        f.write(f'{head},"{last[loc][:8]}')  # cut off inside the quoted Location: "On or ne
    cat = load_catalog(crimes_catalog(tmp_path, path))
    acc = police_uk_street.load(cat.paths("crimes"), cat.layers["crimes"]).account
    assert acc.dropped[truncated_reason(path)] == 1
    assert acc.read == len(rows) == acc.used + acc.n_dropped


# --- the other police.uk readers (no shipped files: the one-row cases of the adapter table) -----


def test_stop_search_and_outcomes_name_header_only_files_and_all_bad_months(tmp_path):
    from test_adapter_bad_inputs import CASES

    from localprofile.catalog import LayerSpec
    from localprofile.errors import InputError
    from localprofile.layers import ADAPTERS

    for adapter, kind in (("police_uk_stop_search", "stop-and-search"), ("police_uk_outcomes", "outcomes")):
        text = CASES[adapter][0]
        full, empty = tmp_path / f"2017-07-west-yorkshire-{kind}.csv", tmp_path / f"2017-08-west-yorkshire-{kind}.csv"
        full.write_text(text, encoding="utf-8")
        empty.write_text(text.splitlines()[0] + "\n", encoding="utf-8")
        spec = LayerSpec(adapter=adapter, path=str(full), vintage="v", licence="l", attribution="a", sensitivity="open")
        data = ADAPTERS[adapter].load([full, empty], spec)
        assert data.meta["empty_files"] == [str(empty)]
        assert f"file with only a header (0 rows): {empty}" in data.account.notes
        if adapter == "police_uk_outcomes":
            full.write_text(text.replace("2017-07", "07/2017"), encoding="utf-8")
            try:
                ADAPTERS[adapter].load([full], spec)
            except InputError as exc:
                msg = str(exc)
            else:
                raise AssertionError("a file of no valid Month loaded")
            assert str(full) in msg and "column 'Month'" in msg and "Month '07/2017' is not YYYY-MM" in msg


def test_a_truncated_or_header_only_schools_file(tmp_path):
    from localprofile.validate import truncated_reason

    src = DATA / "schools" / "edubase_2017_west_yorkshire_extract.csv"
    rows = list(csv.reader(io.StringIO(src.read_bytes().decode("cp1252"))))
    header, body = rows[0], rows[1:]
    path = tmp_path / "schools.csv"
    cut = body[-1][: header.index("Type of establishment")]  # after the postcode: placeable by it
    write(path, header, [*body[:-1], cut], final_newline=False)
    cat = write_catalog(tmp_path, layers={"schools": {"path": str(path)}})
    acc = load_layer(cat, "schools").account
    assert acc.dropped[truncated_reason(path)] == 1
    assert acc.read == len(body) == acc.used + acc.n_dropped
    # only a header: one line naming the file (it used to end in an IndexError)
    write(path, header, [])
    one_line_error(run_cli("validate", "--catalog", str(cat)), str(path), "no rows: only a header")
