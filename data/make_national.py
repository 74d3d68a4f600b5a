#!/usr/bin/env python3
"""Make the national benchmark's two data files from the real ONS copies in shared/data.

    .venv/bin/python data/make_national.py [--shared ../shared/data]

Writes, byte for byte the same on every run with the same library versions:

- ``data/boundaries/lsoa11_bsc_england_wales.parquet``: the 34,753 LSOA (December 2011) BSC
  boundaries of England and Wales, columns ``LSOA11CD``, ``LSOA11NM`` and the geometry,
  reprojected from CRS84 to EPSG:27700 (British National Grid) with full float64 precision,
  rows sorted by code, GeoParquet with WKB geometry and zstd (level 19). The other columns
  (OBJECTID, the Welsh name, the centroid, Shape__Area, Shape__Length, GlobalID) are dropped.
  Geometries are as published: three are invalid ("nested shells") and 118 pairs of
  neighbours overlap by slivers (0.94 m² in all); :func:`localprofile.national.read_national`
  repairs them on reading.
- ``data/census/census2011_usual_residents_lsoa11_england_wales.csv.gz``: ``LSOA Code`` and
  ``Usual residents`` (the first of the published file's three "Persons" columns, thousands
  separators removed), rows sorted by code, gzip with no timestamp or file name in its header.
"""

from __future__ import annotations

import argparse
import gzip
import io
from pathlib import Path

import geopandas as gpd
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
BOUNDARIES_IN = "boundaries/lsoa11_bsc_england_wales.geojson"
CENSUS_IN = "census/census2011_population_households_lsoa11_england_wales.csv"
BOUNDARIES_OUT = ROOT / "data/boundaries/lsoa11_bsc_england_wales.parquet"
POPULATION_OUT = ROOT / "data/census/census2011_usual_residents_lsoa11_england_wales.csv.gz"


def make(shared: Path) -> None:
    """Write both files from ``shared`` (the folder holding boundaries/ and census/)."""
    b = gpd.read_file(shared / BOUNDARIES_IN, engine="pyogrio", columns=["LSOA11CD", "LSOA11NM"])
    b = b.to_crs(27700).sort_values("LSOA11CD", kind="stable").reset_index(drop=True)
    b.to_parquet(BOUNDARIES_OUT, compression="zstd", compression_level=19, geometry_encoding="WKB",
                 write_covering_bbox=False, index=False)
    # usecols by position: the header repeats "Persons" three times; the first is usual residents
    c = pd.read_csv(shared / CENSUS_IN, usecols=[6, 9], thousands=",", dtype={"LSOA Code": str})
    c.columns = ["LSOA Code", "Usual residents"]
    c = c.sort_values("LSOA Code", kind="stable")
    text = c.to_csv(index=False, lineterminator="\n").encode()
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, compresslevel=9, mtime=0) as f:
        f.write(text)
    POPULATION_OUT.write_bytes(buf.getvalue())
    print(f"{BOUNDARIES_OUT.relative_to(ROOT)}: {len(b):,} LSOAs, {BOUNDARIES_OUT.stat().st_size:,} bytes")
    print(f"{POPULATION_OUT.relative_to(ROOT)}: {len(c):,} rows, {POPULATION_OUT.stat().st_size:,} bytes")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared" / "data",
                    help="the shared data folder (default: ../shared/data beside the repository)")
    make(ap.parse_args().shared)
