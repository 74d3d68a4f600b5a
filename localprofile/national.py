"""National scale: SYNTHETIC crimes spread over the LSOAs of England and Wales by population, and
the profile's grid counts, Gi*, KDE and LSOA counts run on all of them at once.

The crimes are SYNTHETIC (not real data): the repository ships police.uk crimes of one force
only (a national year is some 6 million rows, far too large to ship), and the question here is
speed and memory at national size, for which points placed where people live are a fair
stand-in. The boundaries and populations are
real (``data/boundaries/lsoa11_bsc_england_wales.parquet``,
``data/census/census2011_usual_residents_lsoa11_england_wales.csv.gz``).

>>> import shapely
>>> lsoas = shapely.box([0, 1000], 0, [1000, 3000], 1000)          # a 1 km and a 2 km square
>>> c = national_crimes(lsoas, [100, 300], n=4000, seed=1)
>>> c.x.shape, int((c.lsoa == 1).sum())                               # about 3/4 in the second
((4000,), 3014)
>>> bool(shapely.contains_xy(lsoas[c.lsoa], c.x, c.y).all())         # each inside its own
True
>>> bool((assign_lsoa(c.x, c.y, lsoas) == c.lsoa).all())              # found again by point
True
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

from .engine.choices import Choice
from .engine.gistar import classify, gi_star
from .engine.grid import Grid
from .engine.kde import auto_bandwidth, kde_raster
from .engine.permutation import adjust_p
from .errors import InputError

SYNTHETIC = "SYNTHETIC - not real data"
LABEL_CELL_M = 100.0  # the LSOA label raster behind assign_lsoa(method="raster")


@dataclass(frozen=True)
class NationalCrimes:
    """SYNTHETIC crimes: eastings, northings (EPSG:27700) and the LSOA (row) each was drawn in."""

    x: np.ndarray
    y: np.ndarray
    lsoa: np.ndarray
    seed: int
    note: str = SYNTHETIC


def read_national(boundaries: str | Path, population: str | Path):
    """The LSOAs of England and Wales as a GeoDataFrame (``code``, ``name``, ``residents``,
    ``shares_area`` (:func:`overlapping`), ``geometry`` in EPSG:27700), sorted by code, invalid
    geometries repaired (:func:`repair_lsoas`).

    ``boundaries`` is the GeoParquet written by ``data/make_national.py`` (any file pyogrio
    reads with ``LSOA11CD`` works too); ``population`` a CSV (optionally gzipped) with
    ``LSOA Code`` and ``Usual residents``. Every LSOA must have a population and vice versa.
    """
    import geopandas as gpd

    boundaries, population = Path(boundaries), Path(population)
    for p in (boundaries, population):
        if not p.exists():
            raise InputError("no such file", file=p)
    b = gpd.read_parquet(boundaries) if boundaries.suffix == ".parquet" else gpd.read_file(boundaries)
    for col in ("LSOA11CD", "LSOA11NM"):
        if col not in b.columns:
            raise InputError(f"missing column '{col}'", file=boundaries, column=col)
    if b.crs is None:
        raise InputError("no coordinate reference system", file=boundaries)
    if b.crs.to_epsg() != 27700:
        b = b.to_crs(27700)
    pop = pd.read_csv(population, dtype={"LSOA Code": str})
    for col in ("LSOA Code", "Usual residents"):
        if col not in pop.columns:
            raise InputError(f"missing column '{col}'", file=population, column=col)
    res = pd.to_numeric(pop["Usual residents"], errors="coerce")
    bad = np.flatnonzero(~np.isfinite(res.to_numpy(float)) | (res.to_numpy(float) < 0))
    if len(bad):
        raise InputError(f"not a count: {pop['Usual residents'].iloc[bad[0]]!r}", file=population,
                         row=int(bad[0]) + 2, column="Usual residents")
    dup = np.flatnonzero(pop["LSOA Code"].duplicated().to_numpy())
    if len(dup):
        raise InputError(f"LSOA {pop['LSOA Code'].iloc[dup[0]]} appears twice", file=population,
                         row=int(dup[0]) + 2, column="LSOA Code")
    res = pd.Series(res.to_numpy(np.int64), index=pop["LSOA Code"])
    b = b.sort_values("LSOA11CD", kind="stable").reset_index(drop=True)
    missing = ~b["LSOA11CD"].isin(res.index)
    if missing.any():
        raise InputError(f"{int(missing.sum()):,} LSOAs have no population (first "
                         f"{b['LSOA11CD'][missing].iloc[0]})", file=population, column="LSOA Code")
    if len(res) != len(b):
        raise InputError(f"{len(res):,} rows but {len(b):,} LSOAs in {boundaries.name}",
                         file=population, column="LSOA Code")
    geoms = repair_lsoas(b.geometry.to_numpy())
    return gpd.GeoDataFrame({"code": b["LSOA11CD"].to_numpy(), "name": b["LSOA11NM"].to_numpy(),
                             "residents": res.reindex(b["LSOA11CD"]).to_numpy(),
                             "shares_area": overlapping(geoms)}, geometry=geoms, crs=27700)


def repair_lsoas(geoms: np.ndarray) -> np.ndarray:
    """``geoms`` with the invalid ones made valid by GEOS's linework method, which reads the ONS
    file's three "nested shells" as holes (their areas then match the file's Shape__Area)."""
    geoms = np.array(geoms, dtype=object)
    bad = ~shapely.is_valid(geoms)
    geoms[bad] = shapely.make_valid(geoms[bad])
    return geoms


def overlapping(geoms: np.ndarray) -> np.ndarray:
    """Which polygons share some area with another (the generalised BSC boundaries have 118
    such pairs of neighbours, slivers of 0.94 m² in all): where a point lies in two LSOAs,
    :func:`assign_lsoa` gives it to the first by row, and must look at both."""
    geoms = np.asarray(geoms, dtype=object)
    i, j = shapely.STRtree(geoms).query(geoms, predicate="overlaps")
    out = np.zeros(len(geoms), bool)
    out[i] = True
    out[j] = True
    return out


@dataclass(frozen=True)
class Triangulation:
    """Polygons cut into triangles (:func:`triangulate`): each triangle's three corners, the
    cumulative areas in polygon order, and each polygon's first and last triangle."""

    corners: np.ndarray  # (triangles, 3, 2)
    cum_area: np.ndarray
    first: np.ndarray
    last: np.ndarray


def triangulate(boundaries) -> Triangulation:
    """GEOS's constrained Delaunay triangulation of each polygon (no new vertices, so the
    triangles tile the polygon exactly, holes left out), for :func:`national_crimes`; it
    depends on the boundaries only, so several draws can share it."""
    geoms = np.asarray(getattr(boundaries, "values", boundaries), dtype=object)
    tri, owner = shapely.get_parts(shapely.constrained_delaunay_triangles(geoms), return_index=True)
    if len(tri) and not (shapely.get_num_coordinates(tri) == 4).all():
        raise ValueError("the triangulation gave a part that is not a triangle")
    corners = shapely.get_coordinates(tri).reshape(len(tri), 4, 2)[:, :3]  # closed rings: 4 points
    first = np.searchsorted(owner, np.arange(len(geoms)))
    last = np.searchsorted(owner, np.arange(len(geoms)), side="right") - 1
    return Triangulation(corners, np.cumsum(shapely.area(tri)), first, last)


def national_crimes(boundaries, population, n: int, seed: int,
                    triangles: Triangulation | None = None) -> NationalCrimes:
    """``n`` SYNTHETIC crimes over ``boundaries`` (polygons, EPSG:27700 metres), each LSOA's
    share in proportion to ``population`` (multinomial), each point uniform inside its polygon.

    Parameters
    ----------
    boundaries : array of valid shapely (Multi)Polygons, or a GeoSeries
    population : array of non-negative numbers, one per polygon
    n : int
        Crimes to draw.
    seed : int
        Seed of ``numpy.random.default_rng``: the same seed gives the same crimes.
    triangles : Triangulation, optional
        ``triangulate(boundaries)``, when already made.

    Returns
    -------
    NationalCrimes
        ``x``, ``y`` and ``lsoa`` (the row of ``boundaries`` each crime was drawn in), in random
        order (shuffled: crimes of one LSOA are not neighbours in the arrays).

    Notes
    -----
    A crime picks a triangle of its LSOA (:func:`triangulate`) with probability proportional to
    its area (a search in the cumulative areas), then a uniform point in it (two uniforms,
    reflected when their sum exceeds 1).
    """
    geoms = np.asarray(getattr(boundaries, "values", boundaries), dtype=object)
    pop = np.asarray(population, float)
    if pop.shape != geoms.shape:
        raise ValueError(f"population has {pop.size} values for {geoms.size} polygons")
    if not np.isfinite(pop).all() or (pop < 0).any() or pop.sum() <= 0:
        raise ValueError("population must be finite, non-negative and not all zero")
    if n < 0:
        raise ValueError(f"n must be 0 or more, not {n}")
    t = triangles if triangles is not None else triangulate(geoms)
    if len(t.first) != len(geoms):
        raise ValueError(f"triangles are of {len(t.first)} polygons, not {len(geoms)}")
    rng = np.random.default_rng(seed)
    per_lsoa = rng.multinomial(n, pop / pop.sum())
    if (per_lsoa[t.last < t.first] > 0).any():
        raise ValueError("a polygon with residents has no area")
    # drawn LSOA by LSOA (the triangle look-ups then run through memory in order: twice as
    # fast at 6 million crimes as in random order), then shuffled
    lsoa = np.repeat(np.arange(len(geoms)), per_lsoa)
    lo, hi = t.first[lsoa], t.last[lsoa]
    base = np.where(lo > 0, t.cum_area[np.maximum(lo - 1, 0)], 0.0)
    target = base + rng.random(n) * (t.cum_area[hi] - base)
    k = np.clip(np.searchsorted(t.cum_area, target, side="right"), lo, hi)
    u, v = rng.random(n), rng.random(n)
    flip = u + v > 1
    u[flip], v[flip] = 1 - u[flip], 1 - v[flip]
    a, b, c = t.corners[k, 0], t.corners[k, 1], t.corners[k, 2]
    x = a[:, 0] + u * (b[:, 0] - a[:, 0]) + v * (c[:, 0] - a[:, 0])
    y = a[:, 1] + u * (b[:, 1] - a[:, 1]) + v * (c[:, 1] - a[:, 1])
    shuffle = rng.permutation(n)
    return NationalCrimes(x[shuffle], y[shuffle], lsoa[shuffle].astype(np.int64), seed)


def national_grid(boundaries, cell_size: float = 250.0, margin: float = 0.0) -> Grid:
    """A grid over all of ``boundaries`` plus ``margin`` metres, aligned to multiples of
    ``cell_size`` as :func:`~localprofile.engine.grid.make_grid` aligns it.

    ``in_area``: cells whose centre lies in an LSOA; ``active`` (= ``near``): cells that any LSOA
    touches, so every crime's cell enters Gi*. Both masks are burnt by GDAL (rasterio) from the
    polygons rather than tested cell by cell against their union as ``make_grid`` does:
    dissolving 34,753 polygons and testing 6 million centres takes far longer than burning them.
    """
    from affine import Affine
    from rasterio.features import rasterize

    geoms = np.asarray(getattr(boundaries, "values", boundaries), dtype=object)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    x0 = math.floor((minx - margin) / cell_size) * cell_size
    y0 = math.floor((miny - margin) / cell_size) * cell_size
    x1 = math.ceil((maxx + margin) / cell_size) * cell_size
    y1 = math.ceil((maxy + margin) / cell_size) * cell_size
    nx, ny = round((x1 - x0) / cell_size), round((y1 - y0) / cell_size)
    tf = Affine(cell_size, 0.0, x0, 0.0, -cell_size, y1)
    in_area = rasterize(geoms, out_shape=(ny, nx), transform=tf, dtype="uint8").astype(bool)
    touched = rasterize(geoms, out_shape=(ny, nx), transform=tf, dtype="uint8", all_touched=True).astype(bool)
    active = touched | in_area
    return Grid(float(x0), float(y1), float(cell_size), nx, ny, float(margin), active, in_area, active)


@dataclass(frozen=True)
class LsoaLookup:
    """What :func:`assign_lsoa` needs, made once per set of boundaries by :func:`lsoa_lookup`:
    the polygons (prepared), which share area with another, and a raster of the row of the
    polygon holding each raster cell's centre (0 = none, else row + 1)."""

    geoms: np.ndarray
    shares_area: np.ndarray
    labels: np.ndarray
    x0: float
    y1: float
    cell: float


def lsoa_lookup(boundaries, shares_area: np.ndarray | None = None, cell: float = LABEL_CELL_M) -> LsoaLookup:
    """The :class:`LsoaLookup` of ``boundaries`` (the GeoDataFrame of :func:`read_national`,
    whose ``shares_area`` it uses, or an array of polygons) on a raster of ``cell`` metres,
    burnt by GDAL (rasterio) with its cell-centre rule."""
    from affine import Affine
    from rasterio.features import rasterize

    if shares_area is None and hasattr(boundaries, "columns") and "shares_area" in boundaries.columns:
        shares_area = boundaries["shares_area"].to_numpy()
    geoms = np.asarray(getattr(boundaries, "geometry", boundaries), dtype=object)
    if shares_area is None:
        shares_area = overlapping(geoms)
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    x0, y1 = math.floor(minx / cell) * cell, math.ceil(maxy / cell) * cell
    nx, ny = math.ceil((maxx - x0) / cell), math.ceil((y1 - miny) / cell)
    dtype = "uint16" if len(geoms) < 2**16 else "int32"  # 34,753 LSOAs fit 16 bits: half the memory
    labels = rasterize(zip(geoms, range(1, len(geoms) + 1)), out_shape=(ny, nx), fill=0, dtype=dtype,
                       transform=Affine(cell, 0.0, x0, 0.0, -cell, y1))
    shapely.prepare(geoms)
    return LsoaLookup(geoms, np.asarray(shares_area, bool), labels, float(x0), float(y1), float(cell))


def assign_lsoa(x, y, boundaries, method: str = "raster") -> np.ndarray:
    """The row of ``boundaries`` (polygons, or their :class:`LsoaLookup`) holding each point:
    the first row where it lies in (or on the edge of) several, -1 where it lies in none.

    ``method="strtree"``: every point queried against a shapely STRtree of the polygons
    (``intersects``, as ``geopandas.sjoin`` does). ``method="raster"`` (the same answer, faster at
    national size): each point's cell of the lookup's label raster names a candidate, which
    ``shapely.contains_xy`` confirms exactly; the points it does not confirm (near an edge: some
    8% on 100 m cells), and those confirmed in a polygon that shares area with another, go to
    the STRtree.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    out = np.full(x.shape, -1, dtype=np.int64)
    if method == "strtree":
        geoms = boundaries.geoms if isinstance(boundaries, LsoaLookup) else \
            np.asarray(getattr(boundaries, "geometry", boundaries), dtype=object)
        todo = np.arange(len(x))
    elif method == "raster":
        lk = boundaries if isinstance(boundaries, LsoaLookup) else lsoa_lookup(boundaries)
        geoms, (ny, nx) = lk.geoms, lk.labels.shape
        with np.errstate(invalid="ignore"):
            col = np.floor((x - lk.x0) / lk.cell)
            row = np.floor((lk.y1 - y) / lk.cell)
        on = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
        lab = np.zeros(x.shape, lk.labels.dtype)
        lab[on] = lk.labels[row[on].astype(np.int64), col[on].astype(np.int64)]
        # points grouped by candidate (a radix sort of 16-bit labels): GEOS then tests each
        # prepared polygon's points together, 7x faster at 6 million points than in their order
        order = np.argsort(lab, kind="stable")
        none = lab[order] == 0
        order, off = order[~none], order[none]
        cand = lab[order].astype(np.int64) - 1
        hit = shapely.contains_xy(geoms[cand], x[order], y[order]) & ~lk.shares_area[cand]
        out[order[hit]] = cand[hit]
        todo = np.concatenate([order[~hit], off])
    else:
        raise ValueError(f"unknown method {method!r} (raster, strtree)")
    if len(todo):
        pt, poly = shapely.STRtree(geoms).query(shapely.points(x[todo], y[todo]), predicate="intersects")
        order = np.lexsort((poly, pt))  # by point, then row: the first row of each point
        pt, poly = pt[order], poly[order]
        head = np.r_[True, pt[1:] != pt[:-1]]
        out[todo[pt[head]]] = poly[head]
    return out


@dataclass
class NationalRun:
    """The national results and how long each part took (seconds: wall clock and CPU)."""

    grid: Grid
    counts: np.ndarray  # crimes per cell
    gi_z: np.ndarray
    gi_p: np.ndarray
    gi_q: np.ndarray  # Benjamini-Hochberg over the in-area cells
    hotspot: np.ndarray  # hot / cold / none
    kde: np.ndarray  # crimes per km² on the grid's cells
    lsoa: np.ndarray  # each crime's LSOA (row of the boundaries; -1 none)
    lsoa_counts: np.ndarray  # crimes per LSOA
    bandwidth: Choice
    seconds: dict[str, float] = field(default_factory=dict)
    cpu_seconds: dict[str, float] = field(default_factory=dict)


def national_run(x, y, boundaries, cell_size: float = 250.0, bandwidth: float | None = 1000.0,
                 hotspot_q: float = 0.05, lsoa_method: str = "raster", grid: Grid | None = None,
                 lookup: LsoaLookup | None = None) -> NationalRun:
    """Bin ``x``, ``y`` to a ``cell_size`` grid over ``boundaries`` (the GeoDataFrame of
    :func:`read_national`, or an array of polygons), Gi* (z, p, BH q, hot and cold cells at
    ``hotspot_q``) on it, the quartic KDE on the same cells, and the crimes per LSOA by point
    in polygon (:func:`assign_lsoa`): the engine's own verbs (``Grid.bin``, ``gi_star``,
    ``adjust_p``, ``classify``, ``kde_raster``), each part timed.

    ``bandwidth`` None: the engine's automatic rule (:func:`~localprofile.engine.kde.auto_bandwidth`,
    timed as ``bandwidth``); the value used and why is ``NationalRun.bandwidth``. The grid
    reaches one bandwidth past the LSOAs (inactive cells), so no KDE mass falls off it. The grid
    and the LSOA lookup depend on the boundaries only: pass ``grid`` and ``lookup`` to reuse them,
    else they are made here (timed as ``grid`` and ``lookup``).
    """
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}

    def timed(part, fn, *args, **kw):
        t, c = time.perf_counter(), time.process_time()
        out = fn(*args, **kw)
        wall[part], cpu[part] = time.perf_counter() - t, time.process_time() - c
        return out

    x, y = np.asarray(x, float), np.asarray(y, float)
    if bandwidth is None:
        bw = timed("bandwidth", auto_bandwidth, x, y, cell_size)
    else:
        bw = Choice("bandwidth (m)", float(bandwidth),
                    "given: the automatic rule measures the spacing of police.uk map points, which "
                    "SYNTHETIC uniform points do not have, and its cost grows with the crimes")
    if grid is None:
        grid = timed("grid", national_grid, getattr(boundaries, "geometry", boundaries), cell_size,
                     margin=float(bw.value))
    if lookup is None and lsoa_method == "raster":
        lookup = timed("lookup", lsoa_lookup, boundaries)
    counts = timed("bin", grid.bin, x, y)

    def gi():
        z, p = gi_star(counts, grid.active)
        q = adjust_p(p, grid.in_area, "bh")
        return z, p, q, classify(z, q, hotspot_q)

    z, p, q, hot = timed("gi_star", gi)
    kde = timed("kde", lambda: kde_raster(grid, x, y, float(bw.value), factor=1)[0])
    lsoa = timed("lsoa", assign_lsoa, x, y, lookup if lsoa_method == "raster" else boundaries, method=lsoa_method)
    n_lsoa = len(lookup.geoms) if lookup is not None else len(boundaries)
    lsoa_counts = np.bincount(lsoa[lsoa >= 0], minlength=n_lsoa).astype(np.int64)
    return NationalRun(grid, counts, z, p, q, hot, kde, lsoa, lsoa_counts, bw, wall, cpu)
