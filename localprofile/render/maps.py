"""Folium maps for the HTML profile, drawn without any tile server or CDN.

Each theme gets one Leaflet map with: the LSOA rate choropleth, Gi* hot and cold cells, the KDE
surface (a PNG reprojected to Web Mercator, embedded as a data URI), the district boundary and a
layer control. Basemap tiles are off unless the catalog gives a tile URL. Strings from data are
HTML-escaped before they enter a tooltip, because Leaflet tooltips are inserted as HTML.

Orientation without tiles: the place names and offline roads of ``profile.orientation``
(:mod:`localprofile.stages.orientation`) are embedded once in the document (compact JSON, see
:func:`orientation_json`) and each map draws them: the roads as thin grey lines beneath every
layer, the labels by zoom level, the most important kept where two would overlap (label text is
set as text, never parsed as HTML). Each theme map's legend shows only the parts whose layers are
on (:class:`LegendSync`).

Element ids (the names of the map's JavaScript variables and HTML elements) are numbered, not
random: see :func:`deterministic_ids`. Two renderings of one profile are the same text.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import functools
import hashlib
import html
import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources

import branca.element
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import Element, MacroElement
from jinja2 import Template
from folium.features import GeoJsonTooltip
from markupsafe import Markup
from rasterio.crs import CRS
from rasterio.warp import Resampling, calculate_default_transform, reproject

from ..geo import BNG, WGS84, mercator_to_lonlat
from ..profile import Profile
from ..stages.orientation import KINDS, MIN_TOP_CRIMES

# Colour ramps. The LSOA rate choropleth is ColorBrewer YlGn (yellow to green, 5 classes): a hue
# family of its own, so that the Gi* hot cells (red, dark red outline) and cold cells (blue, dark
# blue outline) on top of it, the LISA clusters (GeoDa's red, blue, pink, light blue) and the KDE
# (BuPu) never read as one of its classes.
CHOROPLETH = ["#ffffcc", "#c2e699", "#78c679", "#31a354", "#006837"]
NO_DATA = "#d9d9d9"
HOT, COLD = "#d7191c", "#2c7bb6"
HOT_EDGE, COLD_EDGE = "#67000d", "#08306b"
ROAD = "#9e9e9e"
REPEAT = "#ff7f00"
LISA_COLOURS = {"high-high": "#b2182b", "low-low": "#2166ac", "high-low": "#f4a582", "low-high": "#92c5de"}
# ArcGIS's emerging hot spot patterns: ColorBrewer Reds for hot, Blues for cold, darkest for the
# strongest and most sustained (intensifying, persistent) down to the faintest (historical)
_EMERGING_ORDER = ("Intensifying", "Persistent", "Consecutive", "New", "Diminishing", "Oscillating",
                   "Sporadic", "Historical")
_REDS = ("#67000d", "#a50f15", "#cb181d", "#ef3b2c", "#fb6a4a", "#fc9272", "#fcbba1", "#fee0d2")
_BLUES = ("#08306b", "#08519c", "#2171b5", "#4292c6", "#6baed6", "#9ecae1", "#c6dbef", "#deebf7")
EMERGING_COLOURS = {
    **{f"{k} Hot Spot": c for k, c in zip(_EMERGING_ORDER, _REDS)},
    **{f"{k} Cold Spot": c for k, c in zip(_EMERGING_ORDER, _BLUES)},
}
MAP_REPEATS = 50  # clusters drawn per map; the GeoPackage holds them all
# KDE: ColorBrewer BuPu, distinct from the choropleth's reds and the Gi* hot/cold colours.
_KDE_STOPS = np.array([[237, 248, 251], [179, 205, 227], [140, 150, 198], [136, 86, 167], [129, 15, 124]], float)
# Diverging surfaces (log ratio, difference): ColorBrewer RdBu ends through white.
_DIVERGING_LOW, _DIVERGING_MID, _DIVERGING_HIGH = (np.array(c, float) for c in ([33, 102, 172], [247, 247, 247], [178, 24, 43]))
PRECISION = 1e-5  # degrees (about 1 m): enough for drawing, and keeps the file small


_IDS_LOCK = threading.RLock()  # re-entrant: a map drawn inside another block still works


@contextlib.contextmanager
def deterministic_ids(key: str) -> Iterator[None]:
    """Within the block, every folium/branca element gets an id derived from ``key`` and the
    order in which it was created, instead of branca's 32 random hex digits.

    The ids keep branca's form (32 hex digits: the first 32 of SHA-256 of ``key`` and the
    element's number), so maps drawn under different keys in one document never share an id, and
    a map's ids do not depend on the other maps. branca draws ids from ``Element._generate_id``
    (folium has no option for this); it is replaced for the duration of the block, and a lock
    keeps two threads from drawing at once (a nested block numbers its own elements).

    >>> with deterministic_ids("theme drugs"):
    ...     a = folium.Map(tiles=None).get_name()
    >>> with deterministic_ids("theme drugs"):
    ...     b = folium.Map(tiles=None).get_name()
    >>> a == b, a.startswith("map_"), len(a)
    (True, True, 36)
    """
    counter = itertools.count()

    def numbered(cls) -> str:
        return hashlib.sha256(f"{key}\0{next(counter)}".encode()).hexdigest()[:32]

    with _IDS_LOCK:
        original = Element.__dict__["_generate_id"]
        Element._generate_id = classmethod(numbered)
        try:
            yield
        finally:
            Element._generate_id = original


# Jinja syntax (or a carriage return, which Jinja's lexer rewrites) in a rendered part
_JINJA_SYNTAX = re.compile(r"\{[{%#]|\r")


class _TextElement(Element):
    r"""branca's Element, except that a template without any Jinja syntax is kept as text.

    branca turns each rendered part of a map element (a GeoJson layer's script holds all its
    features as JSON) into a new ``Element(text)``, which compiles the text as a Jinja template
    and renders it again; for text with no ``{{``, ``{%`` or ``{#`` that only costs time (the
    lexer reads every character of the JSON). This class gives back the same string Jinja would
    (the text less one trailing newline) without compiling it; any other text goes the usual
    way. It takes an id from ``_generate_id`` exactly as Element does, so numbered ids stay
    the same.

    >>> _TextElement("var a = [1, 2];\n").render() == Element("var a = [1, 2];\n").render()
    True
    >>> _TextElement("{{ 1 + 1 }}").render()
    '2'
    """

    def __init__(self, template: str | None = None, template_name: str | None = None) -> None:
        if isinstance(template, str) and template_name is None and not _JINJA_SYNTAX.search(template):
            super().__init__()
            self._template_str = template
            self._text = template[:-1] if template.endswith("\n") else template
        else:
            super().__init__(template, template_name)

    def render(self, **kwargs) -> str:
        text = self.__dict__.get("_text")
        return super().render(**kwargs) if text is None else text


@contextlib.contextmanager
def _text_elements() -> Iterator[None]:
    """Within the block, branca's macro elements put their rendered parts into
    :class:`_TextElement` (``MacroElement.render`` looks ``Element`` up in its module when it
    runs); held under the ids' lock, like :func:`deterministic_ids`."""
    with _IDS_LOCK:
        original = branca.element.Element
        branca.element.Element = _TextElement
        try:
            yield
        finally:
            branca.element.Element = original


def _numbered_ids(key: Callable[..., str]):
    """Draw the decorated map under :func:`deterministic_ids` with the key ``key(*args)`` (and
    :func:`_text_elements`)."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with deterministic_ids(key(*args, **kwargs)), _text_elements():
                return fn(*args, **kwargs)

        return wrapper

    return decorate


class OfflineMap(folium.Map):
    """A folium Map that references no external script or stylesheet (Leaflet is inlined once
    by the report template)."""

    default_js: list = []
    default_css: list = []


class MapManners(MacroElement):
    """What a map in a long page should do: the mouse wheel scrolls the page until the map is
    clicked (and again once the pointer leaves it), and a button puts the view back on the
    district. Leaflet has both parts (``scrollWheelZoom``, ``L.Control``); this wires them."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map) {
            map.scrollWheelZoom.disable();
            map.on('click', function () { map.scrollWheelZoom.enable(); });
            map.on('mouseout', function () { map.scrollWheelZoom.disable(); });
            var Reset = L.Control.extend({
                options: {position: 'topleft'},
                onAdd: function () {
                    var bar = L.DomUtil.create('div', 'leaflet-bar localprofile-reset');
                    var a = L.DomUtil.create('a', '', bar);
                    a.href = '#'; a.title = 'Reset the view to the district'; a.setAttribute('role', 'button');
                    a.setAttribute('aria-label', 'Reset the view to the district'); a.innerHTML = '&#8962;';
                    L.DomEvent.on(a, 'click', function (e) {
                        L.DomEvent.stop(e); map.fitBounds({{ this.bounds }});
                    });
                    return bar;
                }
            });
            new Reset().addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "MapManners"
        self.bounds = [[round(float(v), 6) for v in corner] for corner in bounds]


LABEL_CSS = """
.localprofile-label { background: none; border: 0; white-space: nowrap; pointer-events: none; }
.localprofile-label span { display: inline-block; transform: translate(-50%, -50%); font: 11px/1.1 Arial, Helvetica, sans-serif;
  color: #333; text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff; }
.localprofile-label.postcode_district span { font-weight: bold; font-size: 13px; color: #111; }
.localprofile-label.msoa span, .localprofile-label.lsoa span { font-style: italic; color: #444; }
.localprofile-label.postcode_sector span { font-weight: bold; color: #222; }
.localprofile-label.school span { color: #5a2d82; }
.localprofile-label.road span { color: #555; font-size: 10px; }
.localprofile-label.map_point span { color: #555; font-size: 10px; }
"""


def _script_json(value) -> str:
    """``value`` as JSON that is safe inside a <script> element (no "<", ">" or "&" as such)."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _e5(values: np.ndarray) -> np.ndarray:
    """Degrees as whole hundred-thousandths (about a metre)."""
    return np.round(np.asarray(values, float) * 1e5).astype(np.int64)


def _ints(values: np.ndarray) -> str:
    return "[" + ",".join(np.asarray(values).astype(str)) + "]"


def orientation_json(profile: Profile) -> str | None:
    """The profile's labels and offline roads as compact JSON for the maps (None: none).

    ``kinds``: [kind, min zoom, max zoom] in priority order; labels as parallel arrays ``k``
    (index into kinds), ``n`` (index into ``names``), ``lat`` and ``lon`` (1e-5 degrees);
    ``roads``: ``len`` (vertices per line) and ``c`` (lat, lon pairs in 1e-5 degrees, each
    line's first pair absolute and the rest differences), built without a loop over points.

    >>> from localprofile.demo import demo_stages
    >>> from localprofile.context_layers import neighbourhoods
    >>> from localprofile.stages.orientation import orientation
    >>> catalog, inputs, placed = demo_stages("Leeds")
    >>> o = orientation(catalog, inputs, placed, 1000.0, neighbourhoods(placed.area))
    >>> d = json.loads(orientation_json(type("P", (), {"orientation": o})()))
    >>> d["kinds"][0], d["names"][d["n"][0]], len(d["k"]) == len(o.labels), d["roads"]
    (['postcode_district', 0, 14], 'BD10', True, None)
    """
    o = getattr(profile, "orientation", None)
    if o is None:
        return None
    labels = o.labels.to_crs(WGS84)
    kinds = list(KINDS)
    codes, names = pd.factorize(labels["name"].astype(str), sort=False)
    parts = [
        '"kinds":' + _script_json([[k, KINDS[k][1], KINDS[k][2]] for k in kinds]),
        '"k":' + _ints(pd.Categorical(labels["kind"], categories=kinds).codes),
        '"n":' + _ints(codes),
        '"names":' + _script_json(list(names)),
        '"lat":' + _ints(_e5(labels.geometry.y)),
        '"lon":' + _ints(_e5(labels.geometry.x)),
    ]
    roads = o.roads
    if roads is not None and len(roads):
        lines = shapely.get_parts(roads.to_crs(WGS84).geometry.to_numpy())
        xy, index = shapely.get_coordinates(lines, return_index=True)
        q = _e5(xy[:, ::-1])  # lat, lon
        first = np.r_[True, index[1:] != index[:-1]]
        delta = np.where(first[:, None], q, q - np.roll(q, 1, axis=0))
        parts.append('"roads":{"len":' + _ints(np.bincount(index, minlength=len(lines))) + ',"c":' + _ints(delta.ravel()) + "}")
    else:
        parts.append('"roads":null')
    return "{" + ",".join(parts) + "}"


class OrientationData(MacroElement):
    """The document's labels and roads (``window.localprofileOrientation``) and the labels'
    style, placed once in the header of the first map; every map reads them."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        <script>window.localprofileOrientation = {{ this.data }};</script>
        {% endmacro %}
    """)

    def __init__(self, data: str) -> None:
        super().__init__()
        self._name = "OrientationData"
        self.data, self.css = data, LABEL_CSS


class OrientationLayers(MacroElement):
    """Fill a map's "Roads" group with the embedded roads (one grey polyline beneath every
    layer) and its "Place names" group with the labels for the current zoom and view, the most
    important first and none where a more important one already stands (its estimated width on
    a grid of 20 x 16 px cells)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map, labels, roads) {
            var D = window.localprofileOrientation;
            if (!D) { return; }
            if (roads && D.roads) {
                if (!D.lines) {
                    D.lines = [];
                    var c = D.roads.c, n = D.roads.len, at = 0;
                    for (var r = 0; r < n.length; r++) {
                        var line = [], lat = 0, lon = 0;
                        for (var j = 0; j < n[r]; j++, at += 2) {
                            lat = j ? lat + c[at] : c[at]; lon = j ? lon + c[at + 1] : c[at + 1];
                            line.push([lat / 1e5, lon / 1e5]);
                        }
                        D.lines.push(line);
                    }
                }
                L.polyline(D.lines, {pane: 'basemap', color: '{{ this.colour }}', weight: 0.8, opacity: 0.9,
                                     interactive: false}).addTo(roads);
            }
            function draw() {
                labels.clearLayers();
                if (!map.hasLayer(labels)) { return; }
                var z = map.getZoom(), view = map.getBounds().pad(0.05), taken = {}, shown = 0;
                for (var i = 0; i < D.k.length && shown < {{ this.most }}; i++) {
                    var kind = D.kinds[D.k[i]];
                    if (z < kind[1] || z >= kind[2]) { continue; }
                    var at = [D.lat[i] / 1e5, D.lon[i] / 1e5];
                    if (!view.contains(at)) { continue; }
                    var p = map.latLngToContainerPoint(at), text = D.names[D.n[i]];
                    var half = 3.2 * text.length + 4, row = Math.floor(p.y / 16), free = true;
                    var c0 = Math.floor((p.x - half) / 20), c1 = Math.floor((p.x + half) / 20);
                    for (var c = c0; c <= c1 && free; c++) { free = !taken[row + ':' + c]; }
                    if (!free) { continue; }
                    for (c = c0; c <= c1; c++) { taken[row + ':' + c] = true; }
                    shown++;
                    var span = document.createElement('span');
                    span.textContent = text;
                    L.marker(at, {icon: L.divIcon({className: 'localprofile-label ' + kind[0], html: span,
                                                   iconSize: null}),
                                  pane: 'labels', interactive: false, keyboard: false}).addTo(labels);
                }
            }
            map.on('zoomend moveend', draw);
            map.on('overlayadd', function (e) { if (e.layer === labels) { draw(); } });
            draw();
        })({{ this._parent.get_name() }}, {{ this.labels }}, {{ this.roads }});
        {% endmacro %}
    """)

    def __init__(self, labels: str, roads: str | None) -> None:
        super().__init__()
        self._name = "OrientationLayers"
        self.labels, self.roads = labels, roads or "null"
        self.colour, self.most = ROAD, 250


class LegendSync(MacroElement):
    """Show each part of the map's legend (an element ``.legend[data-map=<map id>]`` whose parts
    carry ``data-layer="<part key>"``) only while one of its layers is on: at load, then on
    every ``overlayadd`` / ``overlayremove``. ``parts`` maps each key to the JavaScript names of
    its layers. Without JavaScript (or where the legend is not found) every part stays visible."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map, layers) {
            var box = document.querySelector('.legend[data-map="' + map.getContainer().id + '"]');
            if (!box) { return; }
            var parts = box.querySelectorAll('[data-layer]');
            function sync() {
                for (var i = 0; i < parts.length; i++) {
                    var own = layers[parts[i].getAttribute('data-layer')] || [], on = false;
                    for (var j = 0; j < own.length; j++) { if (map.hasLayer(own[j])) { on = true; } }
                    parts[i].hidden = !on;
                }
            }
            map.on('overlayadd overlayremove', sync);
            sync();
        })({{ this._parent.get_name() }}, {
            {%- for key, names in this.parts.items() %}{{ key|tojson }}: [{{ names|join(", ") }}]{{ "," if not loop.last }}{% endfor -%}
        });
        {% endmacro %}
    """)

    def __init__(self, parts: dict[str, list[str]]) -> None:
        super().__init__()
        self._name = "LegendSync"
        self.parts = parts


PLACE_NAMES, ROADS = "Place names", "Roads (offline basemap)"


def leaflet_assets() -> tuple[str, str]:
    """Leaflet's JavaScript and CSS, with the CSS's images inlined as data URIs."""
    root = resources.files("localprofile").joinpath("static/leaflet")
    js = root.joinpath("leaflet.js").read_text(encoding="utf-8")
    css = root.joinpath("leaflet.css").read_text(encoding="utf-8")
    for name in ("layers-2x.png", "layers.png"):
        uri = "data:image/png;base64," + base64.b64encode(root.joinpath(name).read_bytes()).decode()
        css = css.replace(f"url(images/{name})", f"url({uri})")
    # The marker icon is never used (no markers are drawn); drop its relative URL.
    css = css.replace("url(images/marker-icon.png)", "none")
    return js, css


@dataclass
class RenderedMap:
    """One map, split into the parts the report template places in head, body and script."""

    header: Markup
    body: Markup
    script: Markup
    legend: dict
    name: str = ""  # the map's element id (its legend names it in ``data-map``)


def _same_geometries(fn):
    """Remember ``fn(geoms, *args)`` for the last few arrays of the same geometry objects (the
    LSOAs and the district are drawn on every map). shapely geometries are immutable; each entry
    holds its array, so no object's id is reused while its entry is kept."""
    cache: collections.OrderedDict = collections.OrderedDict()

    @functools.wraps(fn)
    def wrapper(geoms, *args):
        geoms = np.asarray(geoms, dtype=object)
        key = (geoms.tobytes(), *args)
        if key in cache:
            cache.move_to_end(key)
            return cache[key][1]
        out = fn(geoms, *args)
        cache[key] = (geoms, out)
        while len(cache) > 32:
            cache.popitem(last=False)
        return out

    return wrapper


@_same_geometries
def _wgs84_snapped(geoms: np.ndarray, crs: str) -> np.ndarray:
    """``geoms`` (in ``crs``) in WGS84, snapped to :data:`PRECISION`."""
    out = gpd.GeoSeries(geoms, crs=crs).to_crs(WGS84).to_numpy()
    return shapely.set_precision(out, PRECISION)


def _geojson_ready(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` in WGS84 with its geometry snapped to :data:`PRECISION`, its columns in their
    order (the geometry projected and snapped once, not by ``to_crs`` first)."""
    name = gdf.geometry.name
    snapped = gpd.GeoSeries(_wgs84_snapped(gdf.geometry.to_numpy(), gdf.crs.to_string()),
                            index=gdf.index, crs=WGS84, name=name)
    out = pd.DataFrame({c: snapped if c == name else gdf[c] for c in gdf.columns}, index=gdf.index)
    return gpd.GeoDataFrame(out, geometry=name, crs=WGS84)


def _split(items: list, offsets: np.ndarray) -> list[list]:
    """``items`` cut at ``offsets`` (n + 1 of them): the n lists between (rings, parts)."""
    o = offsets.tolist()
    return [items[a:b] for a, b in zip(o[:-1], o[1:])]


_GEOJSON_TYPES = {0: "Point", 1: "LineString", 3: "Polygon", 4: "MultiPoint", 5: "MultiLineString",
                  6: "MultiPolygon"}  # shapely's type ids


@_same_geometries
def geometry_dicts(geoms: np.ndarray) -> list[dict | None]:
    """The GeoJSON geometry of each of ``geoms`` as JSON would give it back (lists, no tuples):
    the same as ``json.loads(json.dumps(shapely.geometry.mapping(g)))``, None for a missing or
    empty geometry (as geopandas writes them).

    Coordinates come out of shapely in one array per geometry type (``to_ragged_array``); the
    Python loops below run over geometries and rings, never over points, and build the lists
    JSON needs (folium takes a dict).

    >>> geometry_dicts(np.array([shapely.Point(1, 2), None, shapely.box(0, 0, 1, 1)]))[:2]
    [{'type': 'Point', 'coordinates': [1.0, 2.0]}, None]
    """
    geoms = np.asarray(geoms, dtype=object)
    out: list[dict | None] = [None] * len(geoms)
    kinds = shapely.get_type_id(geoms)
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    for kind in np.unique(kinds[present]):
        at = np.flatnonzero(present & (kinds == kind))
        part = geoms[at]
        name = _GEOJSON_TYPES.get(int(kind))
        if name is None or shapely.has_z(part).any():  # rings, collections, 3D: the reference route
            rows = [json.loads(json.dumps(shapely.geometry.mapping(g))) for g in part]
        else:
            _, coords, offsets = shapely.to_ragged_array(part)
            nested = coords.tolist()
            for off in offsets:  # innermost level first: points -> rings -> polygons -> ...
                nested = _split(nested, off)
            rows = [{"type": name, "coordinates": c} for c in nested]
        for i, row in zip(at.tolist(), rows):
            out[i] = row
    return out


def feature_collection(gdf: gpd.GeoDataFrame) -> dict:
    """``gdf`` as a GeoJSON FeatureCollection dict, equal to what folium makes of a
    GeoDataFrame (``json.loads(json.dumps(gdf.__geo_interface__))``: an ``id`` per feature from
    the index, properties in column order with missing values as None), built column by column
    instead of row by row; each feature's ``bbox`` and the collection's too, as geopandas gives
    them."""
    geom_col = gdf.geometry.name
    cols = [c for c in gdf.columns if c != geom_col]
    values = []
    for c in cols:
        col = gdf[c]
        v = np.array(col.astype(object), dtype=object)
        v[pd.isna(col).to_numpy()] = None
        values.append(json.loads(json.dumps(v.tolist())))  # Python scalars as JSON gives them back
    ids = [str(i) for i in np.asarray(gdf.index).tolist()]
    geoms = gdf.geometry.to_numpy()
    geometry = geometry_dicts(geoms)
    bounds = shapely.bounds(geoms).tolist()
    rows = zip(*values) if cols else itertools.repeat((), len(ids))
    features = [
        {"id": i, "type": "Feature", "properties": dict(zip(cols, row)), "geometry": g,
         "bbox": None if g is None else b}
        for i, row, g, b in zip(ids, rows, geometry, bounds)
    ]
    return {"type": "FeatureCollection", "features": features, "bbox": gdf.total_bounds.tolist()}


_WGS84_CRS = pyproj.CRS(WGS84)


class GeoJson(folium.GeoJson):
    """folium's GeoJson, given a GeoDataFrame as a dict built by :func:`feature_collection`
    (folium's own route goes feature by feature through ``__geo_interface__`` and a JSON round
    trip; the dict is the same)."""

    def process_data(self, data):
        if isinstance(data, gpd.GeoDataFrame):
            self.embed = True
            same = data.crs is not None and data.crs.is_exact_same(_WGS84_CRS)
            return feature_collection(data if same else data.to_crs(WGS84))  # to_crs: a copy when same
        return super().process_data(data)


def rate_classes(values: np.ndarray, crimes: np.ndarray | None = None,
                 min_top: int = MIN_TOP_CRIMES) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """Choropleth classes for LSOA rates: "0" on its own (many LSOAs have no crime of a rarer
    theme), then up to 4 quantile classes of the positive rates; grey where there is no
    population figure. With ``crimes`` (per LSOA), an LSOA with fewer than ``min_top`` crimes is
    never in the top class, however small its population: it is capped one class below (the
    rule and its reason are the profile's "map rate classes" choice). Returns each value's fill
    colour and the legend (label, colour) rows.

    >>> fills, legend = rate_classes(np.array([0, 0, 1.0, 2.0, 3.0, 4.0, np.nan]))
    >>> [label for label, _ in legend]
    ['0', '1 to 1.75', '1.75 to 2.5', '2.5 to 3.25', '3.25 to 4', 'no population figure']
    >>> fills[0] == CHOROPLETH[0], fills[-1] == NO_DATA
    (True, True)
    >>> capped, _ = rate_classes(np.array([1.0, 2.0, 3.0, 4.0, 9.0]), crimes=np.array([9, 9, 9, 9, 1]))
    >>> capped[-1] == CHOROPLETH[-2]   # the highest rate, but on one crime
    True
    """
    values = np.asarray(values, float)
    fills = np.full(values.shape, NO_DATA, dtype=object)
    legend: list[tuple[str, str]] = []
    finite = np.isfinite(values)
    zero = finite & (values == 0)
    if zero.any():
        fills[zero] = CHOROPLETH[0]
        legend.append(("0", CHOROPLETH[0]))
    pos = finite & (values > 0)
    if pos.any():
        breaks = np.unique(np.round(np.quantile(values[pos], np.linspace(0, 1, len(CHOROPLETH))), 2))
        if len(breaks) == 1:
            breaks = np.array([breaks[0], breaks[0]])
        n = len(breaks) - 1
        colours = CHOROPLETH[-n:]  # n <= 4: the darker colours; the lightest is kept for "0"
        idx = np.clip(np.searchsorted(breaks, values[pos], side="right") - 1, 0, n - 1)
        if crimes is not None and n > 1:
            few = np.asarray(crimes, float)[pos] < min_top
            idx = np.where(few, np.minimum(idx, n - 2), idx)
        fills[pos] = np.array(colours)[idx]
        for i in range(n):
            top = f" ({min_top}+ crimes)" if crimes is not None and n > 1 and i == n - 1 else ""
            legend.append((f"{breaks[i]:g} to {breaks[i + 1]:g}{top}", colours[i]))
    if (~finite).any():
        legend.append(("no population figure", NO_DATA))
    return fills, legend


@functools.lru_cache(maxsize=16)
def _mercator_transform(nx: int, ny: int, left: float, bottom: float, right: float, top: float):
    """rasterio's Web-Mercator transform and size for a BNG grid (the same for every surface of
    a grid, and its search of the edges is slow: computed once per grid)."""
    return calculate_default_transform(CRS.from_user_input(BNG), CRS.from_epsg(3857), nx, ny,
                                       left=left, bottom=bottom, right=right, top=top)


def _surface_png(profile: Profile, surface: np.ndarray, diverging: bool = False) -> tuple[str, list[list[float]], float]:
    """A grid surface inside the district as a Web-Mercator PNG data URI, its lat/lon bounds and
    the maximum value shown (``diverging``: the largest absolute value, negative values blue and
    positive red, 0 white, for log ratios and differences)."""
    grid = profile.grid
    dens = np.where(grid.in_area, surface, np.nan).astype("float32")
    src_crs, dst_crs = CRS.from_user_input(BNG), CRS.from_epsg(3857)
    transform, width, height = _mercator_transform(grid.nx, grid.ny, *map(float, grid.bounds))
    # Upsample so each source cell spans a few pixels and the nearest-neighbour edges stay crisp.
    scale = 4
    transform = transform @ transform.scale(1 / scale)
    width, height = width * scale, height * scale
    out = np.full((height, width), np.nan, dtype="float32")
    reproject(
        dens, out, src_transform=grid.transform, src_crs=src_crs, dst_transform=transform,
        dst_crs=dst_crs, resampling=Resampling.nearest, src_nodata=np.nan, dst_nodata=np.nan,
    )
    rgba = np.zeros((height, width, 4), dtype=np.uint8)
    if diverging:
        vmax = float(np.nanmax(np.abs(dens))) if np.isfinite(dens).any() else 0.0
        shown = np.isfinite(out)
        if vmax > 0:
            t = np.clip(out[shown] / vmax, -1, 1)
            end = np.where(t[:, None] < 0, _DIVERGING_LOW, _DIVERGING_HIGH)
            a = np.abs(t)[:, None]
            rgba[shown, :3] = (_DIVERGING_MID * (1 - a) + end * a).astype(np.uint8)
            rgba[shown, 3] = (60 + 180 * np.abs(t)).astype(np.uint8)
    else:
        vmax = float(np.nanmax(dens)) if np.isfinite(dens).any() else 0.0
        shown = np.isfinite(out) & (out > 0)
    if vmax > 0 and not diverging:
        t = np.clip(out[shown] / vmax, 0, 1) * (len(_KDE_STOPS) - 1)
        lo = np.floor(t).astype(int).clip(0, len(_KDE_STOPS) - 2)
        frac = (t - lo)[:, None]
        rgba[shown, :3] = (_KDE_STOPS[lo] * (1 - frac) + _KDE_STOPS[lo + 1] * frac).astype(np.uint8)
        rgba[shown, 3] = (90 + 150 * np.clip(out[shown] / vmax, 0, 1)).astype(np.uint8)
    from folium.utilities import image_to_url

    url = image_to_url(rgba, origin="upper")
    # Corners of the Mercator image, back to lat/lon for Leaflet.
    west, north = mercator_to_lonlat(transform.c, transform.f)
    east, south = mercator_to_lonlat(transform.c + transform.a * width, transform.f + transform.e * height)
    return url, [[south, west], [north, east]], vmax


def _base_map(profile: Profile, embed: bool = False) -> tuple[OfflineMap, gpd.GeoDataFrame]:
    """An offline map fitted to the district, with the panes, the basemap (tiles if configured,
    the offline roads if the profile has them) and the place names; the district boundary
    (WGS84) comes back to be drawn last. ``embed``: this map's header carries the document's
    labels and roads (:class:`OrientationData`), once per document."""
    s = profile.settings
    district = gpd.GeoDataFrame(
        {"name": [html.escape(profile.district.name)]},
        geometry=[profile.district.polygon],
        crs=profile.lsoa.crs,
    )
    district = _geojson_ready(district)
    minx, miny, maxx, maxy = district.total_bounds
    m = OfflineMap(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        tiles=None,
        zoom_start=11,
        control_scale=True,
        width="100%",
        height="100%",
        zoom_snap=0.25,
    )
    # Panes stack the layers: roads < LSOA fill (overlay pane, 400) < KDE < Gi* cells < boundary
    # < place names.
    for name, z, events in (("basemap", 350, False), ("kde", 410, False), ("gistar", 420, True),
                            ("boundary", 430, False), ("labels", 440, False)):
        folium.map.CustomPane(name, z_index=z, pointer_events=events).add_to(m)
    if s.basemap_tiles:
        folium.TileLayer(
            # Leaflet shows the attribution as HTML: escape the catalog's text.
            s.basemap_tiles, attr=html.escape(s.basemap_attribution or "basemap"), name="Basemap"
        ).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    MapManners([[miny, minx], [maxy, maxx]]).add_to(m)
    o = getattr(profile, "orientation", None)
    if o is not None:
        if embed:
            data = orientation_json(profile)
            OrientationData(data).add_to(m)
        roads = None
        if o.roads is not None and len(o.roads):
            roads = folium.FeatureGroup(name=ROADS, show=True)
            roads.add_to(m)
        labels = folium.FeatureGroup(name=PLACE_NAMES, show=True)
        labels.add_to(m)
        OrientationLayers(labels.get_name(), roads.get_name() if roads else None).add_to(m)
    return m, district


def _finish(m: OfflineMap, district: gpd.GeoDataFrame, legend: dict) -> RenderedMap:
    """Draw the district boundary and the layer control; render to HTML parts."""
    GeoJson(
        district,
        name="District boundary",
        pane="boundary",
        style_function=lambda f: {"fill": False, "color": "#222", "weight": 2.5},
        interactive=False,
    ).add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)  # opened on hover or tap: the map stays visible
    # each legend part's layers, found by their names in the layer control
    named = {}
    for child in m._children.values():
        if getattr(child, "layer_name", None):
            named.setdefault(child.layer_name, []).append(child.get_name())
    parts = {key: [v for n in names.split("|") for v in named.get(n, [])]
             for key, names in legend.get("layer", {}).items() if names}
    LegendSync(parts).add_to(m)
    root = m.get_root()
    root.render()
    # Generated by folium from escaped data: inserted into the report as markup.
    return RenderedMap(
        Markup(root.header.render()), Markup(root.html.render()), Markup(root.script.render()), legend,
        m.get_name(),
    )


def _cell_places(places: pd.DataFrame | None, cells: np.ndarray) -> list[str]:
    """Each of ``cells``' (flat indices) top map points as "On or near Briggate (23); ...",
    escaped; "" for a cell without a named point."""
    if places is None or not len(places):
        return [""] * len(cells)
    text = pd.Series(_escaped(places["location"]), index=places.index) + " (" + places["crimes"].astype(str) + ")"
    return text.groupby(places["cell"].to_numpy(), sort=False).agg("; ".join).reindex(cells).fillna("").tolist()


def _hot_cold_layer(cells: gpd.GeoDataFrame, name: str, aliases: list[str], style: dict,
                    show: bool = True) -> GeoJson:
    """Gi* hot and cold cells (``hotspot`` first, then the tooltip's columns), filled red or
    blue; outlined dark red or dark blue unless ``style`` gives an outline colour."""

    def style_function(f):
        hot = f["properties"]["hotspot"] == "hot"
        return {"fillColor": HOT if hot else COLD, "color": HOT_EDGE if hot else COLD_EDGE, **style}

    return GeoJson(
        _geojson_ready(cells), name=name, pane="gistar", style_function=style_function,
        tooltip=GeoJsonTooltip(fields=[c for c in cells.columns if c != "geometry"], aliases=aliases),
        show=show,
    )


@_numbered_ids(lambda profile, slug: f"theme {slug}")
def theme_map(profile: Profile, slug: str) -> RenderedMap:
    """The folium map of one theme, rendered to HTML parts."""
    result = profile.themes[slug]
    m, district = _base_map(profile, embed=slug == next(iter(profile.themes)))

    # LSOA rate choropleth
    rate = profile.lsoa[f"rate_{slug}"].to_numpy(dtype=float)
    fills, rate_legend = rate_classes(rate, profile.lsoa[f"count_{slug}"].to_numpy(dtype=float))
    lsoa = profile.lsoa[["lsoa_code", "lsoa_name", "geometry"]].copy()
    lsoa["lsoa_name"] = lsoa["lsoa_name"].fillna("").map(html.escape)
    lsoa["lsoa_code"] = lsoa["lsoa_code"].map(html.escape)
    lsoa["crimes"] = profile.lsoa[f"count_{slug}"].astype(int)
    lsoa["rate"] = np.round(rate, 2)
    lsoa["imd_decile"] = profile.lsoa["imd_decile"].astype("Int64").astype(str).replace("<NA>", "")
    lsoa["fill"] = fills
    lsoa = _geojson_ready(lsoa[lsoa.geometry.notna()])  # LSOAs without a boundary are not drawn
    GeoJson(
        lsoa,
        name="LSOA rate per 1,000 residents",
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"], "fillOpacity": 0.65, "color": "#555",
            "weight": 0.6,
        },
        highlight_function=lambda f: {"weight": 2, "color": "#000"},
        tooltip=GeoJsonTooltip(
            fields=["lsoa_name", "lsoa_code", "crimes", "rate", "imd_decile"],
            aliases=["LSOA", "code", "crimes", "per 1,000 residents", "IMD decile"],
        ),
    ).add_to(m)

    # LISA clusters of LSOA rates
    if result.lisa is not None:
        lab = pd.Series(result.lisa, dtype=object)
        sig = (lab.notna() & (lab != "not significant")).to_numpy() & profile.lsoa.geometry.notna().to_numpy()
        if sig.any():
            gdf = _geojson_ready(gpd.GeoDataFrame(
                {"lisa": lab[sig].astype(str).to_numpy(),
                 "lsoa": _escaped(profile.lsoa.loc[sig, "lsoa_name"].reset_index(drop=True))},
                geometry=profile.lsoa.geometry[sig].to_numpy(), crs=profile.lsoa.crs))
            GeoJson(
                gdf,
                name="LISA clusters of LSOA rates",
                style_function=lambda f: {"fillColor": LISA_COLOURS.get(f["properties"]["lisa"], NO_DATA),
                                          "fillOpacity": 0.7, "color": "#333", "weight": 1},
                tooltip=GeoJsonTooltip(fields=["lsoa", "lisa"], aliases=["LSOA", "LISA"]),
                show=False,
            ).add_to(m)

    # Emerging hot and cold spots (when enough months were loaded): the in-area cells with a pattern
    emerging_legend = {}
    if result.shown_emerging[0] is not None:
        g = profile.hexgrid if result.hex is not None else profile.grid
        labels = np.full(g.shape, None, dtype=object)
        labels[g.in_area] = result.shown_emerging[0]
        sig = np.isin(labels, list(EMERGING_COLOURS))
        if sig.any():
            present = [k for k in EMERGING_COLOURS if (labels[sig] == k).any()]
            emerging_legend = {k: EMERGING_COLOURS[k] for k in present}
            cells = gpd.GeoDataFrame({"pattern": labels[sig].astype(str)}, geometry=g.cells(sig), crs=BNG)
            GeoJson(
                _geojson_ready(cells),
                name="Emerging hot and cold spots",
                pane="gistar",
                style_function=lambda f: {"fillColor": EMERGING_COLOURS[f["properties"]["pattern"]],
                                          "color": "#555", "weight": 0.3, "fillOpacity": 0.7},
                tooltip=GeoJsonTooltip(fields=["pattern"], aliases=["pattern"]),
                show=False,
            ).add_to(m)

    # KDE surface
    url, bounds, vmax = _surface_png(profile, result.kde)
    folium.raster_layers.ImageOverlay(
        url, bounds=bounds, name="KDE surface (crimes per km²)", show=False, interactive=False,
        pane="kde",
    ).add_to(m)
    rate_max = None
    if result.rate_surface is not None:
        url, bounds, rate_max = _surface_png(profile, result.rate_surface)
        folium.raster_layers.ImageOverlay(
            url, bounds=bounds, name="Rate surface (crimes per 1,000 residents)", show=False,
            interactive=False, pane="kde",
        ).add_to(m)

    # Harm-weighted surfaces, when harm weights are configured
    harm_max = None
    if result.harm is not None:
        url, bounds, harm_max = _surface_png(profile, result.harm.kde)
        folium.raster_layers.ImageOverlay(
            url, bounds=bounds, name="Harm-weighted KDE (harm per km²)", show=False,
            interactive=False, pane="kde",
        ).add_to(m)
        on_hex = result.hex is not None and result.hex.harm is not None
        hg, hh, hv, hz = ((profile.hexgrid, result.hex.harm_hotspot, result.hex.harm, result.hex.harm_gi_z)
                          if on_hex else
                          (profile.grid, result.harm.hotspot, result.harm.grid, result.harm.gi_z))
        hsig = hh != "none"
        if hsig.any():
            cells = gpd.GeoDataFrame(
                {"hotspot": hh[hsig].astype(str), "harm": np.round(hv[hsig], 2),
                 "gi_z": np.round(hz[hsig], 2)},
                geometry=hg.cells(hsig), crs=BNG)
            _hot_cold_layer(cells, "Harm-weighted Gi* hot and cold cells", ["harm Gi*", "harm in cell", "z"],
                            {"color": "#000", "weight": 1, "fillOpacity": 0.45, "dashArray": "3"},
                            show=False).add_to(m)

    # Dual KDE surfaces with this theme as the numerator
    duals = []
    for d in profile.duals:
        if d.numerator != slug:
            continue
        url, bounds, dmax = _surface_png(profile, d.surface, diverging=d.kind != "ratio")
        label = f"{d.numerator} {d.kind.replace('_', ' ')} {d.denominator}"
        folium.raster_layers.ImageOverlay(
            url, bounds=bounds, name=f"Dual KDE: {label}", show=False, interactive=False, pane="kde",
        ).add_to(m)
        duals.append({"label": label, "max": dmax, "diverging": d.kind != "ratio"})

    # Repeat locations: the largest clusters (all of them are in the GeoPackage)
    reps = result.repeats
    repeat_layer = ""
    if reps is not None and len(reps):
        top = reps.head(MAP_REPEATS)
        repeat_layer = f"Repeat locations (largest {len(top)} of {len(reps)})"
        gdf = _geojson_ready(gpd.GeoDataFrame(
            {"crimes": top["crimes"].astype(int), "points": top["points"].astype(int),
             "where": _escaped(top["location_1"])},
            geometry=top.geometry.to_numpy(), crs=reps.crs))
        GeoJson(
            gdf,
            name=repeat_layer,
            pane="gistar",
            style_function=lambda f: {"color": REPEAT, "weight": 2, "fillColor": REPEAT, "fillOpacity": 0.25},
            tooltip=GeoJsonTooltip(fields=["crimes", "points", "where"],
                                   aliases=["crimes", "map points", "top location"]),
            show=False,
        ).add_to(m)

    # Gi* hot and cold cells (hexagons when the profile uses them)
    g, gi = (profile.hexgrid, result.hex) if result.hex is not None else (profile.grid, result)
    sig = gi.hotspot != "none"  # only cells inside the district are ever classed
    if sig.any():
        cells = gpd.GeoDataFrame(
            {
                "hotspot": gi.hotspot[sig].astype(str),
                "crimes": gi.count[sig].astype(int),
                "gi_z": np.round(gi.gi_z[sig], 2),
                "gi_q": [f"{v:.2g}" for v in gi.gi_q[sig]],
                "where": _cell_places(result.cell_locations, np.flatnonzero(sig.ravel())),
            },
            geometry=g.cells(sig),
            crs=BNG,
        )
        _hot_cold_layer(cells, "Gi* hot and cold cells", ["Gi*", "crimes in cell", "z", "q", "busiest map points"],
                        {"weight": 0.8, "fillOpacity": 0.6}).add_to(m)

    legend = {
        "rates": rate_legend,
        "kde_max": vmax,
        "rate_max": rate_max,
        "kde_colours": ["#{:02x}{:02x}{:02x}".format(*row.astype(int)) for row in _KDE_STOPS],
        "hot": HOT,
        "cold": COLD,
        "repeat": REPEAT,
        "lisa": LISA_COLOURS,
        "emerging": emerging_legend,
        "harm_max": harm_max,
        "duals": duals,
        "min_top": MIN_TOP_CRIMES,
        "road": ROAD,
        # the layers (control names, "|" between two) behind each legend part, by the part's key
        # (the template's data-layer): a part shows only while one of them is on
        "layer": {
            "rates": "LSOA rate per 1,000 residents",
            "kde": "KDE surface (crimes per km²)",
            "rate_surface": "Rate surface (crimes per 1,000 residents)",
            "harm": "Harm-weighted KDE (harm per km²)|Harm-weighted Gi* hot and cold cells",
            "gistar": "Gi* hot and cold cells",
            "emerging": "Emerging hot and cold spots",
            "repeats": repeat_layer,
            "lisa": "LISA clusters of LSOA rates",
            **{f"dual_{i}": f"Dual KDE: {d['label']}" for i, d in enumerate(duals)},
            "roads": ROADS if profile.orientation is not None and profile.orientation.roads is not None
            and len(profile.orientation.roads) else "",
        },
    }
    return _finish(m, district, legend)


# One colour per context layer, in catalog order (ColorBrewer Dark2).
LAYER_COLOURS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666"]
_NO_COUNT = "#f0f0f0"


def _escaped(values: pd.Series) -> list[str]:
    return [html.escape(str(v)) if pd.notna(v) else "" for v in values]


# 3 x 3 bivariate palette (Joshua Stevens' blue-red scheme): threat low/medium/high across,
# vulnerability low/medium/high up; "high threat, high vulnerability" the darkest.
BIVARIATE = {
    ("low", "low"): "#e8e8e8", ("medium", "low"): "#e4acac", ("high", "low"): "#c85a5a",
    ("low", "medium"): "#b0d5df", ("medium", "medium"): "#ad9ea5", ("high", "medium"): "#985356",
    ("low", "high"): "#64acbe", ("medium", "high"): "#627f8c", ("high", "high"): "#574249",
}


@_numbered_ids(lambda profile: "priority")
def priority_map(profile: Profile) -> RenderedMap | None:
    """The priority neighbourhoods, filled by their bivariate class (threat x vulnerability), the
    top ones outlined. None when the profile has no overlay."""
    o = profile.overlay
    if o is None or not len(o.table):
        return None
    m, district = _base_map(profile)
    t = o.table[o.table.geometry.notna()]
    gdf = _geojson_ready(gpd.GeoDataFrame(
        {"name": _escaped(t["name"]), "rank": t["rank"].astype(int), "class": t["bivariate"].astype(str),
         "why": _escaped(t["why"]), "lisa": t["threat_vulnerability_lisa"].astype(str),
         "fill": [BIVARIATE.get((a, b), _NO_COUNT) for a, b in zip(t["threat_class"], t["vulnerability_class"])],
         "top": (t["rank"] <= o.top).to_numpy()},
        geometry=t.geometry.to_numpy(), crs=BNG))
    GeoJson(
        gdf,
        name=f"Priority neighbourhoods ({o.unit}): threat x vulnerability",
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"], "fillOpacity": 0.8,
            "color": "#000" if f["properties"]["top"] else "#777",
            "weight": 2.5 if f["properties"]["top"] else 0.5,
        },
        highlight_function=lambda f: {"weight": 3, "color": "#000"},
        tooltip=GeoJsonTooltip(fields=["rank", "name", "class", "lisa", "why"],
                               aliases=["rank", o.unit, "class", "threat beside vulnerability (LISA)", "why"]),
    ).add_to(m)
    legend = {"cells": [[BIVARIATE[(t_, v_)] for t_ in ("low", "medium", "high")]
                        for v_ in ("high", "medium", "low")], "top": o.top}
    return _finish(m, district, legend)


@_numbered_ids(lambda profile: "context")
def context_map(profile: Profile) -> RenderedMap | None:
    """One map of every context layer: points where the audience may see them, neighbourhood
    counts (small ones suppressed) where it may not. None when there are no context layers."""
    if not profile.context:
        return None
    m, district = _base_map(profile)
    hoods = profile.neighbourhoods
    hood_gdf = _geojson_ready(
        gpd.GeoDataFrame({"name": _escaped(pd.Series(hoods.names))}, geometry=list(hoods.geometry), crs=BNG)
    )
    GeoJson(
        hood_gdf,
        name="Neighbourhoods (MSOA)",
        style_function=lambda f: {"fill": False, "color": "#777", "weight": 1, "dashArray": "4"},
        tooltip=GeoJsonTooltip(fields=["name"], aliases=["neighbourhood"]),
    ).add_to(m)
    legend = []
    for i, layer in enumerate(profile.context.values()):
        colour = LAYER_COLOURS[i % len(LAYER_COLOURS)]
        title = layer.label + (" (SYNTHETIC)" if layer.synthetic else "")
        legend.append({"label": title, "colour": colour, "detail": layer.detail})
        if layer.points is not None:
            if layer.points.empty:
                continue  # nothing in the district to draw (the table says 0)
            pts = layer.points
            gdf = _geojson_ready(
                gpd.GeoDataFrame(
                    {"id": _escaped(pts["id"]), "name": _escaped(pts["name"]),
                     "category": _escaped(pts["category"])},
                    geometry=pts.geometry.to_numpy(), crs=pts.crs,
                )
            )
            GeoJson(
                gdf,
                name=html.escape(title),
                marker=folium.CircleMarker(radius=5, weight=1, color="#222", fill=True,
                                           fill_color=colour, fill_opacity=0.85),
                tooltip=GeoJsonTooltip(fields=["name", "id", "category"], aliases=[title, "id", "category"]),
                show=i < 2,
            ).add_to(m)
        else:
            counts = [str(c) for c in layer.neighbourhood_counts]
            gdf = hood_gdf.assign(count=counts)
            shown = {c for c in counts if c.isdigit() and c != "0"}
            top = max((int(c) for c in shown), default=1)
            GeoJson(
                gdf,
                name=html.escape(f"{title}: neighbourhood counts"),
                style_function=lambda f, colour=colour, top=top: {
                    "fillColor": colour if f["properties"]["count"].isdigit() and f["properties"]["count"] != "0" else _NO_COUNT,
                    "fillOpacity": (0.15 + 0.7 * int(f["properties"]["count"]) / top) if f["properties"]["count"].isdigit() else 0.35,
                    "color": "#555", "weight": 0.8,
                },
                tooltip=GeoJsonTooltip(fields=["name", "count"], aliases=["neighbourhood", title]),
                show=False,
            ).add_to(m)
    return _finish(m, district, {"layers": legend})
