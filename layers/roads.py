"""A road network for the offline basemap (OS Open Roads, or any OGR line file), read with pyogrio.

The file is the analyst's own copy: OS Open Roads as OS distributes it (GeoPackage, layer
``road_link``: ``name_1``, ``road_classification``, ``road_classification_number``; or the
Shapefile edition's ``name1``, ``class``, ``roadNumber``), or any GeoPackage, Shapefile or
GeoJSON of lines in a declared CRS. The profile clips it to the district and the grid's buffer,
simplifies it and draws it in the HTML as thin grey lines beneath every other layer, with road
names at street zoom (:mod:`localprofile.stages.orientation`). No roads file ships with the demo.

Options: ``layer`` (GeoPackage layer; default ``road_link`` when the file has it, else its only
layer), ``name``, ``number`` and ``road_class`` (column names, found among the OS spellings when
not given), ``bbox`` ([min easting, min northing, max easting, max northing] in the file's CRS:
only the features crossing it are read, for the whole-of-Britain file).

Output schema (GeoDataFrame, EPSG:27700, one row per road link):

=========== ========== ========================================================
column      type       meaning
=========== ========== ========================================================
name        string     road name ("Briggate"); missing when the link has none
number      string     road number ("A61"); missing when none
road_class  string     classification ("A Road", "Unclassified"); missing if absent
geometry    LineString EPSG:27700 (MultiLineString where the file has them)
=========== ========== ========================================================

Record account: read = used + dropped for "empty geometry" and "not a line".

>>> import geopandas as gpd, shapely, tempfile, pathlib
>>> from localprofile.catalog import LayerSpec
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> gpd.GeoDataFrame({"name_1": ["Briggate", None], "road_classification": ["B Road", "Unknown"]},
...                  geometry=[shapely.LineString([(430e3, 433e3), (430e3, 434e3)]),
...                            shapely.Point(430e3, 433e3)], crs=27700).to_file(d / "roads.gpkg", layer="road_link")
>>> spec = LayerSpec(adapter="roads", path="roads.gpkg", vintage="v", licence="l", attribution="a",
...                  sensitivity="open")
>>> data = load([d / "roads.gpkg"], spec)
>>> data.frame["name"].tolist(), data.account.dropped
(['Briggate'], {'not a line': 1})
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
import pyogrio
from pydantic import BaseModel, ConfigDict, Field

from ..account import LayerData, RecordAccount
from ..errors import InputError
from ..geo import BNG
from ..validate import find_column, require_file

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "roads"
REQUIRED = False

NAMES = ["name_1", "name1", "name", "road_name", "roadname"]
NUMBERS = ["road_classification_number", "roadNumber", "road_number", "ref", "number"]
CLASSES = ["road_classification", "class", "road_class", "roadclass", "highway"]
LINES = ["LineString", "MultiLineString"]


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    layer: str | None = None
    name: str | None = None
    number: str | None = None
    road_class: str | None = None
    bbox: list[float] | None = Field(None, min_length=4, max_length=4)


def _layer(path: Path, given: str | None) -> str | None:
    if given:
        return given
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except pyogrio.errors.DataSourceError as exc:
        raise InputError(f"cannot read as an OGR vector file ({str(exc).splitlines()[0]})", file=path) from None
    if "road_link" in names:
        return "road_link"
    if len(names) > 1:
        raise InputError(f"the file has {len(names)} layers ({', '.join(names)}): name one in options.layer",
                         file=path)
    return None


def _read(path: Path, opts: Options) -> gpd.GeoDataFrame:
    require_file(path)
    layer = _layer(path, opts.layer)
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer, bbox=tuple(opts.bbox) if opts.bbox else None)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise InputError(f"cannot read as an OGR vector file ({str(exc).splitlines()[0]})", file=path) from None
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError("the file has no geometry: a roads layer needs lines", file=path)
    if gdf.crs is None:
        raise InputError("no coordinate reference system declared", file=path)

    def column(given, candidates, what):
        if given:
            return find_column(gdf.columns, [given], file=path, what=given)
        return find_column(gdf.columns, candidates, file=path, what=what, required=False)

    out = {}
    for key, given, candidates in (("name", opts.name, NAMES), ("number", opts.number, NUMBERS),
                                   ("road_class", opts.road_class, CLASSES)):
        col = column(given, candidates, key)
        values = gdf[col].astype("string").str.strip() if col else pd.Series(pd.NA, index=gdf.index, dtype="string")
        out[key] = values.where(values != "")
    return gpd.GeoDataFrame(out, geometry=gdf.geometry.to_crs(BNG), crs=BNG)


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read the road lines in ``paths``, reprojected to EPSG:27700."""
    opts = spec.opts()
    gdf = gpd.GeoDataFrame(pd.concat([_read(p, opts) for p in paths], ignore_index=True), crs=BNG)
    acc = RecordAccount(read=len(gdf))
    keep = acc.partition([
        ("empty geometry", gdf.geometry.isna() | gdf.geometry.is_empty),
        ("not a line", ~gdf.geom_type.isin(LINES)),
    ])
    acc.check(spec.adapter)
    return LayerData(gdf.loc[keep].reset_index(drop=True), acc)
