"""Rasters (a population grid, say) summarised over polygons and resampled onto the analysis grid.

Pure functions on arrays (no I/O). A :class:`Raster` is what the ``raster`` adapter reads: one
band with its affine transform, CRS and nodata value. Cells equal to ``nodata``, and cells that
are not finite numbers, are no data: they count neither in sums nor in means. ``statistic`` says
what the cells hold: "sum" for counts (people per cell: totals over areas are sums, and
resampling must keep the total), "mean" for rates or densities (averaged).

Everything is returned on the British National Grid (EPSG:27700), where the analysis happens: a
raster in another CRS is reprojected with GDAL's warper (``rasterio.warp.reproject``),
``Resampling.sum`` for sums (GDAL >= 3.1, rasterio >= 1.4), which shares each cell's value out
by overlap and so keeps totals, and ``Resampling.average`` for means.

>>> from affine import Affine
>>> import geopandas as gpd, shapely
>>> people = Raster(np.array([[1.0, 2.0], [3.0, -1.0]]), Affine(100, 0, 0, 0, -100, 200),
...                 "EPSG:27700", nodata=-1, statistic="sum")
>>> int(people.valid.sum()), people.total()
(3, 6.0)
>>> areas = gpd.GeoSeries([shapely.box(0, 0, 200, 100), shapely.box(0, 100, 90, 200),
...                        shapely.box(900, 900, 950, 950)], crs="EPSG:27700")
>>> zonal_by_polygons(people, areas, "sum").tolist()   # the third area holds no cell centre
[3.0, 1.0, nan]
>>> onto_grid(people, Affine(200, 0, 0, 0, -200, 200), (1, 1), "sum").tolist()
[[6.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.features import rasterize
from rasterio.warp import (
    Resampling,
    calculate_default_transform,
    reproject,
    transform_bounds,
)

Statistic = Literal["sum", "mean"]
BNG = CRS.from_epsg(27700)

# rasterio >= 1.4 (GDAL >= 3.1) has sum resampling; without it, sums could not keep totals.
if not hasattr(Resampling, "sum"):  # pragma: no cover - guarded by the rasterio requirement
    raise ImportError("localprofile.engine.zonal needs rasterio >= 1.4 (Resampling.sum)")

_RESAMPLING = {"sum": Resampling.sum, "mean": Resampling.average}


@dataclass
class Raster:
    """One raster band in memory: ``array`` (rows, cols; row 0 is the north edge as in a
    GeoTIFF), its affine ``transform`` and ``crs`` (a rasterio CRS, or anything
    ``CRS.from_user_input`` takes), the ``nodata`` value (or None), what the cells hold
    (``statistic``: "sum" or "mean") and a ``label`` for people."""

    array: np.ndarray
    transform: Affine
    crs: Any
    nodata: float | None = None
    statistic: Statistic = "sum"
    label: str = ""

    def __post_init__(self) -> None:
        self.crs = CRS.from_user_input(self.crs)
        _check(self.statistic)

    @property
    def valid(self) -> np.ndarray:
        """Cells holding data: finite and not ``nodata``."""
        return _valid(self.array, self.nodata)

    def values(self) -> np.ndarray:
        """The cells as float64, NaN where there is no data."""
        return _as_float(self.array, self.nodata)

    def total(self) -> float:
        """The sum of the valid cells."""
        return float(np.nansum(self.values()))

    @property
    def in_bng(self) -> bool:
        return _is_bng(self.crs)


def _check(statistic: str) -> None:
    if statistic not in _RESAMPLING:
        raise ValueError(f"statistic must be 'sum' or 'mean', not {statistic!r}")


def _valid(array: np.ndarray, nodata: float | None) -> np.ndarray:
    ok = np.isfinite(array) if array.dtype.kind == "f" else np.ones(array.shape, dtype=bool)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        ok &= array != nodata
    return ok


def _as_float(array: np.ndarray, nodata: float | None) -> np.ndarray:
    return np.where(_valid(array, nodata), array, np.nan).astype(float, copy=False)


def _is_bng(crs: CRS) -> bool:
    # A GeoTIFF may describe the British National Grid in WKT without naming EPSG:27700.
    return crs == BNG or crs.to_epsg() == 27700


def _window(raster: Raster, bounds: tuple[float, float, float, float], margin: int):
    """The raster's cells covering ``bounds`` (in the raster's CRS) plus ``margin`` cells:
    (float values with NaN for no data, their transform); None when they miss the raster."""
    inv = ~raster.transform
    xs = np.array([bounds[0], bounds[2], bounds[0], bounds[2]])
    ys = np.array([bounds[1], bounds[1], bounds[3], bounds[3]])
    cols = inv.a * xs + inv.b * ys + inv.c
    rows = inv.d * xs + inv.e * ys + inv.f
    h, w = raster.array.shape
    r0, r1 = max(math.floor(rows.min()) - margin, 0), min(math.ceil(rows.max()) + margin, h)
    c0, c1 = max(math.floor(cols.min()) - margin, 0), min(math.ceil(cols.max()) + margin, w)
    if r1 <= r0 or c1 <= c0:
        return None
    t = raster.transform
    shifted = Affine(t.a, t.b, t.c + t.a * c0 + t.b * r0, t.d, t.e, t.f + t.d * c0 + t.e * r0)
    return _as_float(raster.array[r0:r1, c0:c1], raster.nodata), shifted


def _bng_cell_size(raster: Raster, bounds: tuple[float, float, float, float]) -> float:
    """About how wide the raster's cells are in metres on the British National Grid, where they
    lie under ``bounds`` (EPSG:27700): a global raster need not be projectable as a whole."""
    found = _window(raster, transform_bounds(BNG, raster.crs, *bounds, densify_pts=21), margin=1)
    if found is None:
        return 0.0
    values, t = found
    h, w = values.shape
    xs, ys = [t.c, t.c + t.a * w], [t.f, t.f + t.e * h]
    dst, _, _ = calculate_default_transform(raster.crs, BNG, w, h, min(xs), min(ys), max(xs), max(ys))
    return float(min(abs(dst.a), abs(dst.e)))


def zonal_by_polygons(
    raster: Raster,
    polygons,
    statistic: Statistic | None = None,
    *,
    oversample: int = 2,
) -> np.ndarray:
    """The sum (or mean) of the raster's valid cells whose centres lie in each polygon.

    ``polygons`` is a GeoSeries, GeoDataFrame or array of shapely polygons in EPSG:27700;
    missing or empty geometries, and polygons holding no valid cell centre (smaller than a
    cell, or off the raster), get NaN. ``statistic`` defaults to the raster's own. Only the part
    of the raster under the polygons is used.

    A raster in another CRS is first reprojected onto a British National Grid grid of
    ``1/oversample`` of its cell size (sums by ``Resampling.sum``, so nothing is lost or made
    up; means by ``Resampling.average``). The finer cells share a source cell that straddles
    a boundary between the polygons on either side, instead of giving all of it to one.

    Parameters
    ----------
    raster : Raster
        The cells, in any CRS.
    polygons : GeoSeries, GeoDataFrame or array of shapely polygons
        The areas (LSOAs, say), in EPSG:27700.
    statistic : {"sum", "mean"}, optional
        Sum or mean of the cells in each polygon; default the raster's own ``statistic``.
    oversample : int, default 2
        For a raster in another CRS: the British National Grid cells are this many times finer
        than the raster's.

    Returns
    -------
    (len(polygons),) float array
        The statistic per polygon, in its order; NaN where the polygon holds no valid cell centre.

    Examples
    --------
    >>> from localprofile.demo import demo_grid, demo_lsoa_rates
    >>> g = demo_grid("Leeds", theme="all_crime")        # the shipped months on 500 m cells
    >>> crimes = Raster(g.counts, g.grid.transform, "EPSG:27700", statistic="sum")
    >>> polygons, _ = demo_lsoa_rates("Leeds", "all_crime")
    >>> per_lsoa = zonal_by_polygons(crimes, polygons)
    >>> len(per_lsoa), int(np.isnan(per_lsoa).sum())     # LSOAs; those holding no cell centre
    (482, 44)
    >>> int(np.nansum(per_lsoa)), int(g.counts[g.grid.in_area].sum())   # cells centred in Leeds
    (18895, 18895)

    >>> from affine import Affine
    >>> import shapely
    >>> r = Raster(np.arange(16.0).reshape(4, 4), Affine(10, 0, 0, 0, -10, 40), "EPSG:27700",
    ...            statistic="mean")
    >>> zonal_by_polygons(r, [shapely.box(0, 20, 20, 40), shapely.box(0, 0, 40, 20)]).tolist()
    [2.5, 11.5]
    >>> zonal_by_polygons(r, [shapely.box(0, 20, 20, 40), shapely.box(0, 0, 40, 20)], "sum").tolist()
    [10.0, 92.0]
    """
    statistic = statistic or raster.statistic
    _check(statistic)
    import geopandas as gpd
    import shapely

    if isinstance(polygons, gpd.GeoDataFrame):
        polygons = polygons.geometry
    if isinstance(polygons, gpd.GeoSeries):
        if polygons.crs is not None and not _is_bng(CRS.from_user_input(polygons.crs)):
            raise ValueError(f"polygons must be in EPSG:27700, not {polygons.crs}")
        geoms = polygons.to_numpy()
    else:
        geoms = np.asarray(polygons, dtype=object)
    out = np.full(len(geoms), np.nan)
    usable = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not usable.any():
        return out
    bounds = tuple(shapely.total_bounds(geoms[usable]))
    if raster.in_bng:
        found = _window(raster, bounds, margin=0)
        if found is None:
            return out
        values, transform = found
    else:
        # The polygons, like the analysis grid, are in EPSG:27700, and "the cell's centre lies in
        # the polygon" needs cells and polygons in one CRS: bring the cells to the grid's CRS
        # (reprojecting polygons instead would bend their edges and mix two CRSs in one profile).
        size = _bng_cell_size(raster, bounds) / oversample
        if size <= 0:  # the polygons lie off the raster
            return out
        x0, y0 = math.floor(bounds[0] / size) * size, math.floor(bounds[1] / size) * size
        x1, y1 = math.ceil(bounds[2] / size) * size, math.ceil(bounds[3] / size) * size
        transform = Affine(size, 0, x0, 0, -size, y1)
        values = onto_grid(
            raster, transform, (max(round((y1 - y0) / size), 1), max(round((x1 - x0) / size), 1)),
            statistic,
        )
    ids = rasterize(
        zip(geoms[usable], np.flatnonzero(usable) + 1), out_shape=values.shape,
        transform=transform, fill=0, dtype="int32",
    )
    ok = (ids > 0) & np.isfinite(values)
    sums = np.bincount(ids[ok], weights=values[ok], minlength=len(geoms) + 1)[1:]
    counts = np.bincount(ids[ok], minlength=len(geoms) + 1)[1:]
    has = counts > 0
    out[has] = sums[has] if statistic == "sum" else sums[has] / counts[has]
    return out


def onto_grid(
    raster: Raster,
    grid_transform: Affine,
    grid_shape: tuple[int, int],
    statistic: Statistic | None = None,
) -> np.ndarray:
    """The raster resampled onto an analysis grid in EPSG:27700 (its affine transform and
    (rows, cols) shape, e.g. ``Grid.transform`` and ``Grid.shape``).

    Sums use ``Resampling.sum``, so the total over the grid equals the raster's total over the
    same ground; means use ``Resampling.average`` of the valid cells. Grid cells that no valid
    raster cell reaches are NaN.

    Parameters
    ----------
    raster : Raster
        The cells, in any CRS.
    grid_transform : affine.Affine
        The analysis grid's transform in EPSG:27700 (``Grid.transform``).
    grid_shape : (rows, cols)
        The analysis grid's shape (``Grid.shape``).
    statistic : {"sum", "mean"}, optional
        How cells are combined; default the raster's own ``statistic``.

    Returns
    -------
    (rows, cols) float array
        The raster on the grid; NaN where no valid raster cell reaches.

    Examples
    --------
    >>> from affine import Affine
    >>> from localprofile.demo import demo_grid
    >>> from localprofile.engine.kde import block_mean, fine_grid, kde_raster
    >>> g = demo_grid("Leeds", theme="all_crime")        # the shipped months on 500 m cells
    >>> kde, f = kde_raster(g.grid, g.x, g.y, 1000)      # crimes per km² on 125 m cells
    >>> density = Raster(kde, fine_grid(g.grid, f).transform, "EPSG:27700", statistic="mean")
    >>> on = onto_grid(density, g.grid.transform, g.grid.shape)
    >>> kde.shape, on.shape, bool(np.allclose(on, block_mean(kde, f)))   # the mean of each cell's 4 x 4
    ((240, 288), (60, 72), True)
    >>> crimes = Raster(g.counts, g.grid.transform, "EPSG:27700", statistic="sum")
    >>> km = onto_grid(crimes, g.grid.transform * Affine.scale(2), (30, 36))   # onto 1 km cells
    >>> int(km.sum()), int(g.counts.sum())                # no crime lost or made up
    (36011, 36011)

    >>> r = Raster(np.ones((4, 4)), Affine(100, 0, 0, 0, -100, 400), "EPSG:27700")
    >>> onto_grid(r, Affine(200, 0, 0, 0, -200, 400), (2, 2), "sum").tolist()
    [[4.0, 4.0], [4.0, 4.0]]
    >>> float(onto_grid(r, Affine(50, 0, 0, 0, -50, 400), (8, 8), "sum").sum())  # finer: shared
    16.0
    >>> onto_grid(r, Affine(200, 0, 0, 0, -200, 400), (2, 3), "mean")[:, 2].tolist()  # off the raster
    [nan, nan]
    """
    statistic = statistic or raster.statistic
    _check(statistic)
    rows, cols = grid_shape
    dst = np.full((rows, cols), np.nan)
    t = grid_transform
    xs = np.array([t.c, t.c + t.a * cols + t.b * rows])
    ys = np.array([t.f, t.f + t.d * cols + t.e * rows])
    bounds = (xs.min(), ys.min(), xs.max(), ys.max())
    if not raster.in_bng:
        bounds = transform_bounds(BNG, raster.crs, *bounds, densify_pts=21)
    # Only the raster's cells under the grid (and two more around) go to the warper.
    found = _window(raster, bounds, margin=2)
    if found is None:
        return dst
    values, transform = found
    reproject(
        values, dst, src_transform=transform, src_crs=raster.crs, src_nodata=np.nan,
        dst_transform=grid_transform, dst_crs=BNG, dst_nodata=np.nan,
        resampling=_RESAMPLING[statistic],
    )
    return dst
