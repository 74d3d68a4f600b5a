"""A national year of police.uk street-level files read in partitions (one Dask task per file):
the shipped West Yorkshire months against the street-level layer adapter, and 60,000 SYNTHETIC
crimes written as 43 forces x 12 months of files against the crimes they were written from.
Speed and peak memory at 6 million rows: benchmarks/national_files.py."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest
from pyproj import Transformer

from localprofile.catalog import load_catalog
from localprofile.demo import demo_catalog_path
from localprofile.errors import InputError
from localprofile.layers import police_uk_street
from localprofile.national import national_crimes, national_run, read_national
from localprofile.national_files import (BAD_COORDINATES, CRIME_TYPES, NO_COORDINATES, read_street_points,
                                         write_street_files)

ROOT = Path(__file__).resolve().parent.parent
BOUNDARIES = ROOT / "data/boundaries/lsoa11_bsc_england_wales.parquet"
POPULATION = ROOT / "data/census/census2011_usual_residents_lsoa11_england_wales.csv.gz"
N = 60_000


@pytest.fixture(scope="module")
def lsoas():
    return read_national(BOUNDARIES, POPULATION)


@pytest.fixture(scope="module")
def written(lsoas, tmp_path_factory):
    crimes = national_crimes(lsoas.geometry, lsoas["residents"], N, seed=7)
    folder = tmp_path_factory.mktemp("national_files")
    return crimes, write_street_files(crimes, lsoas["code"], folder, seed=7)


def test_the_shipped_months_give_the_street_adapter_s_points_bit_for_bit():
    cat = load_catalog(demo_catalog_path())
    paths = cat.paths("crimes")
    layer = police_uk_street.load(paths, cat.layers["crimes"])
    placed = layer.frame[layer.frame.geometry.notna() & ~layer.frame.geometry.is_empty]
    pts = read_street_points(paths)
    assert pts.read == layer.account.read == 55_713
    assert pts.read == len(pts.x) + sum(pts.dropped.values())
    assert np.array_equal(pts.x, placed.geometry.x.to_numpy()) and np.array_equal(pts.y, placed.geometry.y.to_numpy())
    types = np.asarray(pts.types)[pts.crime_type]
    assert (types == placed["crime_type"].to_numpy(str)).all()
    assert pts.months == ("2016-07", "2017-07") and pts.files == 2


def test_43_forces_by_12_months_come_back_as_they_were_written(written):
    crimes, files = written
    assert len(files) == 43 * 12
    pts = read_street_points(files)
    assert pts.files == 516 and pts.read == N
    assert pts.read == len(pts.x) + sum(pts.dropped.values())
    assert pts.dropped[BAD_COORDINATES] == 0 and 0.01 * N < pts.dropped[NO_COORDINATES] < 0.03 * N
    assert pts.months == tuple(f"2025-{m:02d}" for m in range(1, 13)) and pts.types == CRIME_TYPES
    # every placed crime is where it was drawn, to police.uk's 6 decimals of a degree (< 0.2 m)
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(crimes.x, crimes.y)
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(np.round(lon, 6), np.round(lat, 6))
    placed = np.isin(np.round(x, 3) + 1j * np.round(y, 3), np.round(pts.x, 3) + 1j * np.round(pts.y, 3))
    assert placed.sum() == len(pts.x)
    assert np.abs(np.sort(x[placed]) - np.sort(pts.x)).max() < 1e-6
    assert np.abs(np.sort(y[placed]) - np.sort(pts.y)).max() < 1e-6
    assert np.hypot(x - crimes.x, y - crimes.y).max() < 0.2


def test_the_national_grid_work_runs_on_the_points_read(lsoas, written):
    crimes, files = written
    pts = read_street_points(files)
    run = national_run(pts.x, pts.y, lsoas, cell_size=250, bandwidth=1000.0)
    assert run.counts.sum() == len(pts.x)
    assert run.lsoa_counts.sum() == (run.lsoa >= 0).sum() >= 0.999 * len(pts.x)


def test_a_coordinate_that_is_not_a_number_is_a_counted_drop(tmp_path):
    f = tmp_path / "2025-01-force-01-street.csv"
    f.write_text("Crime ID,Month,Longitude,Latitude,Crime type\n"
                 ",2025-01,-1.5,53.8,Drugs\n,2025-01,east,53.8,Drugs\n,2025-01,,,Burglary\n,2025-01,40.0,53.8,Drugs\n")
    pts = read_street_points([f])
    assert (pts.read, len(pts.x), pts.dropped[BAD_COORDINATES], pts.dropped[NO_COORDINATES]) == (4, 1, 2, 1)


def test_a_file_without_a_column_is_named_with_the_column(tmp_path):
    f = tmp_path / "2025-01-force-01-street.csv"
    f.write_text("Month,Longitude,Crime type\n2025-01,-1.5,Drugs\n")
    with pytest.raises(InputError) as e:
        read_street_points([f])
    assert str(f) in str(e.value) and "Latitude" in str(e.value)


def test_a_ragged_row_and_a_broken_archive_are_named(tmp_path):
    f = tmp_path / "ragged.csv"
    f.write_text("Month,Longitude,Latitude,Crime type\n2025-01,-1.5,53.8,Drugs,extra\n")
    with pytest.raises(InputError, match="ragged.csv"):
        read_street_points([f])
    z = tmp_path / "2025-01.zip"
    z.write_bytes(b"not a zip")
    with pytest.raises(InputError, match="2025-01.zip"):
        read_street_points([z])
    good = tmp_path / "good.zip"
    with zipfile.ZipFile(good, "w") as zf:
        zf.writestr("2025-01/2025-01-force-01-street.csv", "Month,Longitude,Latitude,Crime type\n2025-01,-1.5,53.8,Drugs\n")
        zf.writestr("2025-01/2025-01-force-01-outcomes.csv", "Month\n2025-01\n")
    assert read_street_points([good]).read == 1


def test_a_file_of_only_a_header_without_a_line_break_reads_as_no_rows(tmp_path):
    f = tmp_path / "2025-01-force-01-street.csv"
    f.write_text("Month,Longitude,Latitude,Crime type")
    pts = read_street_points([f, f])
    assert (pts.read, len(pts.x), pts.files) == (0, 0, 2) and pts.months == ()


def test_no_files_is_one_clear_error():
    with pytest.raises(InputError, match="no police.uk street-level files"):
        read_street_points([])


def test_a_folder_is_searched_as_the_street_adapter_searches_it(tmp_path):
    """An unpacked police.uk download: the street-level CSVs and archives in the folder and its
    sub-folders are read, not the outcomes files beside them nor a documentation folder's CSV;
    the same rows as the street-level adapter reads from that folder."""
    cat = load_catalog(demo_catalog_path())
    shipped = cat.paths("crimes")  # two monthly zip archives
    folder = tmp_path / "download"
    (folder / "2016-07").mkdir(parents=True)
    (folder / "Doc").mkdir()
    with zipfile.ZipFile(shipped[0]) as zf:
        for name in zf.namelist():
            if name.endswith(".csv"):
                (folder / "2016-07" / name.rsplit("/", 1)[-1]).write_bytes(zf.read(name))
    (folder / "archives").mkdir()
    (folder / "archives" / shipped[1].name).write_bytes(shipped[1].read_bytes())
    (folder / "2016-07" / "2016-07-west-yorkshire-outcomes.csv").write_text("Month\n2016-07\n")
    (folder / "Doc" / "2016-07-example-street.csv").write_text("not,a,police.uk,file\n")
    pts = read_street_points([folder])
    layer = police_uk_street.load([folder], cat.layers["crimes"])
    assert pts.files == 2 and pts.read == layer.account.read == 55_713
    assert np.array_equal(np.sort(pts.x), np.sort(read_street_points(shipped).x))
