"""``localprofile national``: the catalog's police.uk street-level files on one grid over its
LSOAs, checked on the shipped West Yorkshire months against independent references
(geopandas.sjoin of the street adapter's crimes, numpy's histogram, a direct quartic mass)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import yaml

from conftest import run_cli

from localprofile.catalog import load_catalog
from localprofile.demo import demo_catalog_path
from localprofile.engine.gistar import gi_star
from localprofile.layers import police_uk_street
from localprofile.national_build import build_national, national_lsoas

CATALOG = Path(demo_catalog_path())


@pytest.fixture(scope="module")
def nat():
    return build_national(CATALOG)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("national")
    got = run_cli("national", "--catalog", str(CATALOG), "--out", str(out), "-q")
    assert got.returncode == 0, got.stderr
    return out


def test_crimes_per_lsoa_are_geopandas_sjoin_of_the_street_adapter_s_crimes(nat):
    cat = load_catalog(CATALOG)
    crimes = police_uk_street.load(cat.paths("crimes"), cat.layers["crimes"]).frame
    crimes = crimes[crimes.geometry.notna() & ~crimes.geometry.is_empty]
    lsoas = national_lsoas(cat)
    joined = gpd.sjoin(crimes[["geometry"]], lsoas[["code", "geometry"]], predicate="intersects", how="inner")
    joined = joined[~joined.index.duplicated(keep="first")]  # a point on a shared edge: its first LSOA
    expected = joined["code"].value_counts().reindex(lsoas["code"], fill_value=0).to_numpy()
    assert np.array_equal(nat.run.lsoa_counts, expected)
    assert nat.run.lsoa_counts.sum() > 0.99 * len(crimes)


def test_every_row_read_is_used_or_dropped_and_the_grid_holds_every_crime_used(nat):
    p, r = nat.points, nat.run
    assert p.read == 55_713 and p.read == len(p.x) + sum(p.dropped.values())
    g = r.grid
    edges_x = g.x0 + g.cell_size * np.arange(g.nx + 1)
    edges_y = g.y1 - g.cell_size * np.arange(g.ny + 1)[::-1]
    hist, _, _ = np.histogram2d(p.y, p.x, bins=[edges_y, edges_x])
    assert np.array_equal(r.counts, hist[::-1])
    off = len(p.x) - int(r.counts.sum())  # police.uk places a few beyond the force's LSOAs
    assert 0 <= off < 0.001 * len(p.x)
    z, _ = gi_star(r.counts, g.active)
    assert np.array_equal(z, r.gi_z, equal_nan=True)
    assert abs(r.kde.sum() * g.cell_area_km2 / r.counts.sum() - 1) < 1e-9  # the KDE keeps the mass of every crime on the grid
    assert 0 < (r.hotspot == "hot").sum() < g.active.sum()


def test_the_files_hold_the_bands_the_table_and_the_account(written, nat):
    with rasterio.open(written / "national_grid.tif") as src:
        assert src.count == 4 and src.crs.to_epsg() == 27700
        crimes, z, hot, kde = (src.read(i) for i in range(1, 5))
        assert "Gi* z" in src.descriptions[1]
    assert np.nansum(crimes) == nat.run.counts.sum()
    assert np.allclose(z, nat.run.gi_z.astype("float32"), equal_nan=True)
    assert int((hot == 1).sum()) == int((nat.run.hotspot == "hot").sum())
    table = pd.read_csv(written / "lsoa_crimes.csv", dtype={"lsoa_code": str})
    assert len(table) == 1388 and table["crimes"].sum() == nat.run.lsoa_counts.sum()
    leeds_centre = table.sort_values("crimes").iloc[-1]
    assert leeds_centre["crimes_per_1000_residents"] == pytest.approx(
        leeds_centre["crimes"] / leeds_centre["residents"] * 1000, abs=1e-3)
    summary = yaml.safe_load((written / "national.json").read_text())
    c = summary["crimes"]
    assert c["read"] == c["used"] + sum(c["dropped"].values())
    assert c["used"] == c["on_the_grid"] + c["off_the_grid"] and c["off_the_grid"] == 17
    assert summary["top_lsoas"][0]["crimes"] == table["crimes"].max()
    assert any("police.uk" in a for a in summary["attributions"])


def test_a_second_run_writes_the_same_bytes(written, tmp_path):
    got = run_cli("national", "--catalog", str(CATALOG), "--out", str(tmp_path), "-q")
    assert got.returncode == 0, got.stderr
    for name in ("national_grid.tif", "lsoa_crimes.csv", "national.json"):
        assert (tmp_path / name).read_bytes() == (written / name).read_bytes(), name


def test_restricted_layers_are_never_read(tmp_path, written):
    """A catalog whose restricted layers point at files that do not exist runs as before: the
    national run reads open layers only."""
    spec = yaml.safe_load(CATALOG.read_text())
    root = CATALOG.parent
    for name, layer in spec["layers"].items():
        layer["path"] = str(root / layer["path"]) if layer.get("sensitivity") != "restricted" else "gone/nothing.csv"
    for key in ("plan",):
        if key in spec.get("profile", {}):
            spec["profile"].pop(key)
    cat = tmp_path / "catalog.yaml"
    cat.write_text(yaml.safe_dump(spec, sort_keys=False))
    got = run_cli("national", "--catalog", str(cat), "--out", str(tmp_path / "out"), "-q")
    assert got.returncode == 0, got.stderr
    assert (tmp_path / "out" / "national.json").read_bytes() == (written / "national.json").read_bytes()


@pytest.mark.parametrize("layer", ["crimes", "lsoa_boundaries", "census_population"])
def test_a_layer_it_reads_marked_restricted_is_one_line_and_exit_2(tmp_path, layer):
    """Its outputs are public: a catalog that marks a layer the run reads as restricted (a
    force's own crime extract, say) stops it, and nothing is written."""
    spec = yaml.safe_load(CATALOG.read_text())
    spec["layers"][layer]["sensitivity"] = "restricted"
    for name in spec["layers"].values():
        name["path"] = str(CATALOG.parent / name["path"])
    spec.get("profile", {}).pop("plan", None)
    cat = tmp_path / "catalog.yaml"
    cat.write_text(yaml.safe_dump(spec, sort_keys=False))
    got = run_cli("national", "--catalog", str(cat), "--out", str(tmp_path / "out"))
    assert got.returncode == 2 and "Traceback" not in got.stderr
    assert len(got.stderr.strip().splitlines()) == 1
    assert f"'{layer}' is restricted" in got.stderr and "catalog.yaml" in got.stderr
    assert not (tmp_path / "out").exists()


def test_a_crimes_layer_of_another_adapter_is_one_line_and_exit_2(tmp_path):
    spec = yaml.safe_load(CATALOG.read_text())
    spec["layers"]["crimes"]["adapter"] = "police_uk_outcomes"
    for layer in spec["layers"].values():
        layer["path"] = str(CATALOG.parent / layer["path"])
    cat = tmp_path / "catalog.yaml"
    cat.write_text(yaml.safe_dump(spec, sort_keys=False))
    got = run_cli("national", "--catalog", str(cat), "--out", str(tmp_path / "out"))
    assert got.returncode == 2 and "Traceback" not in got.stderr
    assert len(got.stderr.strip().splitlines()) == 1 and "police_uk_street" in got.stderr


def test_the_files_are_read_on_a_dask_cluster_given_by_its_address(written, tmp_path):
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                      dashboard_address="127.0.0.1:0") as cluster:
        got = run_cli("national", "--catalog", str(CATALOG), "--out", str(tmp_path), "--scheduler",
                      cluster.scheduler_address, "-q")
        assert got.returncode == 0, got.stderr
        assert "localprofile-street-table" in cluster.scheduler.task_prefixes  # the files were read there
    assert (tmp_path / "national.json").read_bytes() == (written / "national.json").read_bytes()


NATIONAL = CATALOG.parent / "data_catalog_national.yaml"


def test_the_shipped_national_catalog_puts_west_yorkshire_s_crimes_among_every_lsoa_of_england_and_wales(nat):
    """data_catalog_national.yaml: the 34,753 LSOAs (GeoParquet) and their Census 2011 residents
    (gzipped CSV) with the shipped months. Every crime lands in an LSOA: the West Yorkshire
    LSOAs get what the West Yorkshire run gave them, the neighbours the crimes police.uk placed
    beyond the force's LSOAs."""
    wide = build_national(NATIONAL)
    assert len(wide.lsoas) == 34_753 and int(wide.lsoas["residents"].sum()) == 56_075_912  # E&W, Census 2011
    assert wide.points.read == nat.points.read and len(wide.points.x) == len(nat.points.x)
    counts = pd.Series(wide.run.lsoa_counts, index=wide.lsoas["code"])
    wy = pd.Series(nat.run.lsoa_counts, index=nat.lsoas["code"])
    assert (counts[wy.index] == wy).all()
    beyond = counts.drop(wy.index)
    assert beyond.sum() == len(nat.points.x) - wy.sum() > 0  # placed outside West Yorkshire
    assert counts.sum() == len(wide.points.x)


def test_a_geoparquet_that_is_not_one_and_a_damaged_gzip_are_one_line_errors(tmp_path):
    from localprofile.errors import InputError
    from localprofile.layers import census2011_population, lsoa_boundaries

    cat = load_catalog(NATIONAL)
    bad = tmp_path / "lsoas.parquet"
    bad.write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="lsoas.parquet.*GeoParquet"):
        lsoa_boundaries.load([bad], cat.layers["lsoa_boundaries"])
    gz = tmp_path / "census.csv.gz"
    gz.write_bytes(b"\x1f\x8b\x08\x00 cut off")
    with pytest.raises(InputError, match="census.csv.gz.*gzip"):
        census2011_population.load([gz], cat.layers["census_population"])
