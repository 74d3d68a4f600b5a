"""Step 2, acceptance 3: police.uk months with LSOA 2021 codes and months with 2011 codes,
profiled together on one geography with the ONS lookup; without it, a one-line error."""

from __future__ import annotations

import csv
import io
import json

import pandas as pd
import pytest
from conftest import DATA, lookup_rows, police_csv_text, read_police_rows, run_cli, write_catalog

from localprofile.vintage import code_is_2021_only, month_vintages


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """2016-07 as published (2011 codes) and 2017-07 recoded as a 2021-coded month "2023-07":
    two Leeds LSOAs split (S), two merged (M), every other one unchanged (U)."""
    tmp = tmp_path_factory.mktemp("vintages")
    leeds = sorted(r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds")
    p1, p2, m1, m2 = leeds[10], leeds[20], leeds[30], leeds[31]
    split = {p1: ["E01035101", "E01035102"], p2: ["E01035103", "E01035104"]}
    merged = {m1: "E01035201", m2: "E01035201"}
    rows = []
    for r in lookup_rows():
        c = r["LSOA Code"]
        if c in split:
            rows += [(c, n, "S") for n in split[c]]
        elif c in merged:
            rows.append((c, merged[c], "M"))
        else:
            rows.append((c, c, "U"))
    lu = tmp / "LSOA11_LSOA21_LAD22_EW_LU.csv"
    pd.DataFrame(rows, columns=["LSOA11CD", "LSOA21CD", "CHGIND"]).to_csv(lu, index=False)

    reader = list(csv.reader(io.StringIO(police_csv_text("2017-07"))))
    header, body = reader[0], reader[1:]
    for i, r in enumerate(body):
        r[1] = "2023-07"
        if r[7] in split:
            r[7] = split[r[7]][i % 2]
        elif r[7] in merged:
            r[7] = merged[r[7]]
    month = tmp / "2023-07-west-yorkshire-street.csv"
    with open(month, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *body])
    layers = {"crimes": {"path": [str(DATA / "police_uk" / "2016-07.zip"), str(month)]}}
    (tmp / "without").mkdir()
    without = write_catalog(tmp / "without", layers=layers)
    layers["vintage_lookup"] = {
        "adapter": "lsoa11_lsoa21_lookup", "path": str(lu), "vintage": "test fixture",
        "licence": "test fixture", "attribution": "test fixture built from the ONS 2011 lookup", "sensitivity": "open",
    }
    (tmp / "with").mkdir()
    with_lookup = write_catalog(tmp / "with", layers=layers)
    return {"tmp": tmp, "without": without, "with": with_lookup, "leeds": set(leeds),
            "changed": {p1, p2, m1, m2}}


def test_months_are_told_apart_by_their_codes(mixed):
    assert code_is_2021_only(pd.Series(["E01033768", "E01033769", "W01001958", "W01001959"])).tolist() == [False, True, False, True]
    got = month_vintages(pd.Series(["2016-07", "2023-07", "2023-07"]), pd.Series(["E01011698", "E01011698", "E01035201"]))
    assert got == {"2016-07": "2011", "2023-07": "2021"}


def test_with_the_lookup_every_crime_counts_once(mixed, tmp_path):
    res = run_cli("build", "--catalog", str(mixed["with"]), "--district", "Leeds", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))
    leeds = mixed["leeds"]
    # independently: each month's rows whose original (2011) LSOA code lies in Leeds
    expected = sum(1 for r in read_police_rows() if r["LSOA code"] in leeds)
    assert s["themes"]["all_crime"]["crimes"] == expected
    assert s["period"]["months"] == ["2016-07", "2023-07"]
    conv = next(c for c in s["choices"] if c["what"] == "LSOA codes converted")
    assert "from LSOA 2021 to 2011" in conv["value"] and "2023-07" in conv["value"]
    assert "several counterparts" in conv["why"]  # the merged LSOA had two 2011 parents
    # the recoded LSOAs get their crimes back at LSOA level
    import geopandas as gpd

    table = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="lsoa").set_index("lsoa_code")
    orig = pd.Series([r["LSOA code"] for r in read_police_rows() if r["LSOA code"] in mixed["changed"]]).value_counts()
    assert int(table.loc[sorted(mixed["changed"]), "count_all_crime"].sum()) == int(orig.sum())
    for c in sorted(mixed["changed"])[:2]:  # split LSOAs: exact, their children map back uniquely
        assert table.loc[c, "count_all_crime"] == orig[c]


def test_without_the_lookup_one_line_names_both_vintages(mixed, tmp_path):
    res = run_cli("build", "--catalog", str(mixed["without"]), "--district", "Leeds", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    msg = res.stderr
    assert "LSOA 2021 codes (2023-07)" in msg and "LSOA 2011 codes (2016-07)" in msg
    assert "lsoa11_lsoa21_lookup" in msg


def test_deprivation_of_another_vintage_is_refused(tmp_path):
    f7 = tmp_path / "File_7_IoD2025.csv"
    pd.DataFrame({
        "LSOA code (2021)": ["E01035001"],
        "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)": [100],
        "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)": [1],
    }).to_csv(f7, index=False)
    cat = write_catalog(tmp_path, layers={"imd2019": {"adapter": "iod2025", "path": str(f7)}})
    res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "LSOA 2021" in res.stderr and "LSOA 2011" in res.stderr and "imd2019" in res.stderr
