"""Postcode geocoding and point layers (step 2, acceptance 2 and 6) on the shipped real data."""

from __future__ import annotations

import csv
import io
import zipfile

import numpy as np
import pandas as pd
import pytest
from conftest import DATA, write_catalog

from localprofile.catalog import load_catalog
from localprofile.errors import InputError
from localprofile.geocode import Geocoder, normalise_postcode
from localprofile.loading import LoadContext

SCHOOLS = DATA / "schools" / "edubase_2017_west_yorkshire_extract.csv"


def _zip_csv(path):
    with zipfile.ZipFile(path) as zf:
        return list(csv.reader(io.StringIO(zf.read(zf.namelist()[0]).decode("latin-1"))))


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    return LoadContext(load_catalog(write_catalog(tmp_path_factory.mktemp("geo"))))


def test_schools_geocoded_share_and_each_drop_reason(ctx):
    data = ctx.layer("schools")
    # independently: the schools' postcodes against the two shipped postcode files
    schools = list(csv.DictReader(open(SCHOOLS, encoding="utf-8")))
    live = {r[0] for r in _zip_csv(DATA / "postcodes" / "codepoint_open_2025_west_yorkshire.zip")[1:]}
    ons = {r[2]: r for r in _zip_csv(DATA / "postcodes" / "ons_postcode_oa_lsoa_msoa_lad_may22_west_yorkshire.zip")[1:]}
    not_live = [s["Postcode"] for s in schools if s["Postcode"] not in live]
    assert len(schools) == 214 and len(not_live) == 3
    assert all(ons[p][4] for p in not_live)  # all three carry a date of termination
    assert data.account.read == 214
    assert data.account.used == 211  # 98.6% geocoded
    assert data.account.dropped == {"postcode terminated": 3}
    assert set(data.frame["postcode"]) <= live
    f = data.frame
    assert f.crs.to_epsg() == 27700 and f.geometry.x.between(390_000, 470_000).all()
    assert f["lsoa_code"].notna().all()  # the ONS file gives each postcode's LSOA


def test_geocoder_statuses_and_normalisation(ctx):
    g = ctx.geocoder("test")
    got = g.locate(pd.Series(["ls1 1ur", "LS11UR", "ZZ99 9ZZ", "not-a-postcode", None, "BD1 1AE"]))
    assert got["status"].tolist() == [
        "ok", "ok", "postcode not found in the postcode files", "postcode malformed", "no postcode",
        "postcode terminated",  # BD1 1AE: terminated 2016-05 in the ONS file, not in Code-Point 2025
    ]
    assert got["easting"].iloc[0] == got["easting"].iloc[1]
    assert normalise_postcode(pd.Series(["  w1a0ax "])).tolist() == ["W1A 0AX"]


def test_combining_prefers_live_records():
    a = pd.DataFrame({"postcode": ["AB1 2CD"], "easting": [np.nan], "northing": [np.nan],
                      "lsoa_code": ["E01000001"], "terminated": [True]})
    b = pd.DataFrame({"postcode": ["AB1 2CD"], "easting": [400000.0], "northing": [400000.0],
                      "lsoa_code": [None], "terminated": [False]})
    g = Geocoder.combine([a, b])
    row = g.table.loc["AB1 2CD"]
    assert (row["easting"], row["lsoa_code"], row["terminated"]) == (400000.0, "E01000001", False)


def _gias(tmp_path, rows, encoding="cp1252"):
    path = tmp_path / "edubasealldata20261101.csv"
    header = ["URN", "EstablishmentName", "TypeOfEstablishment (name)", "EstablishmentStatus (name)",
              "PhaseOfEducation (name)", "Easting", "Northing", "Postcode"]
    with open(path, "w", newline="", encoding=encoding) as f:
        csv.writer(f).writerows([header, *rows])
    return path


def test_current_gias_download_in_windows_1252(tmp_path):
    path = _gias(tmp_path, [
        ["1", "École Saint-Étienne Primary", "Community school", "Open", "Primary", "430100", "433500", "LS1 1UR"],
        ["2", "Hôtel-Dieu Academy", "Academy converter", "Closed", "Secondary", "430200", "433600", "LS1 1UR"],
        ["3", "Naïve Nursery", "Community school", "Open", "Nursery", "", "", "LS1 1UR"],
        ["4", "Nowhere High", "Community school", "Open", "Secondary", "", "", "ZZ99 9ZZ"],
    ])
    cat = write_catalog(tmp_path, layers={"schools": {"path": str(path)}})
    data = LoadContext(load_catalog(cat)).layer("schools")
    assert data.frame["name"].tolist() == ["École Saint-Étienne Primary", "Naïve Nursery"]
    assert data.account.dropped == {"closed establishment": 1, "postcode not found in the postcode files": 1}
    assert data.frame.geometry.x.iloc[0] == 430100  # easting used as given
    cat = write_catalog(tmp_path, layers={"schools": {"path": str(path), "options": {"include_closed": True}}})
    assert LoadContext(load_catalog(cat)).layer("schools").account.used == 3


def _points(tmp_path, text, **options):
    path = tmp_path / "partner.csv"
    path.write_text(text, encoding="utf-8")
    cat = write_catalog(tmp_path, layers={"secondary_schools": {"path": str(path), "options": options}})
    return LoadContext(load_catalog(cat)).layer("secondary_schools")


def test_points_by_longitude_latitude_with_bad_rows(tmp_path):
    data = _points(tmp_path, "Ref,Name,Lon,Lat\n"
                   "A,Care home,-1.5491,53.7997\n"
                   "B,Swapped,53.80,-1.55\n"
                   "C,Abroad,2.35,48.85\n"
                   "D,Garbled,west,north\n"
                   "E,Blank,,\n"
                   "F,Also fine,-1.60,53.81\n"
                   "G,Fine too,-1.58,53.82\n",
                   columns={"id": "Ref", "name": "Name", "longitude": "Lon", "latitude": "Lat"})
    assert data.account.used == 3 and data.frame["id"].tolist() == ["A", "F", "G"]
    assert data.account.dropped == {
        "coordinates not numbers": 1, "longitude and latitude swapped": 1,
        "coordinates outside Great Britain": 1, "no coordinates": 1,
    }
    assert abs(data.frame.geometry.x.iloc[0] - 429_830) < 50


def test_points_whole_file_swapped_is_an_error(tmp_path):
    with pytest.raises(InputError, match="look swapped"):
        _points(tmp_path, "id,lon,lat\n1,53.8,-1.5\n2,53.7,-1.6\n", columns={"longitude": "lon", "latitude": "lat"})


def test_points_degrees_in_easting_columns_is_an_error(tmp_path):
    with pytest.raises(InputError, match="hold degrees"):
        _points(tmp_path, "id,E,N\n1,-1.5,53.8\n2,-1.6,53.7\n", columns={"easting": "E", "northing": "N"})


def test_points_missing_mapped_column(tmp_path):
    with pytest.raises(InputError) as exc:
        _points(tmp_path, "id,E,N\n1,430000,433000\n", columns={"easting": "Eastings", "northing": "N"})
    assert "column 'Eastings'" in str(exc.value) and "partner.csv" in str(exc.value)


def test_points_from_xlsx_and_geopackage(tmp_path):
    import geopandas as gpd
    import shapely

    df = pd.DataFrame({"Site": ["S1", "S2"], "Kind": ["Licensed premises", "Care home"],
                       "Postcode": ["LS1 1UR", "BD8 7DJ"]})
    df.to_excel(tmp_path / "sites.xlsx", sheet_name="Sites", index=False)
    cat = write_catalog(tmp_path, layers={"secondary_schools": {
        "path": str(tmp_path / "sites.xlsx"),
        "options": {"sheet": "Sites", "columns": {"id": "Site", "category": "Kind", "postcode": "Postcode"}}}})
    x = LoadContext(load_catalog(cat)).layer("secondary_schools")
    assert x.frame["category"].tolist() == ["Licensed premises", "Care home"] and x.account.used == 2
    gpd.GeoDataFrame({"id": ["G1"], "category": ["Hostel"]}, geometry=[shapely.Point(-1.55, 53.8)],
                     crs=4326).to_file(tmp_path / "g.gpkg")
    cat = write_catalog(tmp_path, layers={"secondary_schools": {"path": str(tmp_path / "g.gpkg"), "options": {}}})
    g = LoadContext(load_catalog(cat)).layer("secondary_schools")
    assert g.frame.crs.to_epsg() == 27700 and g.frame["id"].tolist() == ["G1"]


def test_point_layer_without_postcode_files(tmp_path):
    cat = write_catalog(tmp_path, layers={"codepoint_open": None, "ons_postcodes": None})
    with pytest.raises(InputError, match="add a postcodes layer"):
        LoadContext(load_catalog(cat)).layer("schools")


def test_unknown_option_names_the_key(tmp_path):
    cat = write_catalog(tmp_path, layers={"schools": {"options": {"include_shut": True}}})
    with pytest.raises(InputError) as exc:
        load_catalog(cat)
    assert "layers.schools" in str(exc.value) and "options.include_shut" in str(exc.value)


def test_geographic_files_with_bad_geometries(tmp_path):
    import geopandas as gpd
    import shapely

    gdf = gpd.GeoDataFrame(
        {"id": ["ok", "none", "empty", "swapped"]},
        geometry=[shapely.Point(-1.55, 53.8), None, shapely.Point(), shapely.Point(53.8, -1.55)],
        crs=4326,
    )
    gdf.to_file(tmp_path / "g.geojson", driver="GeoJSON")
    cat = write_catalog(tmp_path, layers={"secondary_schools": {"path": str(tmp_path / "g.geojson"), "options": {}}})
    data = LoadContext(load_catalog(cat)).layer("secondary_schools")
    assert data.frame["id"].tolist() == ["ok"]
    assert data.account.dropped == {"no geometry": 2, "outside Great Britain": 1}


def test_postcode_lsoa_only_for_rows_the_postcode_placed(tmp_path):
    # coordinates in Bradford city centre, a Leeds postcode: the row is where its coordinates say
    data = _points(tmp_path, "id,E,N,pc\n1,416300,433100,LS1 1UR\n2,,,LS1 1UR\n",
                   columns={"id": "id", "easting": "E", "northing": "N", "postcode": "pc"})
    assert pd.isna(data.frame["lsoa_code"].iloc[0]) and data.frame["lsoa_code"].iloc[1].startswith("E01")
