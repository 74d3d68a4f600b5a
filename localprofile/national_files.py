"""A national year of police.uk street-level files (43 forces x 12 months, some 6 million rows)
read in partitions, one Dask task per file, each partition cut at once to what the
national grid work needs: eastings and northings (EPSG:27700), month and crime type.

A partition is one CSV (a file, or a member of a police.uk zip archive) read by Arrow's CSV
reader, which parses only the columns used (``Month``, ``Longitude``, ``Latitude``,
``Crime type``); it is projected and reduced to 20 bytes a crime before the next is read, so
memory holds a few raw partitions (one per Dask thread) and the compact result, never the
year's text. Rows without usable coordinates are counted by reason, so every row read is
either used or dropped.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> pts = read_street_points(load_catalog(demo_catalog_path()).paths("crimes"))
>>> pts.read == len(pts.x) + sum(pts.dropped.values()), pts.months
(True, ('2016-07', '2017-07'))
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError
from .geo import GB_LAT, GB_LON, lonlat_to_bng

COLUMNS = ("Month", "Longitude", "Latitude", "Crime type")
NO_COORDINATES = "no coordinates (police.uk could not place the crime)"
# outside geo.GB_LON / GB_LAT: not a British police.uk map point, a damaged row
BAD_COORDINATES = "coordinates not a number or outside Great Britain"


@dataclass(frozen=True)
class StreetPoints:
    """The crimes of many street-level files: ``x``, ``y`` in EPSG:27700 metres, ``month`` and
    ``crime_type`` as indices into ``months`` and ``types`` (sorted), in file order. ``read``
    rows were read from ``files`` tables; ``dropped`` counts the rest by reason."""

    x: np.ndarray
    y: np.ndarray
    month: np.ndarray
    crime_type: np.ndarray
    months: tuple[str, ...]
    types: tuple[str, ...]
    read: int
    dropped: dict[str, int]
    files: int


def street_tables(paths) -> list[tuple[str, str | None]]:
    """(file, zip member or None) of every street-level CSV among ``paths``, found as the
    street-level adapter finds them (:func:`localprofile.sources.iter_tables`): a CSV named
    as it is; the ``*-street.csv`` members of a police.uk zip archive; and in a folder (an
    unpacked download, say), searched through, every ``*-street.csv`` file and archive, not
    the outcomes and stop-and-search files beside them."""
    from .layers.police_uk_street import MEMBER_PATTERN
    from .sources import iter_tables

    return [(str(t.path), t.member) for t in iter_tables([Path(p) for p in paths], MEMBER_PATTERN)]


def _read(data: bytes, name: str):
    """The wanted columns of one police.uk CSV (its bytes) through Arrow's CSV reader, which
    parses only those: (longitude, latitude, whether either was empty, month, crime type). A
    missing column is an InputError naming it; a coordinate that is not a number is NaN."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    end = data.find(b"\n")
    header = [h.strip().strip('"') for h in data[:end if end >= 0 else len(data)].decode("utf-8-sig", "replace").split(",")]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise InputError(f"no such column (a police.uk street-level file has {', '.join(COLUMNS)})",
                         file=name, column=missing[0])

    if not data.endswith((b"\n", b"\r")):
        data += b"\n"  # Arrow reads a header alone as an empty file only with its line break

    def read(coords: str):
        return pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(
            include_columns=list(COLUMNS), strings_can_be_null=True,
            column_types={"Longitude": coords, "Latitude": coords, "Month": "string", "Crime type": "string"}))

    try:
        t = read("float64")
        lon, lat = (t[c].to_numpy(zero_copy_only=False) for c in ("Longitude", "Latitude"))
        empty = np.isnan(lon) | np.isnan(lat)
    except pa.ArrowInvalid:  # a coordinate that is not a number: read as text, that row dropped
        t = read("string")
        text = [t[c].to_pandas() for c in ("Longitude", "Latitude")]
        empty = (text[0].isna() | text[1].isna()).to_numpy()
        lon, lat = (pd.to_numeric(v, errors="coerce").to_numpy(float) for v in text)
    return lon, lat, empty, t["Month"].to_pandas(), t["Crime type"].to_pandas()


def _part(file: str, member: str | None) -> dict:
    """One table reduced to its crimes: x, y (float64), month and crime type as int16 codes into
    the table's own sorted values, and its account (rows read, dropped by reason)."""
    import pyarrow as pa

    name = f"{file}:{member}" if member else file
    try:
        if member:
            with zipfile.ZipFile(file) as zf:
                data = zf.read(member)
        else:
            data = Path(file).read_bytes()
        lon, lat, empty, month, kind = _read(data, name)
    except FileNotFoundError:
        raise InputError("file not found", file=name) from None
    except (pa.ArrowInvalid, OSError) as exc:  # a ragged row, a damaged archive
        raise InputError(f"not a readable police.uk CSV ({str(exc).splitlines()[0]})", file=name) from None
    with np.errstate(invalid="ignore"):
        ok = ~empty & (lon >= GB_LON[0]) & (lon <= GB_LON[1]) & (lat >= GB_LAT[0]) & (lat <= GB_LAT[1])
    x, y = lonlat_to_bng(lon[ok], lat[ok])  # pyproj's Transformer is thread-safe (3.1 and later)
    month_codes, months = pd.factorize(month[ok].fillna(""), sort=True)
    type_codes, types = pd.factorize(kind[ok].fillna(""), sort=True)
    return {"x": np.asarray(x, float), "y": np.asarray(y, float),
            "month": month_codes.astype(np.int16), "months": np.asarray(months, str),
            "crime_type": type_codes.astype(np.int16), "types": np.asarray(types, str),
            "read": len(lon), NO_COORDINATES: int(empty.sum()), BAD_COORDINATES: int((~empty & ~ok).sum())}


def _merge_codes(parts: list[dict], codes: str, values: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Every table's codes renumbered into the sorted union of the tables' values."""
    vocab = np.unique(np.concatenate([p[values] for p in parts])) if parts else np.array([], str)
    return (np.concatenate([np.searchsorted(vocab, p[values]).astype(np.int16)[p[codes]] for p in parts])
            if parts else np.array([], np.int16)), tuple(vocab.tolist())


def read_street_points(paths, *, scheduler: str | None = "threads") -> StreetPoints:
    """Every street-level table among ``paths`` (CSV files, police.uk zip archives) as
    :class:`StreetPoints`: one Dask task per table, run on ``scheduler`` (Dask's name:
    "threads", "processes", "sync", or None for the active Dask client, e.g. a cluster's). A
    table that cannot be read, or lacks a column, stops the run with an InputError naming it."""
    import dask

    tables = street_tables(paths)
    if not tables:
        raise InputError("no police.uk street-level files to read (CSV files, or zip archives holding *-street.csv)")
    tasks = [dask.delayed(_part)(f, m, dask_key_name=f"localprofile-street-table-{i}")
             for i, (f, m) in enumerate(tables)]
    parts = list(dask.compute(*tasks, scheduler=scheduler) if scheduler else dask.compute(*tasks))
    month, months = _merge_codes(parts, "month", "months")
    kind, types = _merge_codes(parts, "crime_type", "types")
    return StreetPoints(
        np.concatenate([p["x"] for p in parts]), np.concatenate([p["y"] for p in parts]), month, kind,
        months, types, sum(p["read"] for p in parts),
        {r: sum(p[r] for p in parts) for r in (NO_COORDINATES, BAD_COORDINATES)}, len(tables))


# SYNTHETIC files for the national benchmark and its test: police.uk's layout and crime types,
# with made-up forces, ids, places and outcomes
STREET_HEADER = ("Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                 "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context")
CRIME_TYPES = ("Anti-social behaviour", "Bicycle theft", "Burglary", "Criminal damage and arson", "Drugs",
               "Other crime", "Other theft", "Possession of weapons", "Public order", "Robbery",
               "Shoplifting", "Theft from the person", "Vehicle crime", "Violence and sexual offences")
UNPLACED_SHARE = 0.02  # rows written without coordinates, as police.uk has some


def write_street_files(crimes, lsoa_codes, folder, *, forces: int = 43, months: int = 12,
                       year: int = 2025, seed: int = 0) -> list[Path]:
    """Write SYNTHETIC ``crimes`` (:class:`localprofile.national.NationalCrimes`) as police.uk
    street-level files, ``folder``/YYYY-MM/YYYY-MM-force-NN-street.csv: ``forces`` made-up forces
    (the LSOAs, in code order, cut into that many runs), ``months`` months of ``year``, crime
    types drawn (seeded) from police.uk's list, a share of rows without coordinates. Returns the
    files, sorted. Longitudes and latitudes have 6 decimals, as police.uk's."""
    import pyarrow as pa
    from pyarrow import csv as pacsv
    from pyproj import Transformer

    rng = np.random.default_rng(seed)
    n = len(crimes.x)
    lon, lat = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True).transform(crimes.x, crimes.y)
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    unplaced = rng.random(n) < UNPLACED_SHARE
    month = rng.integers(0, months, n)
    kind = rng.integers(0, len(CRIME_TYPES), n)
    codes = np.asarray(lsoa_codes, dtype=object)
    force = (np.asarray(crimes.lsoa) * forces) // max(len(codes), 1)
    folder = Path(folder)
    written = []
    order = np.lexsort((np.arange(n), force, month))  # by month, then force, then crime
    bounds = np.flatnonzero(np.r_[True, (np.diff(month[order]) != 0) | (np.diff(force[order]) != 0), True])
    for a, b in zip(bounds[:-1], bounds[1:]):
        rows = order[a:b]
        m, f = f"{year}-{int(month[rows[0]]) + 1:02d}", int(force[rows[0]]) + 1
        placed = ~unplaced[rows]
        cols = {
            "Crime ID": pa.nulls(len(rows), pa.string()),
            "Month": pa.array([m] * len(rows)),
            "Reported by": pa.array([f"Force {f:02d} (SYNTHETIC)"] * len(rows)),
            "Falls within": pa.array([f"Force {f:02d} (SYNTHETIC)"] * len(rows)),
            "Longitude": pa.array(lon[rows], mask=~placed),
            "Latitude": pa.array(lat[rows], mask=~placed),
            "Location": pa.array(np.where(placed, "On or near Synthetic Street", "No Location")),
            "LSOA code": pa.array(codes[crimes.lsoa[rows]].astype(str)),
            "LSOA name": pa.array(codes[crimes.lsoa[rows]].astype(str)),
            "Crime type": pa.array(np.asarray(CRIME_TYPES, object)[kind[rows]].astype(str)),
            "Last outcome category": pa.nulls(len(rows), pa.string()),
            "Context": pa.nulls(len(rows), pa.string()),
        }
        path = folder / m / f"{m}-force-{f:02d}-street.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        pacsv.write_csv(pa.table({c: cols[c] for c in STREET_HEADER}), path, write_options=pacsv.WriteOptions(quoting_style="needed"))
        written.append(path)
    return sorted(written)
