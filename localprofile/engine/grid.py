"""Square analysis grids over a study area plus a buffer, and binning points onto them.

Rows run north to south (row 0 is the northern edge), as in a GeoTIFF. Cell edges are aligned to
multiples of the cell size on the British National Grid, so grids of the same cell size line up
across districts and runs.

>>> import shapely
>>> area = shapely.box(1000, 1000, 3000, 2000)
>>> g = make_grid(area, cell_size=500, buffer=500)
>>> g.shape, int(g.in_area.sum()), int(g.active.sum())
((4, 6), 8, 24)
>>> g.bin([1100, 1200, 2900], [1100, 1900, 1900]).tolist()
[[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely

from .choices import Choice

SFHOTSPOT_CELLS_ON_SHORTER_SIDE = 50
MAX_CELLS = 25_000_000  # about 1 GB of float64 per surface: beyond this, ask for bigger cells


class GridTooLarge(ValueError):
    """The requested grid has more than MAX_CELLS cells."""

    def __init__(self, cells: int) -> None:
        super().__init__(f"{cells:,} cells")
        self.cells = cells

SFHOTSPOT_ROUNDING_M = 100


def auto_cell_size(bounds: tuple[float, float, float, float]) -> Choice:
    """sfhotspot's rule: 1/50 of the shorter side of the area's bounding box, rounded down to a
    multiple of 100 m (or unrounded when that would be zero).

    >>> auto_cell_size((0, 0, 40_000, 26_000)).value
    500.0
    """
    minx, miny, maxx, maxy = bounds
    side = min(maxx - minx, maxy - miny)
    raw = side / SFHOTSPOT_CELLS_ON_SHORTER_SIDE
    rounded = math.floor(raw / SFHOTSPOT_ROUNDING_M) * SFHOTSPOT_ROUNDING_M
    value = float(rounded) if rounded > 0 else float(raw)
    return Choice(
        "cell size (m)",
        value,
        f"automatic, sfhotspot's rule: the district's bounding box is {side / 1000:.1f} km on its "
        f"shorter side; 1/{SFHOTSPOT_CELLS_ON_SHORTER_SIDE} of that is {raw:.0f} m, rounded down "
        f"to a multiple of {SFHOTSPOT_ROUNDING_M} m. Re-examined by backtest: finer cells raise "
        "every method's PAI (a 5% selection of smaller cells is a tighter area: the automatic KDE "
        "scores 8.00 on 500 m and 8.86 on 250 m cells, benchmarks/bench_bandwidth.py), which does "
        "not make them the right Gi* unit; the KDE has its own finer "
        "raster and repeat locations are map points, so the cells stay at this scale",
    )


@dataclass(frozen=True)
class Grid:
    """A square grid: ``x0``/``y1`` are the west and north edges; arrays are (rows, cols)."""

    x0: float
    y1: float
    cell_size: float
    nx: int
    ny: int
    buffer: float
    active: np.ndarray  # cells that enter the analysis: `near`, and inside the data's coverage
    in_area: np.ndarray  # cells whose centre lies inside the study area
    near: np.ndarray  # cells whose centre lies within `buffer` of the study area

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def cell_area_km2(self) -> float:
        return self.cell_size**2 / 1e6

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(west, south, east, north) edges in metres."""
        return (self.x0, self.y1 - self.ny * self.cell_size, self.x0 + self.nx * self.cell_size, self.y1)

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell-centre eastings and northings, each of shape (rows, cols)."""
        return _centres(self.x0, self.y1, self.cell_size, self.nx, self.ny)

    def cell_index(self, x, y) -> np.ndarray:
        """The row-major (flat) index of the cell holding each point; -1 off the grid."""
        x, y = np.asarray(x, float), np.asarray(y, float)
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / self.cell_size)
            row = np.floor((self.y1 - y) / self.cell_size)
        ok = (col >= 0) & (col < self.nx) & (row >= 0) & (row < self.ny)
        flat = np.full(ok.shape, -1, dtype=np.int64)
        flat[ok] = row[ok].astype(np.int64) * self.nx + col[ok].astype(np.int64)
        return flat

    def bin(self, x, y, weights=None) -> np.ndarray:
        """Count points (or sum ``weights``) per cell; points off the grid are ignored."""
        flat = self.cell_index(x, y)
        ok = flat >= 0
        w = None if weights is None else np.asarray(weights, float)[ok]
        return np.bincount(flat[ok], weights=w, minlength=self.nx * self.ny).reshape(self.shape).astype(float)

    def linear_bin(self, x, y, weights=None) -> np.ndarray:
        """Linear binning (Wand 1994): each point's unit weight is shared among the four nearest
        cell centres in proportion to its closeness, which makes a binned KDE far more accurate
        than simple binning at the same cell size. Points whose weight would land off the grid
        lose that share. ``weights`` (e.g. harm weights) scale each point's mass.

        >>> g = make_grid(shapely.box(0, 0, 200, 100), cell_size=100, buffer=0)
        >>> g.linear_bin([100], [50]).tolist()   # on the edge between two cell centres
        [[0.5, 0.5]]
        """
        return linear_bin(self.x0, self.y1, self.cell_size, self.shape, x, y, weights)

    def cells(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Cell polygons (shapely boxes), row-major, for the cells in ``mask`` (default: all)."""
        xc, yc = self.centres()
        if mask is not None:
            xc, yc = xc[mask], yc[mask]
        h = self.cell_size / 2
        return shapely.box(xc - h, yc - h, xc + h, yc + h)

    @property
    def transform(self):
        """The affine transform of this grid for rasterio."""
        from affine import Affine

        return Affine(self.cell_size, 0.0, self.x0, 0.0, -self.cell_size, self.y1)


def linear_bin(x0: float, y1: float, cell_size: float, shape: tuple[int, int], x, y,
               weights=None) -> np.ndarray:
    """:meth:`Grid.linear_bin` on a grid given by its north-west corner, cell size and
    (rows, cols) shape (a KDE raster needs no masks): the four shares of every point summed by
    one ``np.bincount``."""
    ny, nx = shape
    fx = (np.asarray(x, float) - x0) / cell_size - 0.5  # 0 at the first centre
    fy = (y1 - np.asarray(y, float)) / cell_size - 0.5
    c0, r0 = np.floor(fx), np.floor(fy)
    tx, ty = fx - c0, fy - r0
    c0, r0 = c0.astype(np.int64), r0.astype(np.int64)
    sx, sy = 1 - tx, 1 - ty
    if weights is not None:
        mass = np.asarray(weights, float)
        sy, ty = sy * mass, ty * mass
    share = np.concatenate([sx * sy, tx * sy, sx * ty, tx * ty])
    col = np.concatenate([c0, c0 + 1, c0, c0 + 1])
    row = np.concatenate([r0, r0, r0 + 1, r0 + 1])
    ok = (col >= 0) & (col < nx) & (row >= 0) & (row < ny)
    return np.bincount((row * nx + col)[ok], weights=share[ok], minlength=nx * ny).reshape(shape)


def _centres(x0: float, y1: float, cell_size: float, nx: int, ny: int):
    xs = x0 + (np.arange(nx) + 0.5) * cell_size
    ys = y1 - (np.arange(ny) + 0.5) * cell_size
    return np.meshgrid(xs, ys)


def membership(area, xc, yc, buffer: float, coverage=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which cells (by centre) are active, in the area, and near it: shared by square and
    hexagonal grids (see :func:`make_grid`)."""
    shapely.prepare(area)
    in_area = shapely.contains_xy(area, xc, yc)
    near = in_area | shapely.dwithin(area, shapely.points(xc, yc), buffer)
    active = near
    if coverage is not None:
        shapely.prepare(coverage)
        active = near & (in_area | shapely.contains_xy(coverage, xc, yc))
    return active, in_area, near


def make_grid(
    area: shapely.Geometry,
    cell_size: float,
    buffer: float,
    coverage: shapely.Geometry | None = None,
) -> Grid:
    """A grid over ``area``'s bounding box plus ``buffer`` metres on every side.

    ``active`` marks the cells that enter the hotspot statistics: those whose centre lies within
    ``buffer`` of the area (so edge cells see their neighbours just outside the district) and,
    when ``coverage`` is given, inside it (where data was loaded), or inside the area itself.
    """
    if cell_size <= 0:
        raise ValueError("cell size must be positive")
    minx, miny, maxx, maxy = area.bounds
    x0 = math.floor((minx - buffer) / cell_size) * cell_size
    y0 = math.floor((miny - buffer) / cell_size) * cell_size
    x1 = math.ceil((maxx + buffer) / cell_size) * cell_size
    y1 = math.ceil((maxy + buffer) / cell_size) * cell_size
    nx, ny = round((x1 - x0) / cell_size), round((y1 - y0) / cell_size)
    if nx * ny > MAX_CELLS:
        raise GridTooLarge(nx * ny)
    xc, yc = _centres(x0, y1, cell_size, nx, ny)
    active, in_area, near = membership(area, xc, yc, buffer, coverage)
    return Grid(float(x0), float(y1), float(cell_size), nx, ny, float(buffer), active, in_area, near)
