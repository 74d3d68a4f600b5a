"""Stage 7b, orientation: what lets a reader find their way on a map with no tiles.

Place names from the loaded open data, each at a position computed here (the maps only draw
them, by zoom level): postcode districts ("LS6") and sectors ("LS6 1") at the mean position of
their live unit postcodes inside the district (the catalog's postcode layers, Code-Point Open
and the ONS postcode directory, as the geocoder combines them); MSOA and LSOA names at a point
inside each polygon; schools by name; police.uk map points ("On or near ...") with their crimes;
and, when the catalog has a ``roads`` layer, road names at the middle of each road's longest
link. The roads themselves are clipped to the district and the grid's buffer and simplified for
the offline basemap.

Only open layers give labels or roads: no restricted point ever becomes a label, whatever the
audience.

>>> from localprofile.demo import demo_stages
>>> from localprofile.context_layers import neighbourhoods
>>> catalog, inputs, placed = demo_stages("Leeds")
>>> o = orientation(catalog, inputs, placed, 1000.0, neighbourhoods(placed.area))
>>> o.labels[o.labels["kind"] == "postcode_district"]["name"].head(3).tolist()
['BD10', 'BD11', 'BD3']
>>> sorted(o.labels["kind"].unique())
['lsoa', 'map_point', 'msoa', 'postcode_district', 'postcode_sector', 'school']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..catalog import Catalog
from ..context_layers import Neighbourhoods
from ..engine.choices import Choice
from ..geo import BNG
from ..geocode import Geocoder
from .inputs import Inputs
from .place import PlacedCrimes

# Label kinds, most important first (the maps keep the first label where two would overlap),
# with the zoom levels they are drawn at: [min, max). The district fits at about zoom 10-11.
KINDS: dict[str, tuple[str, float, float]] = {
    "postcode_district": ("postcode districts", 0, 14),
    "msoa": ("MSOAs", 10.5, 14),
    "postcode_sector": ("postcode sectors", 12, 16),
    "lsoa": ("LSOAs", 13, 16),
    "school": ("schools", 14, 99),
    "road": ("roads", 15, 99),
    "map_point": ("police.uk map points", 15.5, 99),
}
# The top class of a choropleth of LSOA rates is open only to LSOAs with at least this many
# crimes: see RATE_CLASS_CHOICE.
MIN_TOP_CRIMES = 5
ROAD_TOLERANCE_M = 5.0  # simplification of the basemap's roads (well under a pixel at street zoom)
MAX_ROAD_VERTICES = 60_000  # the basemap's budget in the HTML (about 0.5 MB once encoded)
# OS Open Roads' classes, most important first (the basemap keeps these first within its budget)
ROAD_CLASSES = ["Motorway", "A Road", "B Road", "Classified Unnumbered", "Not Classified",
                "Unclassified", "Unknown"]

RATE_CLASS_CHOICE = Choice(
    "map rate classes",
    f"0 alone, then quantile classes of the positive LSOA rates; the top class only for LSOAs "
    f"with at least {MIN_TOP_CRIMES} crimes (others capped one class below)",
    "a rate on one or two crimes over a small population is noise, not a priority: one crime "
    f"more or less moves a rate on fewer than {MIN_TOP_CRIMES} crimes by more than 20%, so such "
    "an LSOA must not stand out in the darkest class on every map",
)


@dataclass
class Orientation:
    """Map labels and the offline basemap of a district (all EPSG:27700).

    ``labels``: ``kind`` (a key of :data:`KINDS`), ``name``, ``rank`` (order within a kind:
    busiest map point, longest road first), ``geometry`` (Point); sorted by kind then rank.
    ``roads``: ``name``, ``road_class``, ``geometry`` (lines clipped and simplified), or None.
    """

    labels: gpd.GeoDataFrame
    roads: gpd.GeoDataFrame | None
    sources: dict[str, list[str]]  # label kind -> the layers it came from
    choices: list[Choice] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        """Labels per kind, in :data:`KINDS` order."""
        n = self.labels["kind"].value_counts()
        return {k: int(n.get(k, 0)) for k in KINDS if n.get(k, 0)}


def _frame(kind: str, names, x, y, rank=None) -> pd.DataFrame:
    names = pd.Series(np.asarray(names, dtype=object)).astype("string").str.strip()
    return pd.DataFrame({"kind": kind, "name": names.to_numpy(),
                         "rank": np.arange(len(names)) if rank is None else np.asarray(rank),
                         "x": np.asarray(x, float), "y": np.asarray(y, float)})


def _inside(polygon, x, y) -> np.ndarray:
    shapely.prepare(polygon)
    ok = np.isfinite(x) & np.isfinite(y)
    return ok & shapely.contains_xy(polygon, np.nan_to_num(x), np.nan_to_num(y))


def postcode_labels(frames: list[pd.DataFrame], polygon) -> list[pd.DataFrame]:
    """Postcode districts and sectors at the mean easting/northing of their live unit
    postcodes inside ``polygon`` (``frames``: the postcode layers, combined as the geocoder does)."""
    if not frames:
        return []
    t = Geocoder.combine(frames).table
    t = t[~t["terminated"].to_numpy(dtype=bool)]
    x, y = t["easting"].to_numpy(float), t["northing"].to_numpy(float)
    inside = _inside(polygon, x, y)
    units = pd.DataFrame({"postcode": t.index[inside].astype(str), "x": x[inside], "y": y[inside]})
    # normalised postcodes ("LS1 1UR": the outward code, a space, the 3-character inward code):
    # the district is all but the last 4 characters, the sector all but the last 2 (Arrow
    # string slices, no loop over postcodes)
    code = units["postcode"].astype("string")
    out = []
    for kind, key in (("postcode_district", code.str.slice(0, -4)), ("postcode_sector", code.str.slice(0, -2))):
        g = units.groupby(key.to_numpy())[["x", "y"]].mean().sort_index()
        out.append(_frame(kind, g.index, g["x"], g["y"]))
    return out


def _polygon_labels(kind: str, names: pd.Series, geoms) -> pd.DataFrame:
    geoms = np.asarray(geoms, dtype=object)
    drawn = ~pd.isna(geoms) & names.notna().to_numpy()
    pts = shapely.point_on_surface(geoms[drawn].astype(object))
    order = np.argsort(names[drawn].astype(str).to_numpy(), kind="stable")
    return _frame(kind, names[drawn].to_numpy()[order], shapely.get_x(pts)[order], shapely.get_y(pts)[order])


def map_point_labels(placed: PlacedCrimes) -> pd.DataFrame:
    """police.uk map points inside the district with a name, busiest first (ties by name)."""
    sel = placed.in_polygon & placed.in_district & placed.crimes["location"].notna().to_numpy()
    pts = pd.DataFrame({"name": placed.crimes.loc[sel, "location"].astype(str).to_numpy(),
                        "x": placed.x[sel], "y": placed.y[sel]})
    g = pts.value_counts().rename("crimes").reset_index()
    g = g.sort_values(["crimes", "name", "x", "y"], ascending=[False, True, True, True], ignore_index=True)
    return _frame("map_point", g["name"], g["x"], g["y"])


def basemap_roads(frames: list[gpd.GeoDataFrame], clip_to) -> tuple[gpd.GeoDataFrame | None, dict]:
    """Roads clipped to ``clip_to``, simplified, the most important kept within the vertex budget."""
    if not frames:
        return None, {}
    roads = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=BNG)
    geoms = shapely.intersection(roads.geometry.to_numpy(), clip_to)
    geoms = shapely.simplify(geoms, ROAD_TOLERANCE_M)
    keep = ~shapely.is_empty(geoms) & np.isin(shapely.get_type_id(geoms), [1, 5])  # lines only
    roads = roads[keep].assign(geometry=geoms[keep])
    cls = roads["road_class"].fillna("Unknown")
    order = pd.Categorical(cls, categories=ROAD_CLASSES).codes
    order = np.where(order < 0, len(ROAD_CLASSES), order)
    roads = roads.assign(_order=order, _len=roads.length).sort_values(["_order", "_len"], ascending=[True, False], kind="stable")
    vertices = shapely.get_num_coordinates(roads.geometry.to_numpy())
    within = np.cumsum(vertices) <= MAX_ROAD_VERTICES
    info = {"links": int(len(roads)), "kept": int(within.sum()), "vertices": int(vertices[within].sum())}
    return roads[within].drop(columns=["_order", "_len"]).reset_index(drop=True), info


def road_labels(roads: gpd.GeoDataFrame | None) -> list[pd.DataFrame]:
    """A road's name (else its number) at the middle of its longest link, longest roads first."""
    if roads is None or not len(roads):
        return []
    text = roads["name"].fillna(roads["number"])
    r = roads.assign(text=text, length=roads.length)[text.notna()]
    r = r.sort_values(["length", "text"], ascending=[False, True], kind="stable").drop_duplicates("text")
    mid = shapely.line_interpolate_point(r.geometry.to_numpy(), 0.5, normalized=True)
    return [_frame("road", r["text"], shapely.get_x(mid), shapely.get_y(mid))]


def orientation(catalog: Catalog, inputs: Inputs, placed: PlacedCrimes, buffer: float,
                hoods: Neighbourhoods) -> Orientation:
    """The district's map labels and offline basemap, from its open layers only.

    ``buffer`` (metres) widens the district for the roads, as the analysis grid is widened.
    """
    open_ = {n for n in inputs.loaded if catalog.layers[n].sensitivity == "open"}

    def layers(role: str, adapter: str | None = None) -> list[str]:
        return [n for n in catalog.with_role(role) if n in open_
                and (adapter is None or catalog.layers[n].adapter == adapter)]

    area = placed.area
    sources: dict[str, list[str]] = {}
    parts: list[pd.DataFrame] = []

    postcodes = layers("postcodes")
    pc = postcode_labels([inputs.loaded[n].frame for n in postcodes], area.polygon)
    parts += pc
    sources.update({"postcode_district": postcodes, "postcode_sector": postcodes} if pc else {})

    parts.append(_polygon_labels("msoa", pd.Series(hoods.names, dtype="string"), hoods.geometry))
    parts.append(_polygon_labels("lsoa", area.lsoas["lsoa_name"].astype("string").reset_index(drop=True),
                                 area.lsoas.geometry.to_numpy()))
    sources["msoa"] = sources["lsoa"] = [inputs.roles["lookup"], inputs.roles["boundaries"]]

    schools = layers("points", "schools")
    if schools:
        pts = pd.concat([inputs.loaded[n].frame for n in schools], ignore_index=True)
        xy = shapely.get_coordinates(pts.geometry.to_numpy())
        inside = _inside(area.polygon, xy[:, 0], xy[:, 1]) & pts["name"].notna().to_numpy()
        s = pd.DataFrame({"name": pts.loc[inside, "name"].astype(str).to_numpy(), "x": xy[inside, 0],
                          "y": xy[inside, 1]}).drop_duplicates().sort_values(["name", "x", "y"], ignore_index=True)
        parts.append(_frame("school", s["name"], s["x"], s["y"]))
        sources["school"] = schools

    if inputs.roles["crimes"] in open_:
        parts.append(map_point_labels(placed))
        sources["map_point"] = [inputs.roles["crimes"]]

    road_layers = layers("roads")
    roads, info = basemap_roads([inputs.loaded[n].frame for n in road_layers], area.polygon.buffer(buffer))
    parts += road_labels(roads)
    if roads is not None:
        sources["road"] = road_layers

    labels = pd.concat(parts, ignore_index=True)
    labels = labels[labels["name"].notna() & (labels["name"] != "")]
    labels = labels.assign(_k=pd.Categorical(labels["kind"], categories=list(KINDS)).codes)
    labels = labels.sort_values(["_k", "rank"], kind="stable", ignore_index=True).drop(columns="_k")
    labels = gpd.GeoDataFrame(labels.drop(columns=["x", "y"]), geometry=shapely.points(labels["x"], labels["y"]), crs=BNG)

    o = Orientation(labels, roads, sources)
    counts = ", ".join(f"{n:,} {KINDS[k][0]}" for k, n in o.counts().items())
    o.choices.append(Choice(
        "map place names", counts,
        "labels from open layers only, each drawn from its zoom level on: postcode districts and "
        "sectors at the mean position of their live unit postcodes in the district "
        f"({', '.join(postcodes) or 'no postcode layer'}), MSOA and LSOA names inside their "
        "polygons, schools and police.uk map points by name",
    ))
    o.choices.append(RATE_CLASS_CHOICE)
    if roads is not None:
        o.choices.append(Choice(
            "offline basemap",
            f"{', '.join(road_layers)}: {info['kept']:,} of {info['links']:,} road links in the district "
            f"and its {buffer:,.0f} m buffer, {info['vertices']:,} vertices",
            f"simplified to {ROAD_TOLERANCE_M:g} m and kept to {MAX_ROAD_VERTICES:,} vertices, the "
            "most important classes first, so the HTML stays small and draws quickly offline",
        ))
    return o
