"""Any point layer: partner data (care homes, licensed premises, council datasets) or force
extracts, from CSV, XLSX, GeoPackage, GeoJSON or Shapefile.

Columns are mapped in the catalog (``options.columns``): ``id``, ``name``, ``category`` and the
location as ``easting``/``northing``, ``longitude``/``latitude`` or ``postcode`` (through the
catalog's postcode files). Geographic files carry their own geometry. ``options.fields`` lists
further columns carried through to the profile as they are (categorical fields);
``options.include`` keeps only rows whose column holds one of the listed values (the others are
counted as dropped); ``options.sheet`` names the XLSX sheet or GeoPackage layer. Without a
mapping, the usual names (ID, Name, Category, Postcode, Easting, Longitude ...) are looked for.

Output schema (GeoDataFrame, EPSG:27700): ``id``, ``name``, ``category``, ``postcode``,
``lsoa_code`` (from the postcode files, when used), the ``fields``, ``geometry``.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> from localprofile.loading import LoadContext
>>> cat = load_catalog(demo_catalog_path())
>>> data = LoadContext(cat).layer("secondary_schools")
>>> data.account.dropped["not selected by options.include"] > 100
True
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pydantic import BaseModel, ConfigDict

from ..account import LayerData, RecordAccount, repeats
from ..errors import InputError
from ..geo import BNG, BNG_EXTENT
from ..points import Located, locate, point_frame
from ..sources import iter_tables
from ..validate import combine_files, find_column, name_empty_files, read_csv, require_file

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "points"
REQUIRED = False
USES_CONTEXT = True  # geocodes through the catalog's postcode layers: cached by them too

Field = Literal["id", "name", "category", "postcode", "easting", "northing", "longitude", "latitude"]
GEO_SUFFIXES = {".gpkg", ".geojson", ".json", ".shp", ".fgb"}
DEFAULT_NAMES: dict[str, list[str]] = {
    "id": ["id", "reference", "ref", "urn"],
    "name": ["name"],
    "category": ["category", "type"],
    "postcode": ["postcode", "post code"],
    "easting": ["easting", "eastings", "x"],
    "northing": ["northing", "northings", "y"],
    "longitude": ["longitude", "lon", "lng", "long"],
    "latitude": ["latitude", "lat"],
}


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    columns: dict[Field, str] = {}
    fields: list[str] = []
    include: dict[str, list[str]] = {}
    sheet: str | None = None


def _read_table(path: Path, spec: LayerSpec, opts: Options) -> list[tuple[pd.DataFrame, str]]:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        require_file(path)
        try:
            df = pd.read_excel(path, sheet_name=opts.sheet or 0, dtype=str)
        except ValueError as exc:  # unknown sheet
            raise InputError(str(exc).splitlines()[0], file=path) from None
        df = df.apply(lambda s: s.astype("string").str.strip().replace("", pd.NA))
        return [(df, str(path))]
    return [
        (read_csv(io.BytesIO(t.read_bytes()), file=t.label, encoding=spec.encoding), t.label)
        for t in iter_tables([path], r".+\.csv")
    ]


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read a point layer from tables or geographic files."""
    opts = spec.opts()
    frames, geoms, from_geo = [], [], []
    for path in paths:
        if path.suffix.lower() in GEO_SUFFIXES:
            require_file(path)
            try:
                gdf = gpd.read_file(path, layer=opts.sheet, engine="pyogrio")
            except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
                raise InputError(f"cannot read ({str(exc).splitlines()[0]})", file=path) from None
            if gdf.crs is None:
                raise InputError("no coordinate reference system declared", file=path)
            frames.append((pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype("string"), str(path)))
            geoms.append(gdf.geometry.to_crs(BNG).to_numpy())
            from_geo.append(np.ones(len(gdf), dtype=bool))
        else:
            for df, label in _read_table(path, spec, opts):
                frames.append((df, label))
                geoms.append(np.full(len(df), None, dtype=object))
                from_geo.append(np.zeros(len(df), dtype=bool))
    label = frames[0][1]
    cols = set().union(*(f.columns for f, _ in frames))
    # no file gives a row: stop, naming the file, rather than map nothing
    df, truncated, empty = combine_files([(lab, f) for f, lab in frames], needs="a point layer needs at least one row")
    geom = np.concatenate(geoms)
    geo_row = np.concatenate(from_geo)

    def column(field: str) -> str | None:
        given = opts.columns.get(field)
        if given:
            return find_column(cols, [given], file=label, what=given)
        return find_column(cols, DEFAULT_NAMES[field], file=label, what=field, required=False)

    mapped = {f: column(f) for f in DEFAULT_NAMES}
    for f in opts.fields + list(opts.include):
        find_column(cols, [f], file=label, what=f)
    if not (mapped["easting"] or mapped["longitude"] or mapped["postcode"] or geo_row.all()):
        raise InputError(
            "no location columns: map easting/northing, longitude/latitude or postcode in "
            "options.columns", file=label,
        )
    acc = RecordAccount(read=len(df))
    table_rows = ~geo_row
    loc = locate(
        df,
        easting=mapped["easting"] if mapped["northing"] else None,
        northing=mapped["northing"] if mapped["easting"] else None,
        longitude=mapped["longitude"] if mapped["latitude"] else None,
        latitude=mapped["latitude"] if mapped["longitude"] else None,
        postcode=mapped["postcode"] if table_rows.any() else None,
        file=label,
        ctx=ctx,
        layer=spec.label or "points",
    ) if table_rows.any() else Located(
        np.full(len(df), np.nan), np.full(len(df), np.nan),
        pd.Series(pd.NA, index=df.index, dtype="string"), pd.Series(pd.NA, index=df.index, dtype="string"),
    )
    # Rows of geographic files: their own geometry (a polygon's centroid), checked like any point.
    usable = geo_row & pd.notna(geom)
    usable[usable] = ~shapely.is_empty(geom[usable])
    xy = np.full((len(df), 2), np.nan)
    if usable.any():
        xy[usable] = shapely.get_coordinates(shapely.centroid(geom[usable]))
    on_grid = (xy[:, 0] >= BNG_EXTENT[0]) & (xy[:, 0] <= BNG_EXTENT[2]) & (xy[:, 1] >= BNG_EXTENT[1]) & (xy[:, 1] <= BNG_EXTENT[3])
    loc.x[geo_row], loc.y[geo_row] = np.where(on_grid, xy[:, 0], np.nan)[geo_row], np.where(on_grid, xy[:, 1], np.nan)[geo_row]
    selected = np.ones(len(df), dtype=bool)
    for col, values in opts.include.items():
        selected &= df[find_column(cols, [col], file=label, what=col)].isin(values).to_numpy()
    ids = df[mapped["id"]] if mapped["id"] else None
    keep = acc.partition([
        *truncated,
        ("not selected by options.include", ~selected),
        ("no geometry", geo_row & ~usable),
        ("outside Great Britain", geo_row & usable & ~on_grid),
        *[(r, m & table_rows) for r, m in loc.reasons],
        ("duplicate id", (lambda kept: repeats(ids, kept)) if ids is not None else np.zeros(len(df), bool)),
    ])
    if loc.by_postcode is not None:
        acc.note("placed by postcode (coordinates unusable)", int((keep & loc.by_postcode).sum()))
    values = {f: df[mapped[f]] for f in ("id", "name", "category") if mapped[f]}
    values.update({f: df[find_column(cols, [f], file=label, what=f)] for f in opts.fields})
    frame = point_frame(values, loc, keep)
    acc.check(spec.adapter)
    meta = {"columns": {k: v for k, v in mapped.items() if v}}
    name_empty_files(empty, acc, meta)  # header-only files among others: named in validate and the profile
    return LayerData(frame, acc, meta)
