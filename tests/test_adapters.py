"""Layer adapters on the shipped real data and on the other formats analysts receive."""

from __future__ import annotations

import csv
import io
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from conftest import DATA, police_csv_text

from localprofile.catalog import LayerSpec
from localprofile.errors import InputError
from localprofile.layers import (
    census2011_population,
    imd2019,
    lsoa_boundaries,
    lsoa_lookup,
    police_uk_street,
)


def spec(adapter: str, **kw) -> LayerSpec:
    return LayerSpec(adapter=adapter, path="x", vintage="v", licence="l", attribution="a",
                     sensitivity="open", **kw)


POLICE = spec("police_uk_street")


def police_rows(month="2016-07") -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(police_csv_text(month))))
    return rows[0], rows[1:]


def write_rows(path: Path, header, rows, encoding="utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as f:
        csv.writer(f).writerows([header, *rows])
    return path


# --- police.uk street-level crime ---------------------------------------------------------

def test_zip_folder_and_csv_give_the_same_rows(tmp_path):
    z = police_uk_street.load([DATA / "police_uk" / "2016-07.zip"], POLICE)
    with zipfile.ZipFile(DATA / "police_uk" / "2016-07.zip") as zf:
        zf.extractall(tmp_path / "extracted")
    folder = police_uk_street.load([tmp_path / "extracted"], POLICE)
    single = police_uk_street.load(
        [tmp_path / "extracted" / "2016-07" / "2016-07-west-yorkshire-street.csv"], POLICE
    )
    assert z.account.read == folder.account.read == single.account.read == 27176
    cols = ["crime_id", "month", "crime_type", "lsoa_code", "location"]
    pd.testing.assert_frame_equal(z.frame[cols], folder.frame[cols])
    pd.testing.assert_frame_equal(z.frame[cols], single.frame[cols])
    assert z.frame.crs.to_epsg() == 27700


def test_police_schema_and_asb_without_crime_id():
    data = police_uk_street.load([DATA / "police_uk" / "2017-07.zip"], POLICE)
    f = data.frame
    assert list(f.columns) == [
        "crime_id", "month", "falls_within", "longitude", "latitude", "location", "lsoa_code",
        "lsoa_name", "crime_type", "last_outcome", "source", "geometry",
    ]
    asb = f["crime_type"] == "Anti-social behaviour"
    assert asb.sum() > 1000 and f.loc[asb, "crime_id"].isna().all()
    assert f.loc[~asb, "crime_id"].notna().all()
    x = f.geometry.x
    assert x.between(380_000, 470_000).all()  # West Yorkshire and its edges, in metres


def test_duplicate_crime_ids_across_files_are_dropped_and_counted(tmp_path):
    header, rows = police_rows()
    crimes = [r for r in rows if r[0]][:200]
    asb = [r for r in rows if not r[0]][:5]
    # two differently named extracts that overlap (not the same police.uk file)
    a = write_rows(tmp_path / "extract_a.csv", header, crimes[:120] + asb)
    b = write_rows(tmp_path / "extract_b.csv", header, crimes[80:] + asb)
    data = police_uk_street.load([a, b], POLICE)
    acc = data.account
    assert acc.read == 250
    assert acc.dropped == {"duplicate Crime ID (same crime in two files)": 40}
    assert acc.used == 210  # 200 distinct crimes + ASB rows, which have no ID to match on
    assert data.frame["crime_id"].dropna().is_unique


def test_the_same_month_loaded_twice_is_counted_once(tmp_path):
    """An archive and its unpacked copy: the second copy is dropped whole, ASB included."""
    z = DATA / "police_uk" / "2016-07.zip"
    with zipfile.ZipFile(z) as zf:
        zf.extractall(tmp_path / "unpacked")
    once = police_uk_street.load([z], POLICE)
    twice = police_uk_street.load([z, tmp_path / "unpacked"], POLICE)
    assert twice.account.read == 2 * once.account.read
    assert twice.account.used == once.account.used
    assert twice.account.dropped["same police.uk file read twice (month and force already loaded)"] == 27176
    asb = lambda d: int((d.frame["crime_type"] == "Anti-social behaviour").sum())  # noqa: E731
    assert asb(twice) == asb(once)


def test_an_unusable_first_copy_does_not_hide_a_usable_second(tmp_path):
    header, rows = police_rows()
    row = [r for r in rows if r[0] and r[4]][0]
    broken = row[:]
    broken[1] = "bad month"
    path = write_rows(tmp_path / "x.csv", header, [broken, row, [""] * len(header)])
    data = police_uk_street.load([path], POLICE)
    assert data.account.dropped == {"Month not YYYY-MM": 1, "blank row": 1}
    assert data.account.used == 1 and data.frame["month"].iloc[0] == "2016-07"


def test_rows_without_coordinates_count_at_lsoa_level_or_are_dropped(tmp_path):
    header, rows = police_rows()
    sample = [r[:] for r in rows if r[4] and r[7]][:10]
    sample[0][4] = sample[0][5] = ""  # no coordinates, LSOA kept
    sample[1][4] = "not-a-number"  # unparseable coordinate, LSOA kept
    sample[2][4] = sample[2][5] = ""  # neither coordinates ...
    sample[2][7] = ""  # ... nor LSOA: dropped
    sample[3][1] = "July 2016"  # unusable month: dropped
    sample[4][7] = ""  # coordinates but no LSOA: kept (placed by point-in-polygon later)
    sample[5][4], sample[5][5] = "-1.5", "40.0"  # latitude outside Great Britain
    path = write_rows(tmp_path / "x.csv", header, sample)
    data = police_uk_street.load([path], POLICE)
    acc = data.account
    assert acc.read == 10 and acc.used == 8
    assert acc.dropped == {"Month not YYYY-MM": 1, "no coordinates and no LSOA code": 1}
    assert acc.notes == {
        "no coordinates: counted at LSOA level only": 1,
        "coordinates not numbers: counted at LSOA level only": 1,
        "coordinates outside Great Britain: counted at LSOA level only": 1,
    }
    assert int(data.frame.geometry.isna().sum()) == 3
    assert int(data.frame["lsoa_code"].isna().sum()) == 1


def test_cp1252_file_loads_with_auto_or_declared_encoding(tmp_path):
    header, rows = police_rows()
    sample = [r[:] for r in rows[:5]]
    sample[0][6] = "On or near Café Street"
    path = write_rows(tmp_path / "cp.csv", header, sample, encoding="cp1252")
    for enc in ("auto", "cp1252"):  # auto: UTF-8 fails, Windows-1252 is tried next
        data = police_uk_street.load([path], spec("police_uk_street", encoding=enc))
        assert data.frame["location"].iloc[0] == "On or near Café Street"
    with pytest.raises(InputError, match="not valid utf-8 text.*encoding"):
        police_uk_street.load([path], spec("police_uk_street", encoding="utf-8"))
    utf8 = write_rows(tmp_path / "u.csv", header, sample, encoding="utf-8")
    assert police_uk_street.load([utf8], POLICE).frame["location"].iloc[0] == "On or near Café Street"


def test_missing_required_column_names_file_and_column(tmp_path):
    header, rows = police_rows()
    i = header.index("LSOA code")
    path = write_rows(tmp_path / "nolsoa.csv", [h for j, h in enumerate(header) if j != i],
                      [[v for j, v in enumerate(r) if j != i] for r in rows[:3]])
    with pytest.raises(InputError) as exc:
        police_uk_street.load([path], POLICE)
    assert str(path) in str(exc.value) and "column 'LSOA code'" in str(exc.value)


def test_zip_without_street_files(tmp_path):
    z = tmp_path / "empty.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("2016-07/2016-07-west-yorkshire-outcomes.csv", "a,b\n1,2\n")
    with pytest.raises(InputError, match="no member matching"):
        police_uk_street.load([z], POLICE)


# --- LSOA boundaries ----------------------------------------------------------------------

GEOJSON = DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson"
BOUNDS = spec("lsoa_boundaries")


def test_boundaries_from_geojson_geopackage_and_shapefile(tmp_path):
    ref = lsoa_boundaries.load([GEOJSON], BOUNDS)
    gdf = gpd.read_file(GEOJSON)
    gdf.to_file(tmp_path / "b.gpkg", driver="GPKG")
    gdf.to_crs(27700).to_file(tmp_path / "b.shp")
    for path in (tmp_path / "b.gpkg", tmp_path / "b.shp"):
        other = lsoa_boundaries.load([path], BOUNDS)
        assert other.frame["lsoa_code"].tolist() == ref.frame["lsoa_code"].tolist()
        assert other.frame.crs.to_epsg() == 27700
        np.testing.assert_allclose(other.frame.area, ref.frame.area, rtol=1e-6)


def test_boundaries_2021_codes_are_detected(tmp_path):
    gdf = gpd.read_file(GEOJSON).rename(columns={"LSOA11CD": "LSOA21CD", "LSOA11NM": "LSOA21NM"})
    gdf.to_file(tmp_path / "b21.geojson")
    data = lsoa_boundaries.load([tmp_path / "b21.geojson"], BOUNDS)
    assert data.meta["vintage"] == "2021" and len(data.frame) == 1388


def test_boundaries_without_a_code_field(tmp_path):
    gdf = gpd.read_file(GEOJSON).drop(columns=["LSOA11CD"])
    gdf.to_file(tmp_path / "nocode.geojson")
    with pytest.raises(InputError, match="LSOA11CD"):
        lsoa_boundaries.load([tmp_path / "nocode.geojson"], BOUNDS)


def test_boundaries_file_that_is_not_geographic(tmp_path):
    bad = tmp_path / "bad.geojson"
    bad.write_text("this is not json")
    with pytest.raises(InputError, match="cannot read"):
        lsoa_boundaries.load([bad], BOUNDS)


# --- LSOA -> district lookup ----------------------------------------------------------------

LOOKUP = DATA / "lookups" / "lsoa11_msoa_lad_west_yorkshire.csv"


def test_lookup_accepts_ons_column_names(tmp_path):
    df = pd.read_csv(LOOKUP, dtype=str)
    ons = df.rename(columns={"LSOA Code": "LSOA11CD", "LSOA Name": "LSOA11NM", "MSOA Code": "MSOA11CD",
                             "Local authority code": "LAD19CD", "Local authority name": "LAD19NM"})
    ons = ons[["LSOA11CD", "LSOA11NM", "MSOA11CD", "LAD19CD", "LAD19NM"]]
    ons.to_csv(tmp_path / "ons.csv", index=False)
    a = lsoa_lookup.load([LOOKUP], spec("lsoa_lookup")).frame
    b = lsoa_lookup.load([tmp_path / "ons.csv"], spec("lsoa_lookup")).frame
    pd.testing.assert_series_equal(a["lad_code"], b["lad_code"])
    assert b["force_name"].isna().all()


def test_lookup_with_one_row_per_output_area(tmp_path):
    df = pd.read_csv(LOOKUP, dtype=str)
    oa = pd.concat([df, df.head(30)], ignore_index=True)  # 30 LSOAs listed twice
    oa.loc[len(df), "Local authority code"] = "E08000999"  # one repeat disagrees
    oa.to_csv(tmp_path / "oa.csv", index=False)
    data = lsoa_lookup.load([tmp_path / "oa.csv"], spec("lsoa_lookup"))
    assert data.account.read == 1418 and data.account.used == 1388
    assert data.account.dropped == {
        "repeated LSOA row": 29, "LSOA listed under a second district (first kept)": 1,
    }


# --- IMD 2019 -----------------------------------------------------------------------------

IMD = DATA / "deprivation" / "imd2019_lsoa11_ranks_deciles_west_yorkshire.csv"


def test_imd_file7_column_names(tmp_path):
    df = pd.read_csv(IMD, dtype=str)
    f7 = pd.DataFrame({
        "LSOA code (2011)": df["lsoa11_code"],
        "LSOA name (2011)": "x",
        "Index of Multiple Deprivation (IMD) Score": "12.5",
        "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)": df["IMD_rank"].str.replace(".0", "", regex=False),
        "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)": df["IMD_decile"].str.replace(".0", "", regex=False),
        "Crime Rank (where 1 is most deprived)": df["Crime_rank"],
        "Crime Decile (where 1 is most deprived 10% of LSOAs)": df["Crime_decile"],
        "Income Deprivation Affecting Children Index (IDACI) Rank (where 1 is most deprived)": "1",
        "Income Deprivation Affecting Children Index (IDACI) Decile (where 1 is most deprived 10% of LSOAs)": "1",
    })
    f7.to_csv(tmp_path / "File_7.csv", index=False)
    a = imd2019.load([IMD], spec("imd2019")).frame
    b = imd2019.load([tmp_path / "File_7.csv"], spec("imd2019")).frame
    for col in ("imd_rank", "imd_decile", "crime_rank", "crime_decile"):
        assert a[col].tolist() == b[col].tolist(), col
    assert "income_rank" not in b.columns  # IDACI is not the income domain
    assert (b["idaci_rank"] == 1).all() and (b["idaci_decile"] == 1).all()  # but it is read, as idaci
    assert (b["imd_score"] == 12.5).all()


def test_imd_decile_out_of_range(tmp_path):
    df = pd.read_csv(IMD, dtype=str)
    df.loc[9, "IMD_decile"] = "11"
    df.to_csv(tmp_path / "imd.csv", index=False)
    with pytest.raises(InputError) as exc:
        imd2019.load([tmp_path / "imd.csv"], spec("imd2019"))
    assert "row 11" in str(exc.value) and "column 'IMD_decile'" in str(exc.value)


# --- Census 2011 population ---------------------------------------------------------------

CENSUS = DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv"


def test_census_repeated_persons_header_and_thousands_separators():
    data = census2011_population.load([CENSUS], spec("census2011_population"))
    with open(CENSUS, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    assert rows[0].count("Persons") == 3
    expected = {r[6]: int(r[9].replace(",", "")) for r in rows[1:]}
    got = dict(zip(data.frame["lsoa_code"], data.frame["population"]))
    assert got == expected
    assert any("," in r[9] for r in rows[1:])  # the file really has thousands separators
    assert data.frame["population"].dtype == np.int64


def test_census_duplicate_and_blank_codes_are_counted(tmp_path):
    shutil.copy(CENSUS, tmp_path / "c.csv")
    with open(tmp_path / "c.csv", "a", encoding="utf-8", newline="") as f:
        f.write(open(CENSUS, encoding="utf-8").read().splitlines()[1] + "\r\n")
        f.write(',,,,,,,,,"1,000",1000,0,10,1,400,2.5\r\n')
    data = census2011_population.load([tmp_path / "c.csv"], spec("census2011_population"))
    assert data.account.dropped == {"duplicate LSOA code": 1, "no LSOA code": 1}
    assert data.account.used == 1388


def test_lookup_balances_when_an_incomplete_row_comes_first(tmp_path):
    df = pd.read_csv(LOOKUP, dtype=str)
    first = df.iloc[[0]].copy()
    first["Local authority code"] = None
    pd.concat([first, df], ignore_index=True).to_csv(tmp_path / "l.csv", index=False)
    data = lsoa_lookup.load([tmp_path / "l.csv"], spec("lsoa_lookup"))
    assert data.account.to_dict()["dropped"] == {"missing LSOA code, district code or district name": 1}
    assert data.account.used == 1388  # the complete row of that LSOA is kept


def test_row_numbers_count_blank_lines_as_a_spreadsheet_does(tmp_path):
    text = IMD.read_text(encoding="utf-8").splitlines()
    text.insert(2, "")  # a blank line as row 3
    text[5] = text[5].replace(text[5].split(",")[1], "eleven", 1)  # row 6
    (tmp_path / "imd.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    with pytest.raises(InputError) as exc:
        imd2019.load([tmp_path / "imd.csv"], spec("imd2019"))
    assert "row 6" in str(exc.value) and "'eleven'" in str(exc.value)
