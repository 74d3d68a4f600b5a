"""police.uk street-level crime: monthly CSVs, folders of them, or police.uk zip archives.

Output schema (GeoDataFrame, EPSG:27700, one row per crime or ASB incident):

============== ======== ==========================================================================
column         type     meaning
============== ======== ==========================================================================
crime_id       string   police.uk Crime ID; missing for anti-social behaviour (normal)
month          string   ``YYYY-MM``
crime_type     string   police.uk "Crime type", e.g. "Drugs", "Anti-social behaviour"
location       string   "On or near ..." anonymised map point description
lsoa_code      string   LSOA code police.uk assigned (2011 codes before 2023); may be missing
lsoa_name      string   LSOA name police.uk assigned
falls_within   string   force area
last_outcome   string   "Last outcome category" (missing for ASB)
longitude      float    WGS84, NaN when unusable
latitude       float    WGS84, NaN when unusable
source         string   the file (and zip member) the row came from
geometry       Point    EPSG:27700; None when the row has no usable coordinates
============== ======== ==========================================================================

Record account: rows with the same Crime ID as an earlier row (the same crime in two files) are
dropped as duplicates; a second copy of the same month-and-force file (an archive and its
unpacked folder, say) is dropped whole, since its anti-social behaviour rows have no Crime ID to
match on; rows with neither coordinates nor an LSOA code are dropped (they cannot be placed);
rows with an LSOA code but no usable coordinates are kept and counted at LSOA level only.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> cat = load_catalog(demo_catalog_path())
>>> data = load(cat.paths("crimes"), cat.layers["crimes"])
>>> data.account.read, data.account.used, data.account.dropped
(55713, 52825, {'no coordinates and no LSOA code': 2888})
>>> data.meta["months"]
['2016-07', '2017-07']
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..account import LayerData, RecordAccount, repeats
from ..geo import BNG, GB_LAT, GB_LON, lonlat_to_bng
from ..points import swapped_lonlat
from ..validate import name_empty_files, numbers
from ._police_uk import SAME_FILE, read_police_uk_tables, require_rows, require_some_valid, truncated_reasons

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "crimes"
REQUIRED = True  # every profile needs one layer in this role

MEMBER_PATTERN = r"\d{4}-\d{2}-.+-street\.csv"

# normalised name -> (accepted headers, required)
COLUMNS: dict[str, tuple[list[str], bool]] = {
    "crime_id": (["Crime ID"], False),
    "month": (["Month"], True),
    "falls_within": (["Falls within"], False),
    "longitude": (["Longitude"], True),
    "latitude": (["Latitude"], True),
    "location": (["Location"], False),
    "lsoa_code": (["LSOA code"], True),
    "lsoa_name": (["LSOA name"], False),
    "crime_type": (["Crime type"], True),
    "last_outcome": (["Last outcome category"], False),
}

_MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


HINT = "a police.uk street-level crime CSV has Month, Longitude, Latitude, LSOA code and Crime type"


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read every police.uk street-level CSV under ``paths`` into one normalised GeoDataFrame."""
    df, files = read_police_uk_tables(paths, spec, MEMBER_PATTERN, COLUMNS, HINT)
    empty_files = df.attrs.get("empty_files", [])
    require_rows(df, "police.uk street-level crimes")
    month_ok = df["month"].fillna("").str.fullmatch(_MONTH.pattern).to_numpy(dtype=bool)
    require_some_valid(df, month_ok, "month", "YYYY-MM")
    require_some_valid(df, df["crime_type"].notna().to_numpy(), "crime_type", "a crime type")
    lon, lat = numbers(df["longitude"]), numbers(df["latitude"])
    for label in pd.unique(df["source"]):  # a file with its columns swapped throughout stops
        here = (df["source"] == label).to_numpy()
        swapped_lonlat(lon[here], lat[here], file=label, longitude="Longitude", latitude="Latitude")
    truncated = truncated_reasons(df)
    df.pop("truncated")
    df = df.drop(columns=["file", "row"])
    acc = RecordAccount(read=len(df))

    written = df["longitude"].notna().to_numpy() | df["latitude"].notna().to_numpy()
    numeric = np.isfinite(lon) & np.isfinite(lat)
    in_gb = numeric & (lon >= GB_LON[0]) & (lon <= GB_LON[1]) & (lat >= GB_LAT[0]) & (lat <= GB_LAT[1])
    has_lsoa = df["lsoa_code"].notna().to_numpy()
    keep = acc.partition([
        (SAME_FILE, df.pop("repeat_file")),
        *truncated,
        ("blank row", df[list(COLUMNS)].isna().all(axis=1)),
        ("Month not YYYY-MM", ~month_ok),
        ("no Crime type", df["crime_type"].isna()),
        ("no coordinates and no LSOA code", ~in_gb & ~has_lsoa),
        ("duplicate Crime ID (same crime in two files)", lambda kept: repeats(df["crime_id"], kept)),
    ])
    acc.note(
        "coordinates not numbers: counted at LSOA level only",
        int((keep & written & ~numeric).sum()),
    )
    acc.note(
        "coordinates outside Great Britain: counted at LSOA level only",
        int((keep & numeric & ~in_gb).sum()),
    )
    acc.note(
        "no coordinates: counted at LSOA level only", int((keep & ~written & has_lsoa).sum())
    )

    df = df.loc[keep].reset_index(drop=True)
    ok = in_gb[keep]
    lon, lat = np.where(ok, lon[keep], np.nan), np.where(ok, lat[keep], np.nan)
    df["longitude"], df["latitude"] = lon, lat
    geoms = np.full(len(df), None, dtype=object)
    x, y = lonlat_to_bng(lon[ok], lat[ok])
    geoms[ok] = shapely.points(x, y)
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=BNG))
    acc.check(spec.adapter)
    months = sorted(gdf["month"].dropna().unique().tolist())
    return LayerData(gdf, acc, name_empty_files(empty_files, acc, {"months": months, "files": files}))
