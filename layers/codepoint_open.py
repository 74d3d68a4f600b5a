"""OS Code-Point Open: every live postcode unit's easting and northing (EPSG:27700).

Reads the files as OS distributes them: CSVs without a header, 10 columns (Postcode,
Positional_quality_indicator, Eastings, Northings, Country_code, NHS_regional_HA_code,
NHS_HA_code, Admin_county_code, Admin_district_code, Admin_ward_code), loose or inside the
Code-Point Open zip (``Data/CSV/<area>.csv``); a header row with those names is accepted too.

Output schema (GeoDataFrame, EPSG:27700, one row per postcode), used by the postcode geocoder:

============ ======= ======================================================
column       type    meaning
============ ======= ======================================================
postcode     string  normalised ("LS1 1UR")
easting      float   metres
northing     float   metres
quality      int     positional quality (10 best ... 60; 90 = no coordinates)
lad_code     string  local authority district code
terminated   bool    always False: Code-Point Open lists live postcodes only
geometry     Point   EPSG:27700
============ ======= ======================================================

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> cat = load_catalog(demo_catalog_path())
>>> data = load(cat.paths("codepoint_open"), cat.layers["codepoint_open"])
>>> data.account.read, data.account.used
(64065, 64065)
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..account import LayerData, RecordAccount, repeats
from ..errors import InputError
from ..geo import BNG, BNG_EXTENT
from ..geocode import normalise_postcode
from ..sources import iter_tables
from ..validate import combine_files, name_empty_files, numbers, read_csv, whole_rows
from .ons_postcode_directory import require_postcodes

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "postcodes"
REQUIRED = False

NAMES = [
    "Postcode", "Positional_quality_indicator", "Eastings", "Northings", "Country_code",
    "NHS_regional_HA_code", "NHS_HA_code", "Admin_county_code", "Admin_district_code",
    "Admin_ward_code",
]


def _read(table, encoding: str) -> pd.DataFrame:
    raw = read_csv(io.BytesIO(table.read_bytes()), file=table.label, encoding=encoding, header=None)
    if raw.shape[1] != len(NAMES):
        raise InputError(
            f"expected the {len(NAMES)} Code-Point Open columns, found {raw.shape[1]}", file=table.label
        )
    header = str(raw.iloc[0, 0]).strip().lower() == "postcode"  # a header row
    whole = whole_rows(raw)
    if header:
        raw, whole = raw.iloc[1:], whole[1:]
    raw.columns = NAMES
    require_postcodes(raw["Postcode"], table.label, "Postcode", whole,
                      first_row=2 if header else 1)
    raw["source"] = table.label
    return raw


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read Code-Point Open CSVs (files, folders or the OS zip) into one row per postcode."""
    df, truncated, empty = combine_files(
        [(t.label, _read(t, spec.encoding)) for t in iter_tables(paths, r".+\.csv")],
        needs="Code-Point Open needs a row per postcode")
    acc = RecordAccount(read=len(df))
    postcode = normalise_postcode(df["Postcode"])
    e, n = numbers(df["Eastings"]), numbers(df["Northings"])
    quality = pd.to_numeric(df["Positional_quality_indicator"], errors="coerce")
    on_grid = (e >= BNG_EXTENT[0]) & (e <= BNG_EXTENT[2]) & (n >= BNG_EXTENT[1]) & (n <= BNG_EXTENT[3])
    keep = acc.partition([
        *truncated,
        ("postcode malformed", postcode.isna()),
        ("no coordinates (positional quality 90)", (quality == 90).to_numpy()),
        ("easting/northing not numbers or off the National Grid", ~on_grid),
        ("duplicate postcode", lambda kept: repeats(postcode, kept)),
    ])
    e, n = e[keep], n[keep]
    out = gpd.GeoDataFrame(
        {
            "postcode": postcode[keep].to_numpy(),
            "easting": e,
            "northing": n,
            "quality": quality[keep].astype("Int64").to_numpy(),
            "lad_code": df.loc[keep, "Admin_district_code"].to_numpy(),
            "terminated": np.zeros(int(keep.sum()), dtype=bool),
        },
        geometry=shapely.points(e, n),
        crs=BNG,
    )
    acc.check(spec.adapter)
    return LayerData(out, acc, name_empty_files(empty, acc, {}))
