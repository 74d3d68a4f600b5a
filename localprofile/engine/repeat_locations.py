"""Repeat locations: police.uk map points where crime recurs.

police.uk moves every crime to the nearest of a fixed list of anonymous map points (the centre of
a street, a park, a shopping centre ...; each with eight or more postal addresses in its catchment
or none), so many crimes share one point. A repeat location is therefore a **map point**
(``method="map_point"``, the default): the crimes at identical coordinates, kept when there are
at least ``min_samples`` of them. ``merge`` (metres, default 0) joins map points that close
together (a premises recorded at two points, say); a joined group more than ``MAX_ACROSS_M``
(100 m) across is split back into its points, so no repeat location is wider than that.
Clustering map points with DBSCAN chained Leeds city centre into one "location" of 1,324 crimes
some 2 km across; that is a hotspot, which Gi* and the KDE already show, not a place a patrol
can stand in.

The older area methods remain for analysts who want them. Points are de-duplicated to their
unique coordinates with the number of crimes at each as its weight, and clustered with
``sklearn.cluster.DBSCAN(eps, min_samples).fit(points, sample_weight=counts)``, which gives the
same clusters as DBSCAN on every crime (the points repeated) at a fraction of the cost. Clusters
do not depend on the order of the input rows (unique points are taken in coordinate order).

DBSCAN's defaults, and why:

* ``eps = 100`` m: map points lie at street centres, typically some tens of metres to ~100 m
  apart; 100 m joins the points of one street segment or block (the usual micro-place scale)
  without chaining across a neighbourhood.
* ``min_samples = 5`` weighted crimes (scikit-learn's own default): a point with 5 or more crimes
  is a repeat location on its own (a core point), and so is a group of nearby points with 5
  between them; one-off crimes stay noise.

``method="hdbscan"`` uses ``sklearn.cluster.HDBSCAN(min_cluster_size)`` instead (default 10
crimes: HDBSCAN finds clusters at every density, and smaller sizes split busy streets into many
slivers). It has no ``sample_weight``, so each unique point is repeated once per crime but at most
``max_copies`` times (default ``min_cluster_size``: a point with that many crimes can form a
cluster alone; more copies would only cost time), and takes the label most of its copies got.
Weights above the cap do not steer the clustering, but the crimes reported count every crime.
HDBSCAN adapts to local density, so in sparse areas its clusters can span square kilometres;
DBSCAN's fixed ``eps`` is the default for that reason.

Each cluster becomes one row of a GeoDataFrame (EPSG:27700): ``cluster`` (1 = the most crimes),
``crimes``, ``points`` (distinct map points), the three most frequent "On or near ..." locations
with their crimes (``location_1``, ``location_1_crimes`` ...), and the convex hull of its points.
A hull of one point or of points in a line is buffered by ``hull_buffer`` metres (default 5) so
that every cluster is a polygon.

>>> import numpy as np
>>> xy = np.array([[0, 0]] * 6 + [[40, 0]] * 2 + [[5000, 5000]])
>>> loc = ["On or near A"] * 6 + ["On or near B"] * 2 + ["On or near C"]
>>> repeat_locations(xy, loc)[["cluster", "crimes", "points", "location_1"]].values.tolist()
[[1, 6, 1, 'On or near A']]
>>> g = repeat_locations(xy, loc, method="dbscan")
>>> g[["cluster", "crimes", "points", "location_1", "location_1_crimes"]].values.tolist()
[[1, 8, 2, 'On or near A', 6]]
>>> g.geometry.iloc[0].geom_type, round(g.geometry.iloc[0].area)   # the 40 m line, buffered by 5 m
('Polygon', 478)
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .choices import Choice

DEFAULT_EPS_M = 100.0
MAX_ACROSS_M = 100.0  # joined map points wider than this fall back to separate points
DEFAULT_MIN_SAMPLES = 5
DEFAULT_MIN_CLUSTER_SIZE = 10
HULL_BUFFER_M = 5.0
TOP_LOCATIONS = 3
CRS = "EPSG:27700"


def unique_points(xy) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct coordinates (in coordinate order), the index of each input row's coordinate
    among them (-1 for a row with NaN), and the number of rows at each.

    >>> u, inv, n = unique_points([[1, 1], [0, 0], [1, 1], [np.nan, 2]])
    >>> u.tolist(), inv.tolist(), n.tolist()
    ([[0.0, 0.0], [1.0, 1.0]], [1, 0, 1, -1], [1, 2])
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    ok = np.isfinite(xy).all(axis=1)
    u, inv, n = np.unique(xy[ok], axis=0, return_inverse=True, return_counts=True)
    index = np.full(len(xy), -1, dtype=np.int64)
    index[ok] = inv.ravel()
    return u, index, n


def map_point_groups(u: np.ndarray, merge: float = 0.0, max_across: float = MAX_ACROSS_M) -> np.ndarray:
    """A group per unique map point, or map points within ``merge`` metres of each other joined
    (single linkage, ``DBSCAN(eps=merge, min_samples=1)``); a group that would then be more than
    ``max_across`` metres across (its bounding box's diagonal: chaining along a street) is split
    back into its map points, so no group is ever wider than that.

    >>> map_point_groups(np.array([[0.0, 0], [20, 0], [500, 0]]), merge=30).tolist()
    [0, 0, 1]
    >>> map_point_groups(np.array([[x * 25.0, 0] for x in range(8)]), merge=30).tolist()  # a 175 m chain
    [0, 1, 2, 3, 4, 5, 6, 7]
    """
    if merge <= 0 or len(u) < 2:
        return np.arange(len(u), dtype=np.int64)
    from sklearn.cluster import DBSCAN  # here, not at the top: see _cluster_unique

    g = DBSCAN(eps=merge, min_samples=1).fit(u).labels_
    lo_x, hi_x = np.full(g.max() + 1, np.inf), np.full(g.max() + 1, -np.inf)
    lo_y, hi_y = lo_x.copy(), hi_x.copy()
    np.minimum.at(lo_x, g, u[:, 0]); np.maximum.at(hi_x, g, u[:, 0])
    np.minimum.at(lo_y, g, u[:, 1]); np.maximum.at(hi_y, g, u[:, 1])
    wide = np.hypot(hi_x - lo_x, hi_y - lo_y) > max_across
    split = wide[g]
    out = g.copy()
    out[split] = g.max() + 1 + np.arange(int(split.sum()))
    _, out = np.unique(out, return_inverse=True)  # numbered in order of first point
    return out.ravel().astype(np.int64)


def _cluster_unique(u, n, method, eps, min_samples, min_cluster_size, max_copies, merge=0.0) -> np.ndarray:
    """sklearn labels (-1 noise) of the unique points."""
    if len(u) == 0:
        return np.zeros(0, dtype=np.int64)
    if method == "map_point":
        groups = map_point_groups(u, merge)
        crimes = np.bincount(groups, weights=n)
        keep = crimes >= min_samples
        relabel = np.full(len(crimes), -1, dtype=np.int64)
        relabel[keep] = np.arange(int(keep.sum()))
        return relabel[groups]
    # scikit-learn is imported only by the area methods (and by map points merged with DBSCAN):
    # the default map-point build does not need it, and importing sklearn.cluster costs about
    # 0.3 s of every build (issue 11: a Leeds build close to its load floor)
    from sklearn.cluster import DBSCAN, HDBSCAN

    if method == "dbscan":
        return DBSCAN(eps=eps, min_samples=min_samples).fit(u, sample_weight=n).labels_
    if method == "hdbscan":
        copies = np.minimum(n, max_copies or min_cluster_size)
        if copies.sum() < 2:
            return np.full(len(u), -1, dtype=np.int64)
        labels = HDBSCAN(min_cluster_size=min_cluster_size, copy=False).fit(
            np.repeat(u, copies, axis=0)).labels_
        return _majority(np.repeat(np.arange(len(u)), copies), labels, len(u))
    raise ValueError(f"unknown method '{method}' (choose map_point, dbscan or hdbscan)")


def _majority(point: np.ndarray, label: np.ndarray, n_points: int) -> np.ndarray:
    """The label most copies of each point got (HDBSCAN may leave a few copies of a point as
    noise); ties go to a cluster before noise, then to the lower label.

    >>> _majority(np.array([0, 0, 0, 1, 1]), np.array([-1, 2, 2, -1, 0]), 2).tolist()
    [2, 0]
    """
    width = int(label.max()) + 2
    keys, count = np.unique(point * width + label + 1, return_counts=True)
    kp, kl = keys // width, keys % width - 1
    order = np.lexsort((kl, kl < 0, -count, kp))  # by point, most copies, cluster first, label
    first = order[np.r_[True, kp[order][1:] != kp[order][:-1]]]
    out = np.full(n_points, -1, dtype=np.int64)
    out[kp[first]] = kl[first]
    return out


def cluster_labels(
    xy,
    *,
    eps: float = DEFAULT_EPS_M,
    min_samples: float = DEFAULT_MIN_SAMPLES,
    method: str = "dbscan",
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    max_copies: int | None = None,
    merge: float = 0.0,
) -> np.ndarray:
    """The cluster of each crime: 1 for the cluster with the most crimes, 2 the next (ties: the
    one whose first point comes first in coordinate order) ...; -1 for noise and unlocated rows.

    >>> cluster_labels([[0, 0]] * 5 + [[900, 0]] * 7 + [[0, 50], [np.nan, np.nan]]).tolist()
    [2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 2, -1]
    """
    u, index, n = unique_points(xy)
    raw = _cluster_unique(u, n, method, eps, min_samples, min_cluster_size, max_copies, merge)
    k = int(raw.max()) + 1 if raw.size else 0
    crimes = np.bincount(raw[raw >= 0], weights=n[raw >= 0], minlength=k)
    new = np.empty(k, dtype=np.int64)
    new[np.argsort(-crimes, kind="stable")] = np.arange(1, k + 1)
    per_point = np.where(raw >= 0, new[np.maximum(raw, 0)] if k else -1, -1)
    return np.where(index >= 0, per_point[np.maximum(index, 0)] if len(u) else -1, -1)


def _top_locations(labels: np.ndarray, locations, top: int) -> pd.DataFrame:
    """``location_i`` and ``location_i_crimes`` columns, one row per cluster."""
    frame = pd.DataFrame({"cluster": labels, "location": pd.Series(locations, dtype=object).to_numpy()})
    frame = frame[(frame["cluster"] > 0) & frame["location"].notna()]
    counts = frame.groupby(["cluster", "location"]).size().rename("crimes").reset_index()
    counts = counts.sort_values(["cluster", "crimes", "location"], ascending=[True, False, True])
    counts["rank"] = counts.groupby("cluster").cumcount() + 1
    counts = counts[counts["rank"] <= top]
    wide = counts.pivot(index="cluster", columns="rank", values=["location", "crimes"])
    out = pd.DataFrame(index=wide.index)
    for i in range(1, top + 1):
        out[f"location_{i}"] = wide["location"][i] if ("location", i) in wide.columns else None
        c = wide["crimes"][i] if ("crimes", i) in wide.columns else 0
        out[f"location_{i}_crimes"] = pd.Series(c, index=wide.index).fillna(0).astype("int64")
    return out


def repeat_locations(
    xy,
    locations=None,
    *,
    eps: float = DEFAULT_EPS_M,
    min_samples: float = DEFAULT_MIN_SAMPLES,
    method: str = "map_point",
    min_cluster_size: int = DEFAULT_MIN_CLUSTER_SIZE,
    max_copies: int | None = None,
    merge: float = 0.0,
    hull_buffer: float = HULL_BUFFER_M,
    top: int = TOP_LOCATIONS,
) -> gpd.GeoDataFrame:
    """Clusters of the crimes at ``xy`` (EPSG:27700 metres, NaN rows ignored), largest first;
    ``locations`` (police.uk "On or near ..." text, one per row of ``xy``) give the top locations.
    The choices, with reasons, are in ``.attrs["choices"]``.

    Parameters
    ----------
    xy : (n, 2) array of eastings and northings (EPSG:27700 metres)
        The crimes; rows with a NaN coordinate are ignored.
    locations : (n,) sequence of str, optional
        police.uk's "On or near ..." text of each crime, for the top locations.
    eps : float, default 100
        DBSCAN's neighbourhood radius in metres (``method="dbscan"``).
    min_samples : float, default 5
        The fewest crimes at a repeat location (``map_point``), or DBSCAN's ``min_samples``.
    method : {"map_point", "dbscan", "hdbscan"}, default "map_point"
        Identical coordinates, or one of the area methods (see the module docstring).
    min_cluster_size : int, default 10
        HDBSCAN's ``min_cluster_size``.
    max_copies : int, optional
        The most copies of a point HDBSCAN sees; default ``min_cluster_size``.
    merge : float, default 0
        Join map points within this many metres (``map_point``; at most 100 m across).
    hull_buffer : float, default 5
        Metres by which a hull of one point, or of points in a line, is buffered.
    top : int, default 3
        How many of the most frequent locations each cluster names.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per repeat location (EPSG:27700), the most crimes first: ``cluster``, ``crimes``,
        ``points``, ``location_1`` and ``location_1_crimes`` ... and the hull as geometry; the
        choices made, with their reasons, in ``.attrs["choices"]``.

    Examples
    --------
    >>> from localprofile.demo import demo_stages
    >>> _, _, placed = demo_stages("Leeds", "force", core_only=True)   # the shipped months
    >>> own = placed.in_district & placed.located
    >>> rl = repeat_locations(np.column_stack([placed.x[own], placed.y[own]]),
    ...                       placed.crimes.loc[own, "location"].to_numpy())
    >>> int(own.sum()), len(rl), int(rl["crimes"].sum())   # crimes; points with 5+; theirs
    (18914, 1037, 9244)
    >>> rl["crimes"].head(3).tolist(), rl["location_1"].head(3).tolist()
    ([79, 71, 70], ['On or near Heathcroft Rise', 'On or near Nightclub', 'On or near Prison'])
    >>> repeat_locations(np.zeros((4, 2))).empty             # 4 crimes at one point: fewer than 5
    True
    """
    xy = np.asarray(xy, float).reshape(-1, 2)
    labels = cluster_labels(xy, eps=eps, min_samples=min_samples, method=method,
                            min_cluster_size=min_cluster_size, max_copies=max_copies, merge=merge)
    u, index, n = unique_points(xy)
    k = int(labels.max()) if labels.size and labels.max() > 0 else 0
    # one label per unique point (every crime at a point shares it)
    point_label = np.full(len(u), -1, dtype=np.int64)
    point_label[index[index >= 0]] = labels[index >= 0]
    member = np.flatnonzero(point_label > 0)
    member = member[np.argsort(point_label[member], kind="stable")]
    if k:
        hulls = shapely.convex_hull(shapely.multipoints(u[member], indices=point_label[member] - 1))
        flat = shapely.get_type_id(hulls) != 3  # 3 = Polygon: points and lines get a buffer
        hulls[flat] = shapely.buffer(hulls[flat], hull_buffer)
    else:
        hulls = np.empty(0, dtype=object)
    table = pd.DataFrame({
        "cluster": np.arange(1, k + 1),
        "crimes": np.bincount(point_label[member] - 1, weights=n[member], minlength=k).astype("int64"),
        "points": np.bincount(point_label[member] - 1, minlength=k).astype("int64"),
    })
    if locations is None:
        locations = [None] * len(xy)
    if len(locations) != len(xy):
        raise ValueError("locations and xy differ in length")
    tops = _top_locations(labels, locations, top).reindex(table["cluster"].to_numpy())
    for i in range(1, top + 1):
        names = np.array(tops[f"location_{i}"].to_numpy(dtype=object), dtype=object)
        names[pd.isna(names)] = None  # object dtype keeps None on pandas 2 and 3 alike
        table[f"location_{i}"] = pd.Series(names, index=table.index, dtype=object)
        table[f"location_{i}_crimes"] = tops[f"location_{i}_crimes"].fillna(0).astype("int64").to_numpy()
    out = gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(hulls, crs=CRS), crs=CRS)
    out.attrs["choices"] = _choices(method, eps, min_samples, min_cluster_size, max_copies, hull_buffer, merge)
    return out


def _choices(method, eps, min_samples, min_cluster_size, max_copies, hull_buffer, merge=0.0) -> list[Choice]:
    if method == "map_point":
        found = [
            Choice("repeat locations: police.uk map points", "identical coordinates" if merge <= 0
                   else f"map points within {merge:g} m joined (at most {MAX_ACROSS_M:g} m across)",
                   "police.uk snaps every crime to an anonymised map point (a street centre, a park, a "
                   "shopping centre), so a repeat location is a map point, not a district: clustering "
                   "nearby points chained Leeds city centre into one 2 km 'location'"),
            Choice("repeat locations: fewest crimes", min_samples,
                   "a map point (or joined group) with at least this many of the theme's crimes"),
        ]
    elif method == "dbscan":
        found = [
            Choice("repeat locations: DBSCAN eps (m)", float(eps),
                   "police.uk map points sit at street centres tens of metres to ~100 m apart: 100 m "
                   "joins one street segment's points without chaining across a neighbourhood"),
            Choice("repeat locations: DBSCAN min_samples (crimes)", min_samples,
                   "map points weighted by their crimes: a point with this many crimes is a repeat "
                   "location on its own, as is a group of nearby points with this many between them"),
        ]
    else:
        found = [Choice("repeat locations: HDBSCAN min_cluster_size", int(min_cluster_size),
                        f"HDBSCAN has no sample weights: each map point repeated once per crime, at "
                        f"most {max_copies or min_cluster_size} times; crime counts are complete")]
    return found + [Choice("repeat locations: hull buffer (m)", float(hull_buffer),
                           "a cluster of one point, or of points in a line, has no area: its hull "
                           "is buffered so that every cluster is drawn as a polygon")]
