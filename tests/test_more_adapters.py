"""More adapters: police.uk stop and search and outcomes, LSOA-keyed tables, rasters, and the
zonal engine (rasters summarised over LSOAs and resampled onto the analysis grid)."""

from __future__ import annotations

import csv
import doctest
import importlib
import inspect
import shutil
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from conftest import DATA
from pydantic import ValidationError
from rasterio.features import rasterize
from rasterio.warp import Resampling, calculate_default_transform, reproject

import localprofile.layers
from localprofile.catalog import LayerSpec, load_catalog
from localprofile.engine.grid import make_grid
from localprofile.engine.zonal import Raster, onto_grid, zonal_by_polygons
from localprofile.errors import InputError
from localprofile.geo import lonlat_to_bng
from localprofile.layers import lsoa_table, police_uk_outcomes, police_uk_stop_search, raster
from localprofile.loading import load_layers

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SS_NAME = "2017-07-west-yorkshire-stop-and-search.csv"
OUT_NAME = "2017-07-west-yorkshire-outcomes.csv"
SAME_FILE = "same police.uk file read twice (month and force already loaded)"
CENSUS = DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv"
BOUNDARIES = DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson"
NEW = {
    "police_uk_stop_search": police_uk_stop_search,
    "police_uk_outcomes": police_uk_outcomes,
    "lsoa_table": lsoa_table,
    "raster": raster,
}


def test_adapters_are_registered():
    for name, module in NEW.items():
        assert localprofile.layers.ADAPTERS[name] is module


def spec(adapter: str, **kw) -> LayerSpec:
    return LayerSpec(adapter=adapter, path="x", vintage="v", licence="l", attribution="a",
                     sensitivity="open", **kw)


def read_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def write_rows(path: Path, header, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([header, *rows])
    return path


def archive(tmp_path: Path) -> Path:
    """A police.uk-style archive of July 2017: street, stop-and-search and outcomes members."""
    z = tmp_path / "2017-07.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in (SS_NAME, OUT_NAME):
            zf.write(FIXTURES / name, f"2017-07/{name}")
        zf.writestr("2017-07/2017-07-west-yorkshire-street.csv", "Crime ID,Month\nx,2017-07\n")
    return z


def three_ways(tmp_path: Path, name: str) -> tuple[list[Path], list[Path], list[Path]]:
    """The fixture as a single CSV, in a folder as police.uk's archive unpacks, and zipped."""
    single = tmp_path / "single" / name
    single.parent.mkdir()
    shutil.copy(FIXTURES / name, single)
    z = archive(tmp_path)
    with zipfile.ZipFile(z) as zf:
        zf.extractall(tmp_path / "unpacked")
    return [single], [tmp_path / "unpacked"], [z]


# --- conventions -------------------------------------------------------------------------

@pytest.mark.parametrize("module", [*NEW.values()], ids=list(NEW))
def test_adapter_conventions(module):
    assert module.REQUIRED is False
    assert module.ROLE == {"police_uk_stop_search": "points", "police_uk_outcomes": "points",
                           "lsoa_table": "lsoa_table", "raster": "raster"}[module.__name__.rsplit(".", 1)[1]]
    assert list(inspect.signature(module.load).parameters) == ["paths", "spec", "ctx"]
    assert "schema" in module.__doc__.lower() or "output" in module.__doc__.lower()
    if hasattr(module, "Options"):
        with pytest.raises(ValidationError, match="extra"):
            module.Options(no_such_option=1)


@pytest.mark.parametrize("name", [
    "localprofile.layers.police_uk_stop_search", "localprofile.layers.police_uk_outcomes",
    "localprofile.layers.lsoa_table", "localprofile.layers.raster", "localprofile.engine.zonal",
])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 3 and result.failed == 0


# --- police.uk stop and search ------------------------------------------------------------

def ss_load(paths):
    return police_uk_stop_search.load(paths, spec("police_uk_stop_search"))


def test_stop_search_account_schema_and_points(tmp_path):
    [single], _, _ = three_ways(tmp_path, SS_NAME)
    data = ss_load([single])
    acc = data.account
    assert (acc.read, acc.used) == (12, 8)
    assert acc.dropped == {
        "no coordinates": 2,
        "coordinates outside Great Britain": 1,
        "longitude and latitude swapped": 1,
    }
    assert acc.notes == {"no Object of search": 1}
    assert acc.read == acc.used + acc.n_dropped
    f = data.frame
    assert list(f.columns) == [
        "id", "name", "category", "postcode", "lsoa_code", "month", "outcome", "legislation",
        "gender", "age_range", "geometry",
    ]
    assert f.crs.to_epsg() == 27700
    assert f["id"].tolist() == [f"2017-07-west-yorkshire#{r}" for r in range(2, 10)]
    assert f["postcode"].isna().all() and f["lsoa_code"].isna().all()
    assert (f["month"] == "2017-07").all()
    assert f["name"].tolist()[:4] == ["Person search", "Person search", "Person and Vehicle search",
                                      "Vehicle search"]
    assert f["category"].fillna("(none)").value_counts().to_dict() == {
        "Controlled drugs": 3, "Offensive weapons": 2, "Stolen goods": 1, "Firearms": 1, "(none)": 1,
    }
    assert f.loc[0, "outcome"] == "Offender given drugs possession warning"
    assert f.loc[0, "legislation"] == "Misuse of Drugs Act 1971 (section 23)"
    assert f.loc[4, "age_range"] == "10-17" and f.loc[5, "gender"] == "Female"
    # the first search: Latitude 53.794406, Longitude -1.541890 (Leeds city centre)
    x, y = lonlat_to_bng([-1.541890], [53.794406])
    assert f.geometry.iloc[0].x == pytest.approx(x[0]) and f.geometry.iloc[0].y == pytest.approx(y[0])
    assert f.geometry.x.between(400_000, 450_000).all() and f.geometry.y.between(410_000, 445_000).all()
    assert data.meta == {"months": ["2017-07"], "files": 1}


def test_stop_search_file_folder_and_zip_agree(tmp_path):
    single, folder, z = three_ways(tmp_path, SS_NAME)
    frames = [ss_load(p) for p in (single, folder, z)]
    for other in frames[1:]:
        assert other.account.to_dict() == frames[0].account.to_dict()
        pd.testing.assert_frame_equal(
            pd.DataFrame(other.frame.drop(columns="geometry")),
            pd.DataFrame(frames[0].frame.drop(columns="geometry")),
        )
        assert other.frame.geometry.equals(frames[0].frame.geometry)


def test_stop_search_same_file_twice_is_dropped_whole(tmp_path):
    single, folder, z = three_ways(tmp_path, SS_NAME)
    twice = ss_load(z + folder)
    assert twice.account.read == 24 and twice.account.used == 8
    assert twice.account.dropped[SAME_FILE] == 12
    assert twice.frame["id"].is_unique
    again = ss_load(single + single)
    assert again.account.dropped[SAME_FILE] == 12 and again.account.used == 8


def test_stop_search_two_forces_keep_distinct_ids(tmp_path):
    header, rows = read_rows(FIXTURES / SS_NAME)
    a = write_rows(tmp_path / SS_NAME, header, rows)
    b = write_rows(tmp_path / "2017-07-north-yorkshire-stop-and-search.csv", header, rows[:3])
    data = ss_load([a, b])
    assert data.account.used == 11 and data.account.dropped.get(SAME_FILE) is None
    assert data.frame["id"].is_unique
    assert "2017-07-north-yorkshire#2" in set(data.frame["id"])


def test_stop_search_bad_dates_and_blank_rows(tmp_path):
    header, rows = read_rows(FIXTURES / SS_NAME)
    rows = [r[:] for r in rows[:4]]
    rows[0][1] = "01/07/2017 00:20"
    rows[1][1] = "2017-02-30T10:00:00+00:00"
    rows.append([""] * len(header))
    data = ss_load([write_rows(tmp_path / SS_NAME, header, rows)])
    assert data.account.dropped == {"blank row": 1, "Date not a date (YYYY-MM-DD...)": 2}
    assert data.account.used == 2


def test_stop_search_missing_longitude_names_file_and_column(tmp_path):
    header, rows = read_rows(FIXTURES / SS_NAME)
    i = header.index("Longitude")
    drop = lambda r: [v for j, v in enumerate(r) if j != i]
    path = write_rows(tmp_path / SS_NAME, drop(header), [drop(r) for r in rows])
    with pytest.raises(InputError) as exc:
        ss_load([path])
    assert exc.value.column == "Longitude" and exc.value.file == str(path)
    assert str(exc.value).startswith(f"{path}: column 'Longitude': missing column")
    assert "\n" not in str(exc.value)
    # inside an archive the member is named too
    z = tmp_path / "a.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(path, f"2017-07/{SS_NAME}")
    with pytest.raises(InputError, match=rf"a\.zip:2017-07/{SS_NAME}: column 'Longitude'"):
        ss_load([z])


def test_header_only_files_give_empty_point_layers(tmp_path):
    for name, load in ((SS_NAME, ss_load), (OUT_NAME, out_load)):
        header, _ = read_rows(FIXTURES / name)
        data = load([write_rows(tmp_path / name, header, [])])
        assert data.account.to_dict() == {"read": 0, "used": 0, "dropped": {}, "notes": {}}
        assert data.frame.empty and data.frame.crs.to_epsg() == 27700
        assert data.meta == {"months": [], "files": 1}


def test_stop_search_mostly_swapped_file_is_an_error(tmp_path):
    header, rows = read_rows(FIXTURES / SS_NAME)
    lat, lon = header.index("Latitude"), header.index("Longitude")
    header = header[:]
    header[lat], header[lon] = "Longitude", "Latitude"  # a re-export with the headers mixed up
    with pytest.raises(InputError, match="look swapped"):
        ss_load([write_rows(tmp_path / SS_NAME, header, rows)])


# --- police.uk outcomes -------------------------------------------------------------------

def out_load(paths):
    return police_uk_outcomes.load(paths, spec("police_uk_outcomes"))


def test_outcomes_account_schema_and_points(tmp_path):
    [single], _, _ = three_ways(tmp_path, OUT_NAME)
    data = out_load([single])
    acc = data.account
    assert (acc.read, acc.used) == (12, 8)
    assert acc.dropped == {
        "no coordinates": 2,  # "No Location", and one with an LSOA code but no point
        "coordinates outside Great Britain": 1,
        "longitude and latitude swapped": 1,
    }
    f = data.frame
    assert list(f.columns) == ["id", "name", "category", "postcode", "lsoa_code", "month", "geometry"]
    assert f.crs.to_epsg() == 27700
    _, rows = read_rows(FIXTURES / OUT_NAME)
    assert f["id"].tolist() == [r[0] for r in rows[:8]]
    assert f["lsoa_code"].tolist() == [r[7] for r in rows[:8]]
    assert f["name"].iloc[0] == "On or near Agar Terrace"
    assert f["category"].value_counts().to_dict() == {
        "Investigation complete; no suspect identified": 2, "Suspect charged": 2,
        "Unable to prosecute suspect": 1, "Offender given a caution": 1, "Local resolution": 1,
        "Formal action is not in the public interest": 1,
    }
    assert f["postcode"].isna().all() and (f["month"] == "2017-07").all()
    x, y = lonlat_to_bng([float(r[4]) for r in rows[:8]], [float(r[5]) for r in rows[:8]])
    np.testing.assert_allclose(f.geometry.x, x)
    np.testing.assert_allclose(f.geometry.y, y)


def test_outcomes_file_folder_and_zip_agree_and_same_file_twice(tmp_path):
    single, folder, z = three_ways(tmp_path, OUT_NAME)
    ref = out_load(single)
    for paths in (folder, z):
        other = out_load(paths)
        assert other.account.to_dict() == ref.account.to_dict()
        assert other.frame["id"].tolist() == ref.frame["id"].tolist()
    twice = out_load(folder + z)
    assert twice.account.read == 24 and twice.account.used == 8
    assert twice.account.dropped[SAME_FILE] == 12


def test_outcomes_repeated_in_another_extract_are_dropped(tmp_path):
    """A custom download overlapping the archive (a differently named file): the same outcome of
    the same crime is counted once; a crime's second, different outcome is kept."""
    header, rows = read_rows(FIXTURES / OUT_NAME)
    extra = rows[0][:]
    extra[-1] = "Suspect charged as part of another case"
    other = write_rows(tmp_path / "custom-download.csv", header, rows[:5] + [extra])
    data = out_load([FIXTURES / OUT_NAME, other])
    acc = data.account
    assert acc.read == 18 and acc.used == 9
    assert acc.dropped["same outcome twice (Crime ID, Month and Outcome type of an earlier row)"] == 5
    assert acc.read == acc.used + acc.n_dropped
    assert (data.frame["id"] == rows[0][0]).sum() == 2


def test_outcomes_rows_without_crime_id_month_or_outcome(tmp_path):
    header, rows = read_rows(FIXTURES / OUT_NAME)
    rows = [r[:] for r in rows[:6]]
    rows[0][0] = ""
    rows[1][1] = "July 2017"
    rows[2][-1] = ""
    data = out_load([write_rows(tmp_path / OUT_NAME, header, rows + [[""] * len(header)])])
    assert data.account.dropped == {
        "blank row": 1, "no Crime ID": 1, "Month not YYYY-MM": 1, "no Outcome type": 1,
    }
    assert data.account.used == 3


def test_outcomes_missing_longitude_names_file_and_column(tmp_path):
    header, rows = read_rows(FIXTURES / OUT_NAME)
    i = header.index("Longitude")
    drop = lambda r: [v for j, v in enumerate(r) if j != i]
    path = write_rows(tmp_path / "unpacked" / OUT_NAME, drop(header), [drop(r) for r in rows])
    with pytest.raises(InputError) as exc:
        out_load([tmp_path / "unpacked"])
    assert exc.value.column == "Longitude" and exc.value.file == str(path)
    assert "Crime ID, Month, Longitude" in str(exc.value)  # the hint says what the file should hold


# --- LSOA-keyed tables --------------------------------------------------------------------

def census_codes() -> pd.DataFrame:
    """The real LSOA codes, names and districts of the shipped Census file."""
    df = pd.read_csv(CENSUS, dtype=str)
    return df[["LSOA Code", "LSOA Name", "Local authority name"]]


def partner_table(tmp_path: Path) -> tuple[Path, pd.DataFrame]:
    """A council-style table keyed by real West Yorkshire LSOA codes, with the usual faults."""
    codes = census_codes().iloc[:20]
    header = ["LSOA11CD", "LSOA11NM", "Troubled Families (households)", "Action Fraud reports", "Notes"]
    rows = [[c, n, f"{1000 + 37 * i:,}", str(i % 4), ""] for i, (c, n) in
            enumerate(zip(codes["LSOA Code"], codes["LSOA Name"]))]
    rows[3][3] = ""                                    # blank cell: NaN
    rows[5][0] = rows[5][0].lower()                    # lower case: accepted
    rows.append([codes["LSOA Code"].iloc[2], "again", "9", "9", "duplicate"])  # duplicate code
    rows.append(["E0101234", "typo", "1", "1", ""])    # malformed code
    rows.append(["", "no code", "1", "1", ""])         # no code
    rows.append([""] * 5)                              # blank row
    rows.append(["Source: council MI team, July 2017", "", "", "", ""])   # a footnote
    return write_rows(tmp_path / "partner.csv", header, rows), codes


def test_lsoa_table_defaults_account_and_values(tmp_path):
    path, codes = partner_table(tmp_path)
    data = lsoa_table.load([path], spec("lsoa_table"))
    acc = data.account
    assert acc.read == 25 and acc.used == 20
    assert acc.dropped == {
        "blank row": 1,
        "no LSOA code": 1,
        "LSOA code malformed (not E01 or W01 and 6 digits)": 2,
        "duplicate LSOA code (the first row is kept)": 1,
    }
    f = data.frame
    assert list(f.columns) == ["lsoa_code", "Troubled Families (households)", "Action Fraud reports"]
    assert f["lsoa_code"].tolist() == codes["LSOA Code"].tolist()
    assert f["Troubled Families (households)"].dtype == float
    assert f["Troubled Families (households)"].tolist() == [1000.0 + 37 * i for i in range(20)]
    assert f.loc[2, "Action Fraud reports"] == 2.0  # the first copy of the repeated code
    assert np.isnan(f.loc[3, "Action Fraud reports"]) and f["Action Fraud reports"].isna().sum() == 1
    assert data.meta["fields"] == ["Troubled Families (households)", "Action Fraud reports"]
    assert data.meta["labels"] == {f: f for f in data.meta["fields"]}
    assert data.meta["left_out"] == ["LSOA11NM", "Notes"]


def test_lsoa_table_options_code_fields_labels(tmp_path):
    path, _ = partner_table(tmp_path)
    header, rows = read_rows(path)
    header[0] = "geography code"
    path = write_rows(tmp_path / "nomis.csv", header, rows)
    opts = {"fields": ["action fraud reports"], "labels": {"Action Fraud reports": "Fraud reports"}}
    data = lsoa_table.load([path], spec("lsoa_table", options=opts))
    assert list(data.frame.columns) == ["lsoa_code", "Action Fraud reports"]
    assert data.meta["labels"] == {"Action Fraud reports": "Fraud reports"}
    assert data.meta["left_out"] == ["LSOA11NM", "Troubled Families (households)", "Notes"]
    header[0] = "Area"
    other = write_rows(tmp_path / "area.csv", header, rows)
    with pytest.raises(InputError, match="missing column 'LSOA code'.*options.code") as exc:
        lsoa_table.load([other], spec("lsoa_table"))
    assert exc.value.file == str(other)
    data = lsoa_table.load([other], spec("lsoa_table", options={"code": "Area"}))
    assert data.account.used == 20


def test_lsoa_table_option_errors(tmp_path):
    path, _ = partner_table(tmp_path)
    with pytest.raises(InputError) as exc:
        lsoa_table.load([path], spec("lsoa_table", options={"fields": ["Burglaries"]}))
    assert exc.value.column == "Burglaries" and exc.value.file == str(path)
    with pytest.raises(InputError, match="options.labels names 'Burglaries'"):
        lsoa_table.load([path], spec("lsoa_table", options={"labels": {"Burglaries": "B"}}))
    with pytest.raises(ValidationError, match="options.fields"):
        spec("lsoa_table", options={"fields": "Action Fraud reports"})  # a list is needed
    with pytest.raises(ValidationError, match="unknown option"):
        spec("lsoa_table", options={"field": ["x"]})


def test_lsoa_table_non_number_names_row_and_column(tmp_path):
    path, _ = partner_table(tmp_path)
    header, rows = read_rows(path)
    rows[6][3] = "n/a"  # spreadsheet row 8 (header = row 1)
    bad = write_rows(tmp_path / "bad.csv", header, rows)
    with pytest.raises(InputError) as exc:
        lsoa_table.load([bad], spec("lsoa_table", options={"fields": ["Action Fraud reports"]}))
    assert (exc.value.file, exc.value.row, exc.value.column) == (str(bad), 8, "Action Fraud reports")
    assert str(exc.value) == f"{bad}: row 8: column 'Action Fraud reports': expected a number, found 'n/a'"
    # Without a list of fields, a column with text in it is not a numeric field: left out.
    data = lsoa_table.load([bad], spec("lsoa_table"))
    assert "Action Fraud reports" in data.meta["left_out"]
    # Text in rows that are dropped anyway (the footnote, the duplicate) is not parsed.
    rows = read_rows(path)[1]
    rows[20][3] = "see note"  # the duplicate code's row
    ok = write_rows(tmp_path / "ok.csv", header, rows)
    data = lsoa_table.load([ok], spec("lsoa_table", options={"fields": ["Action Fraud reports"]}))
    assert data.account.used == 20


def test_lsoa_table_reads_the_census_file_as_published():
    data = lsoa_table.load([CENSUS], spec("lsoa_table", options={"fields": ["Persons", "Households"]}))
    assert data.account.read == data.account.used == 1388
    census = pd.read_csv(CENSUS, dtype=str, thousands=",")
    assert data.frame["Persons"].sum() == 2_226_058  # thousands separators parsed ("1,563")
    assert data.frame["Households"].sum() == pd.to_numeric(census["Households"].str.replace(",", "")).sum()


def test_join_to_lsoas_counts_both_ways(tmp_path):
    path, _ = partner_table(tmp_path)
    data = lsoa_table.load([path], spec("lsoa_table"))
    everyone = census_codes()
    area_codes = everyone.loc[everyone["Local authority name"] == "Bradford", "LSOA Code"]
    area = pd.Index(area_codes.iloc[10:]).append(pd.Index(["E01010646"]))  # table rows 0 and 10+
    joined, unmatched = lsoa_table.join_to_lsoas(data.frame, area)
    table_codes = set(data.frame["lsoa_code"])
    assert unmatched == {
        "table codes not in the area": len(table_codes - set(area)),
        "area LSOAs without a row": len(set(area) - table_codes),
    }
    assert unmatched["table codes not in the area"] == 9  # rows 1-9 of the table
    assert list(joined.index) == list(area)
    assert list(joined.columns) == data.meta["fields"]
    row = data.frame.set_index("lsoa_code").loc["E01010646"]
    assert joined.loc["E01010646"].tolist() == row.tolist()
    assert joined.drop(index=list(table_codes & set(area))).isna().all().all()


# --- rasters and zonal statistics -----------------------------------------------------------

@pytest.fixture(scope="module")
def population(tmp_path_factory):
    """The shipped Census 2011 population of West Yorkshire as a 100 m population grid: each
    LSOA's density (people per m2, from its boundary's area) spread over the cells whose centre
    lies in it, so a cell holds density x 10,000 m2. Written as a GeoTIFF in EPSG:27700 and
    reprojected (rasterio.warp, sum resampling) to EPSG:4326 at 3 arc-seconds, WorldPop's grid."""
    folder = tmp_path_factory.mktemp("rasters")
    lsoas = gpd.read_file(BOUNDARIES).to_crs(27700)
    census = pd.read_csv(CENSUS, dtype=str)
    pop = pd.to_numeric(census.set_index("LSOA Code")["Persons"].str.replace(",", ""))
    lsoas["pop"] = pop.reindex(lsoas["LSOA11CD"]).to_numpy()
    lsoas["msoa"] = census.set_index("LSOA Code")["MSOA Code"].reindex(lsoas["LSOA11CD"]).to_numpy()
    lsoas["lad"] = census.set_index("LSOA Code")["Local authority code"].reindex(lsoas["LSOA11CD"]).to_numpy()
    assert lsoas["pop"].notna().all()
    x0, y0, x1, y1 = lsoas.total_bounds
    x0, y0 = np.floor(x0 / 100) * 100 - 500, np.floor(y0 / 100) * 100 - 500
    x1, y1 = np.ceil(x1 / 100) * 100 + 500, np.ceil(y1 / 100) * 100 + 500
    t = Affine(100, 0, x0, 0, -100, y1)
    shape = (round((y1 - y0) / 100), round((x1 - x0) / 100))
    ids = rasterize(zip(lsoas.geometry, range(1, len(lsoas) + 1)), out_shape=shape, transform=t,
                    fill=0, dtype="int32")
    density = lsoas["pop"].to_numpy() / lsoas.area.to_numpy()
    grid = np.r_[-1.0, density * 1e4][ids].astype("float32")  # -1: nodata, outside every LSOA
    bng = folder / "population_bng.tif"
    with rasterio.open(bng, "w", driver="GTiff", width=shape[1], height=shape[0], count=1,
                       dtype="float32", crs="EPSG:27700", transform=t, nodata=-1) as dst:
        dst.write(grid, 1)
    t4, w4, h4 = calculate_default_transform("EPSG:27700", "EPSG:4326", shape[1], shape[0],
                                             x0, y0, x1, y1, resolution=1 / 1200)
    grid4 = np.full((h4, w4), -1, dtype="float32")
    reproject(grid, grid4, src_transform=t, src_crs="EPSG:27700", src_nodata=-1,
              dst_transform=t4, dst_crs="EPSG:4326", dst_nodata=-1, resampling=Resampling.sum)
    wgs = folder / "population_wgs84.tif"
    with rasterio.open(wgs, "w", driver="GTiff", width=w4, height=h4, count=1, dtype="float32",
                       crs="EPSG:4326", transform=t4, nodata=-1) as dst:
        dst.write(grid4, 1)
    ncells = np.bincount(ids.ravel(), minlength=len(lsoas) + 1)[1:]
    return {"bng": bng, "wgs": wgs, "lsoas": lsoas, "ids": ids, "ncells": ncells,
            "density": density, "grid": grid, "grid4": grid4}


def relative_errors(values, truth):
    return np.abs(np.asarray(values) - np.asarray(truth)) / np.asarray(truth)


def test_raster_account_counts_nodata(population):
    data = raster.load([population["bng"]], spec("raster", options={"label": "residents"}))
    ids = population["ids"]
    assert data.account.read == ids.size
    assert data.account.dropped == {"nodata": int((ids == 0).sum())}
    assert data.account.used == int((ids > 0).sum())
    assert data.frame.empty
    r = data.meta["raster"]
    assert isinstance(r, Raster) and r.statistic == "sum" and r.label == "residents"
    assert r.array.shape == ids.shape and r.nodata == -1 and r.crs.to_epsg() == 27700
    assert data.meta["crs"] == "EPSG:27700" and data.meta["cell_size"] == [100.0, 100.0]
    wgs = raster.load([population["wgs"]], spec("raster"))
    assert wgs.meta["crs"] == "EPSG:4326"
    assert wgs.account.dropped["nodata"] == int((population["grid4"] == -1).sum()) > 0
    assert wgs.meta["raster"].label == "population_wgs84"  # the file name when no label is given


def test_zonal_sums_per_lsoa_match_the_census_in_british_national_grid(population):
    r = raster.load([population["bng"]], spec("raster")).meta["raster"]
    lsoas, ncells = population["lsoas"], population["ncells"]
    sums = zonal_by_polygons(r, lsoas.geometry, "sum")
    # exactly what the grid holds under each LSOA: its density times its cells' area
    np.testing.assert_allclose(sums, population["density"] * 1e4 * ncells, rtol=1e-5)
    # against the Census: boundary cells make small LSOAs uneven; larger ones agree closely
    big = ncells > 20
    err = relative_errors(sums[big], lsoas["pop"][big])
    assert np.median(err) < 0.02 and np.quantile(err, 0.9) < 0.06
    assert abs(np.nansum(sums) / lsoas["pop"].sum() - 1) < 0.01
    by_lad = pd.Series(sums).groupby(lsoas["lad"].to_numpy()).sum()
    census_lad = lsoas.groupby("lad")["pop"].sum()
    assert (relative_errors(by_lad, census_lad.reindex(by_lad.index)) < 0.005).all()


def test_zonal_sums_per_lsoa_from_a_wgs84_raster(population):
    """The same grid reprojected to EPSG:4326 at 3 arc-seconds (about 55 m x 93 m): reprojected
    back and summed per LSOA, the Census is recovered, coarsened by two resamplings."""
    r = raster.load([population["wgs"]], spec("raster")).meta["raster"]
    assert not r.in_bng
    lsoas, ncells = population["lsoas"], population["ncells"]
    sums = zonal_by_polygons(r, lsoas.geometry, "sum")
    assert np.isfinite(sums).all()
    assert abs(sums.sum() / lsoas["pop"].sum() - 1) < 0.01
    big = ncells > 20
    err = relative_errors(sums[big], lsoas["pop"][big])
    assert np.median(err) < 0.06 and np.quantile(err, 0.75) < 0.10
    pop = lsoas["pop"].to_numpy()
    for key, tolerance in (("msoa", 0.03), ("lad", 0.01)):
        zone = lsoas[key].to_numpy()
        ours = pd.Series(sums).groupby(zone).sum()
        census = pd.Series(pop).groupby(zone).sum()
        assert np.median(relative_errors(ours, census)) < tolerance, key
    # a raster shifted by 500 m is caught: the same checks fail
    shifted = Raster(r.array, Affine(r.transform.a, 0, r.transform.c + 0.0075, 0, r.transform.e,
                                     r.transform.f), r.crs, r.nodata)
    moved = zonal_by_polygons(shifted, lsoas.geometry, "sum")
    assert np.median(relative_errors(moved[big], lsoas["pop"][big])) > 0.10


def test_zonal_means(population):
    """The density grid as a mean surface: every LSOA's mean is its own density."""
    lsoas = population["lsoas"]
    base = raster.load([population["bng"]], spec("raster", options={"statistic": "mean"})).meta["raster"]
    assert base.statistic == "mean"
    means = zonal_by_polygons(base, lsoas.geometry)  # the raster's own statistic
    has = population["ncells"] > 0
    np.testing.assert_allclose(means[has], population["density"][has] * 1e4, rtol=1e-5)
    assert np.isnan(means[~has]).all()


def test_zonal_polygons_off_the_raster_missing_or_in_the_wrong_crs(population):
    r = raster.load([population["bng"]], spec("raster")).meta["raster"]
    polys = gpd.GeoSeries([shapely.box(0, 0, 1000, 1000), None,
                           population["lsoas"].geometry.iloc[0]], crs=27700)
    out = zonal_by_polygons(r, polys, "sum")
    assert np.isnan(out[0]) and np.isnan(out[1])
    assert out[2] == pytest.approx(population["density"][0] * 1e4 * population["ncells"][0], rel=1e-5)
    frame = gpd.GeoDataFrame({"code": ["a", "b", "c"]}, geometry=polys)
    np.testing.assert_array_equal(zonal_by_polygons(r, frame, "sum"), out)
    wgs = raster.load([population["wgs"]], spec("raster")).meta["raster"]
    assert np.isnan(zonal_by_polygons(wgs, polys[:1], "sum")).all()  # off the raster
    with pytest.raises(ValueError, match="EPSG:27700"):
        zonal_by_polygons(r, polys.set_crs(4326, allow_override=True), "sum")
    with pytest.raises(ValueError, match="statistic"):
        zonal_by_polygons(r, polys, "median")


def test_onto_grid_keeps_the_total_of_sums(population):
    lsoas = population["lsoas"]
    area = shapely.union_all(lsoas.geometry.to_numpy())
    for path in ("bng", "wgs"):
        r = raster.load([population[path]], spec("raster")).meta["raster"]
        for cell in (500, 250):
            g = make_grid(area, cell, 1500)  # the analysis grid, covering the whole raster
            out = onto_grid(r, g.transform, g.shape, "sum")
            assert out.shape == g.shape
            assert np.nansum(out) == pytest.approx(r.total(), rel=1e-6), (path, cell)
        # a grid offset from the raster's cells and finer than them
        t = Affine(70, 0, 380_013, 0, -70, 460_037)
        out = onto_grid(r, t, (1100, 1300), "sum")
        # (GDAL's approximate transformer for EPSG:4326: within a millionth or so)
        assert np.nansum(out) == pytest.approx(r.total(), rel=1e-5), path


def test_onto_grid_aligned_blocks_sum_and_mean(population):
    grid = population["grid"].astype(float)
    ids = population["ids"]
    r = raster.load([population["bng"]], spec("raster")).meta["raster"]
    rows, cols = (s // 5 for s in grid.shape)
    t = r.transform
    values = np.where(ids > 0, grid, 0.0)[: rows * 5, : cols * 5].reshape(rows, 5, cols, 5)
    valid = (ids > 0)[: rows * 5, : cols * 5].reshape(rows, 5, cols, 5)
    block_sum, block_n = values.sum(axis=(1, 3)), valid.sum(axis=(1, 3))
    sums = onto_grid(r, Affine(500, 0, t.c, 0, -500, t.f), (rows, cols), "sum")
    means = onto_grid(r, Affine(500, 0, t.c, 0, -500, t.f), (rows, cols), "mean")
    has = block_n > 0
    np.testing.assert_allclose(sums[has], block_sum[has], rtol=1e-5)
    np.testing.assert_allclose(means[has], block_sum[has] / block_n[has], rtol=1e-5)
    assert np.isnan(means[~has]).all()
    # GDAL's sum shares a cell by overlap: blocks beside data may get rounding dust (1e-13)
    assert (np.nan_to_num(sums[~has]) < 1e-9).all() and np.isnan(sums[~has]).mean() > 0.99


def test_raster_without_crs_or_band_or_readable_file(tmp_path):
    path = tmp_path / "nocrs.tif"
    with rasterio.open(path, "w", driver="GTiff", width=2, height=2, count=1, dtype="float32",
                       transform=Affine(100, 0, 0, 0, -100, 200)) as dst:
        dst.write(np.ones((2, 2), dtype="float32"), 1)
    with pytest.raises(InputError, match="no coordinate reference system") as exc:
        raster.load([path], spec("raster"))
    assert exc.value.file == str(path)
    ok = tmp_path / "ok.tif"
    with rasterio.open(ok, "w", driver="GTiff", width=2, height=2, count=1, dtype="uint16",
                       crs="EPSG:27700", transform=Affine(100, 0, 0, 0, -100, 200), nodata=0) as dst:
        dst.write(np.array([[0, 3], [4, 0]], dtype="uint16"), 1)
    with pytest.raises(InputError, match="band 2 asked for; the raster has 1") as exc:
        raster.load([ok], spec("raster", options={"band": 2}))
    assert exc.value.key == "options.band"
    data = raster.load([ok], spec("raster"))  # integer cells, nodata 0
    assert data.account.to_dict() == {"read": 4, "used": 2, "dropped": {"nodata": 2}, "notes": {}}
    assert data.meta["raster"].total() == 7.0
    text = tmp_path / "not.tif"
    text.write_text("hello")
    with pytest.raises(InputError, match="cannot read as a raster"):
        raster.load([text], spec("raster"))
    with pytest.raises(InputError, match="reads one file"):
        raster.load([ok, ok], spec("raster"))
    with pytest.raises(ValidationError, match="options.statistic"):
        spec("raster", options={"statistic": "median"})


# --- through a catalog -----------------------------------------------------------------------

def test_catalog_reads_every_new_layer(tmp_path, population):
    archive(tmp_path)
    partner_table(tmp_path)
    shutil.copy(population["bng"], tmp_path / "pop.tif")
    common = "vintage: '2017-07'\n    licence: OGL v3.0\n    attribution: a\n    sensitivity: open"
    (tmp_path / "catalog.yaml").write_text(f"""
version: 1
layers:
  stop_search:
    adapter: police_uk_stop_search
    path: "*.zip"
    {common}
  outcomes:
    adapter: police_uk_outcomes
    path: "*.zip"
    {common}
  families:
    adapter: lsoa_table
    path: partner.csv
    {common}
    options: {{fields: [Troubled Families (households)], labels: {{Troubled Families (households): Troubled families}}}}
  residents:
    adapter: raster
    path: pop.tif
    {common}
    options: {{statistic: sum, label: Residents}}
""")
    cat = load_catalog(tmp_path / "catalog.yaml")
    assert {n: cat.with_role(r) for n, r in [("p", "points"), ("t", "lsoa_table"), ("r", "raster")]} == {
        "p": ["stop_search", "outcomes"], "t": ["families"], "r": ["residents"]}
    loaded = load_layers(cat)
    assert loaded["stop_search"].account.used == 8 and loaded["outcomes"].account.used == 8
    assert loaded["families"].meta["labels"] == {"Troubled Families (households)": "Troubled families"}
    assert loaded["residents"].meta["raster"].label == "Residents"
    for data in loaded.values():
        assert data.account.read == data.account.used + data.account.n_dropped
    (tmp_path / "bad.yaml").write_text(
        (tmp_path / "catalog.yaml").read_text().replace("statistic: sum", "statistic: total"))
    with pytest.raises(InputError, match=r"layers\.residents.*options\.statistic"):
        load_catalog(tmp_path / "bad.yaml")
