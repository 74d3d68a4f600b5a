"""LSOA boundaries from GeoJSON, GeoPackage, Shapefile or GeoParquet (2011 ``LSOA11CD`` or 2021 ``LSOA21CD``).

Output schema (GeoDataFrame, EPSG:27700, one row per LSOA):

=========== ======== ====================================================
column      type     meaning
=========== ======== ====================================================
lsoa_code   string   LSOA code (``LSOA11CD`` or ``LSOA21CD``)
lsoa_name   string   LSOA name, e.g. "Leeds 111B" (missing if absent)
geometry    Polygon  boundary in EPSG:27700
=========== ======== ====================================================

``meta["vintage"]`` is ``"2011"`` or ``"2021"``, from the code field found.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> cat = load_catalog(demo_catalog_path())
>>> data = load(cat.paths("lsoa_boundaries"), cat.layers["lsoa_boundaries"])
>>> len(data.frame), data.meta["vintage"], data.frame.crs.to_epsg()
(1388, '2011', 27700)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from ..account import LayerData
from ..errors import InputError
from ..geo import BNG, BNG_EXTENT
from ..validate import find_column
from ._polygons import read_geofile, repair_invalid, usable_polygons

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "boundaries"
REQUIRED = True  # every profile needs one layer in this role

_CODE_FIELDS = {"2011": ["LSOA11CD"], "2021": ["LSOA21CD"]}
_NAME_FIELDS = {"2011": ["LSOA11NM"], "2021": ["LSOA21NM"]}


def _read(path: Path) -> tuple[gpd.GeoDataFrame, str]:
    gdf = read_geofile(path, no_geometry="no geometry: boundaries must be GeoJSON, GeoPackage, Shapefile or GeoParquet polygons")
    for vintage, fields in _CODE_FIELDS.items():
        code = find_column(gdf.columns, fields, file=path, what="LSOA code", required=False)
        if code:
            break
    else:
        raise InputError(
            "missing LSOA code field (expected LSOA11CD for 2011 or LSOA21CD for 2021 LSOAs)",
            file=path,
            column="LSOA11CD",
        )
    name = find_column(gdf.columns, _NAME_FIELDS[vintage], file=path, what="LSOA name", required=False)
    out = gpd.GeoDataFrame(
        {
            "lsoa_code": gdf[code].astype("string").str.strip(),
            "lsoa_name": gdf[name].astype("string") if name else pd.Series(pd.NA, index=gdf.index, dtype="string"),
        },
        geometry=gdf.geometry.to_crs(BNG),
    )
    return out, vintage


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read LSOA polygons from every file in ``paths``, reprojected to EPSG:27700."""
    parts, vintages = [], set()
    for path in paths:
        gdf, vintage = _read(path)
        parts.append(gdf)
        vintages.add(vintage)
    if len(vintages) > 1:
        raise InputError(
            "boundary files mix 2011 and 2021 LSOAs; use one vintage", file=paths[0]
        )
    gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=BNG)
    gdf, acc = usable_polygons(gdf, "lsoa_code", "LSOA code")
    if gdf.empty:
        raise InputError("no usable LSOA polygons", file=paths[0])
    minx, miny, maxx, maxy = gdf.total_bounds
    median_m2 = float(gdf.area.median())
    if minx < BNG_EXTENT[0] or miny < BNG_EXTENT[1] or maxx > BNG_EXTENT[2] or maxy > BNG_EXTENT[3]:
        raise InputError(
            "polygons fall outside Great Britain once reprojected to the British National Grid; "
            "is the declared coordinate reference system right?",
            file=paths[0],
        )
    if median_m2 < 1000:  # LSOAs cover hectares to square kilometres, never a few square metres
        raise InputError(
            f"LSOA polygons are implausibly small (median {median_m2:.3g} m² in EPSG:27700): "
            "longitude/latitude declared as metres? check the declared coordinate reference system",
            file=paths[0],
        )
    gdf = repair_invalid(gdf, acc)
    acc.check(spec.adapter)
    return LayerData(gdf, acc, {"vintage": vintages.pop()})
