"""Any polygon layer of neighbourhoods (wards, neighbourhood policing areas, beats) to rank
priority neighbourhoods by (``profile.overlay.unit: <this layer's name>``), from GeoJSON,
GeoPackage or Shapefile in any declared CRS.

``options.code`` names the unit's code column (required), ``options.name`` its name column,
``options.layer`` the GeoPackage layer.

Output schema (GeoDataFrame, EPSG:27700, one row per unit): ``code``, ``name``, ``geometry``.

>>> import geopandas as gpd, shapely, tempfile, pathlib
>>> from localprofile.catalog import LayerSpec
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> gpd.GeoDataFrame({"NPA": ["A", "B"]}, geometry=[shapely.box(4e5, 4e5, 401e3, 401e3),
...                  shapely.box(401e3, 4e5, 402e3, 401e3)], crs=27700).to_file(d / "npa.geojson")
>>> spec = LayerSpec(adapter="polygons", path="npa.geojson", vintage="v", licence="l",
...                  attribution="a", sensitivity="open", options={"code": "NPA"})
>>> load([d / "npa.geojson"], spec).frame["code"].tolist()
['A', 'B']
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd
from pydantic import BaseModel, ConfigDict

from ..account import LayerData
from ..geo import BNG
from ..validate import find_column
from ._polygons import read_geofile, repair_invalid, usable_polygons

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "polygons"
REQUIRED = False


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    name: str | None = None
    layer: str | None = None


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read the polygons in ``paths``, reprojected to EPSG:27700."""
    opts = spec.opts()
    parts = []
    for path in paths:
        gdf = read_geofile(path, opts.layer)
        code = find_column(gdf.columns, [opts.code], file=path, what=opts.code, hint="name it in options.code")
        name = find_column(gdf.columns, [opts.name], file=path, what=opts.name) if opts.name else None
        parts.append(gpd.GeoDataFrame({
            "code": gdf[code].astype("string").str.strip(),
            "name": (gdf[name] if name else gdf[code]).astype("string"),
        }, geometry=gdf.geometry.to_crs(BNG)))
    gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=BNG)
    gdf, acc = usable_polygons(gdf, "code", "code")
    gdf = repair_invalid(gdf, acc)
    acc.check(spec.adapter)
    return LayerData(gdf, acc)
