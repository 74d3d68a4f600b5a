"""Reading polygon files (GeoJSON, GeoPackage, Shapefile), shared by the LSOA boundaries and any
neighbourhood polygon layer: the file read with a one-line error, its CRS required, the record
account of unusable polygons, and invalid geometry repaired."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pyogrio
import shapely

from ..account import RecordAccount, repeats
from ..errors import InputError
from ..validate import require_file


def read_geofile(path: Path, layer: str | None = None, no_geometry: str | None = None) -> gpd.GeoDataFrame:
    """The file at ``path`` (``layer`` of a GeoPackage) in its declared CRS; with
    ``no_geometry``, a file without any geometry (a CSV, say) is that error."""
    require_file(path)
    if Path(path).suffix.lower() in (".parquet", ".geoparquet"):
        return _read_geoparquet(path, no_geometry)
    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"cannot read as GeoJSON, GeoPackage or Shapefile ({str(exc).splitlines()[0]})",
                         file=path) from None
    if no_geometry and (not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.isna().all()):
        raise InputError(no_geometry, file=path)
    if gdf.crs is None:
        raise InputError("no coordinate reference system declared", file=path)
    return gdf


def _read_geoparquet(path: Path, no_geometry: str | None) -> gpd.GeoDataFrame:
    """A GeoParquet file, by geopandas' own reader (pyarrow): GDAL's Parquet driver is not in
    every pyogrio build."""
    try:
        gdf = gpd.read_parquet(path)
    except (ValueError, OSError, TypeError) as exc:  # not Parquet, or Parquet without geo metadata
        if no_geometry and "missing geo metadata" in str(exc).lower():  # a plain Parquet table
            raise InputError(no_geometry, file=path) from None
        raise InputError(f"cannot read as GeoParquet ({str(exc).splitlines()[0]})", file=path) from None
    if gdf.crs is None:
        raise InputError("no coordinate reference system declared", file=path)
    return gdf


def usable_polygons(gdf: gpd.GeoDataFrame, code: str, what: str) -> tuple[gpd.GeoDataFrame, RecordAccount]:
    """The rows of ``gdf`` with a ``code`` (named ``what`` in the drop reasons) and a polygon,
    the first of each code, and their record account."""
    acc = RecordAccount(read=len(gdf))
    keep = acc.partition([
        (f"no {what}", gdf[code].isna() | (gdf[code] == "")),
        ("empty geometry", gdf.geometry.isna() | gdf.geometry.is_empty),
        ("not a polygon", ~gdf.geom_type.isin(["Polygon", "MultiPolygon"])),
        (f"duplicate {what}", lambda kept: repeats(gdf[code], kept)),
    ])
    return gdf.loc[keep].reset_index(drop=True), acc


def repair_invalid(gdf: gpd.GeoDataFrame, acc: RecordAccount) -> gpd.GeoDataFrame:
    """Invalid polygons made valid (shapely.make_valid), counted as a note of ``acc``."""
    invalid = ~gdf.geometry.is_valid
    if invalid.any():
        gdf.loc[invalid, "geometry"] = shapely.make_valid(gdf.geometry[invalid].to_numpy())
        acc.note("invalid geometry repaired (make_valid)", int(invalid.sum()))
    return gdf
