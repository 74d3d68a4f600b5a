"""LSOA-level tables and rasters in a built profile, on real data (Census 2011, West Yorkshire)."""

from __future__ import annotations

import csv
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from conftest import DATA, lookup_rows, run_cli, write_catalog
from rasterio.features import rasterize
from rasterio.transform import from_origin

CENSUS = DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lsoadata")
    with open(CENSUS, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    # a council-style indicator table keyed by LSOA code: households and hectares (real figures)
    table = tmp / "council_indicators.csv"
    with open(table, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["LSOA11CD", "Households", "Area (ha)"])
        w.writerows([[r[6], r[14], r[12]] for r in rows[1:]])
        w.writerow(["E01999999", "10", "1"])  # a code of no West Yorkshire LSOA
    # a population raster: each LSOA's residents spread evenly over its 100 m cells
    lsoa = gpd.read_file(DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").to_crs(27700)
    pop = {r[6]: int(r[9].replace(",", "")) for r in rows[1:]}
    minx, miny, maxx, maxy = lsoa.total_bounds
    transform = from_origin(np.floor(minx / 100) * 100, np.ceil(maxy / 100) * 100, 100, 100)
    shape = (int(np.ceil((maxy - miny) / 100)) + 2, int(np.ceil((maxx - minx) / 100)) + 2)
    ids = rasterize(((g, i + 1) for i, g in enumerate(lsoa.geometry)), out_shape=shape, transform=transform, dtype="int32")
    cells = np.bincount(ids.ravel(), minlength=len(lsoa) + 1)
    per_cell = np.array([0.0] + [pop[c] / max(cells[i + 1], 1) for i, c in enumerate(lsoa["LSOA11CD"])])
    grid = np.where(ids > 0, per_cell[ids], -1).astype("float32")
    tif = tmp / "population_100m.tif"
    with rasterio.open(tif, "w", driver="GTiff", height=shape[0], width=shape[1], count=1, dtype="float32",
                       crs="EPSG:27700", transform=transform, nodata=-1) as dst:
        dst.write(grid, 1)
    common = {"vintage": "test", "licence": "OGL v3 (derived from Census 2011)", "attribution": "ONS Census 2011", "sensitivity": "open"}
    cat = write_catalog(tmp, layers={
        "indicators": {"adapter": "lsoa_table", "path": str(table), "label": "Council indicators", **common},
        "population_grid": {"adapter": "raster", "path": str(tif), "label": "Residents (100 m grid)",
                            "options": {"statistic": "sum"}, **common},
    })
    res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--out", str(tmp / "out"))
    assert res.returncode == 0, res.stderr
    leeds = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds"}
    return tmp / "out", rows, leeds, pop


def test_table_fields_join_to_the_district(built):
    out, rows, leeds, _ = built
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    t = s["lsoa_tables"]["indicators"]
    households = sum(int(r[14].replace(",", "")) for r in rows[1:] if r[6] in leeds)
    assert t["district_totals"]["table__indicators__Households"] == households
    assert t["unmatched"] == {"table codes not in the area": 1388 - 482 + 1, "area LSOAs without a row": 0}
    lsoa = gpd.read_file(out / "results.gpkg", layer="lsoa")
    assert lsoa["table__indicators__Households"].sum() == households
    assert s["layers"]["indicators"]["read"] == 1389


def test_raster_sums_onto_lsoas_and_grid(built):
    out, _, leeds, pop = built
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    r = s["rasters"]["population_grid"]
    leeds_pop = sum(pop[c] for c in leeds)
    assert r["district_value"] == pytest.approx(leeds_pop, rel=0.01)
    lsoa = gpd.read_file(out / "results.gpkg", layer="lsoa").set_index("lsoa_code")
    big = lsoa[lsoa.geometry.area > 20 * 100 * 100]
    rel = (big["raster__population_grid"] - big["population"]).abs() / big["population"]
    assert rel.median() < 0.02
    with rasterio.open(out / "raster_population_grid.tif") as src:
        surface = src.read(1)
        assert src.crs.to_epsg() == 27700 and src.res == (500.0, 500.0)
    # the grid covers the district and its buffer: at least Leeds' residents, at most all of WY
    assert leeds_pop * 0.99 < np.nansum(surface) <= sum(pop.values()) * 1.001
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "LSOA-level data" in html and "Residents (100 m grid)" in html and "Council indicators" in html


def test_restricted_tables_reach_only_force(tmp_path):
    table = tmp_path / "troubled_families.csv"
    pd.DataFrame({"LSOA11CD": ["E01011698", "E01011699"], "Families": [3, 7]}).to_csv(table, index=False)
    cat = write_catalog(tmp_path, layers={"families": {
        "adapter": "lsoa_table", "path": str(table), "vintage": "2026", "licence": "ISA",
        "attribution": "council", "sensitivity": "restricted", "label": "Troubled Families"}})
    for audience, present in (("force", True), ("partner", False), ("public", False)):
        out = tmp_path / audience
        res = run_cli("build", "--catalog", str(cat), "--district", "Leeds", "--audience", audience, "--out", str(out))
        assert res.returncode == 0, res.stderr
        s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert ("families" in s["lsoa_tables"]) is present
        assert ("Troubled Families" in (out / "index.html").read_text(encoding="utf-8")) is present
