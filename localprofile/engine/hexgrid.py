"""Hexagonal grids: pointy-top hexagons in offset rows (odd rows shifted half a hexagon east).

A hexagon has six neighbours, all sharing an edge and all at the same distance, which square
cells (four edge and four corner neighbours) do not; analysts often prefer them for hot spot
maps. Hexagons are sized to the same area as the square cell they replace. Rows run north to
south; in row ``r``, column ``c`` the centre is at ``x0 + w * (c + 0.5 * (r % 2))``,
``y1 - 1.5 * R * r`` (``R`` the circumradius, ``w = sqrt(3) R``).

Points are assigned to hexagons by cube-coordinate rounding (Red Blob Games' hexagon guide, the
standard method; written here because no maintained library in the project's stack bins points
to a planar hexagon grid). Neighbour sums are six shifted array slices, so Gi* stays vectorised.

>>> import shapely
>>> h = make_hexgrid(shapely.box(0, 0, 2000, 2000), cell_size=250, buffer=0)
>>> round(h.radius, 1), h.shape
(155.1, (10, 9))
>>> counts = h.bin([1000.0], [1000.0])
>>> int(counts.sum()), int(neighbour_sum(counts, np.ones(h.shape, bool)).sum())
(1, 7)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage

from .checks import check_counts, check_mask
from .gistar import gi_star_from_sums
from .grid import membership

SQRT3 = math.sqrt(3.0)


@dataclass(frozen=True)
class HexGrid:
    x0: float  # x of column 0's centre, even rows
    y1: float  # y of row 0's centre
    radius: float  # circumradius R (= edge length)
    nx: int
    ny: int
    active: np.ndarray
    in_area: np.ndarray

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def width(self) -> float:
        return SQRT3 * self.radius

    @property
    def cell_area_km2(self) -> float:
        return 1.5 * SQRT3 * self.radius**2 / 1e6

    def centres(self) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = np.mgrid[0 : self.ny, 0 : self.nx]
        return self.x0 + self.width * (cols + 0.5 * (rows % 2)), self.y1 - 1.5 * self.radius * rows

    def cell_index(self, x, y) -> np.ndarray:
        """The row-major (flat) index of the hexagon holding each point; -1 off the grid."""
        row, col = self.locate(x, y)
        ok = (row >= 0) & (row < self.ny) & (col >= 0) & (col < self.nx)
        return np.where(ok, row * self.nx + col, -1)

    def bin(self, x, y, weights=None) -> np.ndarray:
        """Count points (or sum ``weights``) per hexagon; points off the grid are ignored."""
        flat = self.cell_index(x, y)
        ok = flat >= 0
        w = None if weights is None else np.asarray(weights, float)[ok]
        return np.bincount(flat[ok], weights=w, minlength=self.nx * self.ny).reshape(self.shape).astype(float)

    def locate(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """(row, col) of the hexagon holding each point (cube rounding)."""
        px = (np.asarray(x, float) - self.x0) / self.radius
        py = (self.y1 - np.asarray(y, float)) / self.radius  # y grows southwards, as rows do
        q = SQRT3 / 3 * px - py / 3
        r = 2 / 3 * py
        cx, cz = q, r
        cy = -cx - cz
        rx, ry, rz = np.round(cx), np.round(cy), np.round(cz)
        dx, dy, dz = np.abs(rx - cx), np.abs(ry - cy), np.abs(rz - cz)
        fix_x = (dx > dy) & (dx > dz)
        fix_y = ~fix_x & (dy > dz)
        rx = np.where(fix_x, -ry - rz, rx)
        rz = np.where(~fix_x & ~fix_y, -rx - ry, rz)
        row = rz.astype(np.int64)
        col = (rx + (rz - (row & 1)) / 2).astype(np.int64)  # axial -> odd-r offset
        return row, col

    def cells(self, mask: np.ndarray | None = None) -> np.ndarray:
        """Hexagon polygons, row-major, for the cells in ``mask`` (default: all)."""
        xc, yc = self.centres()
        if mask is not None:
            xc, yc = xc[mask], yc[mask]
        ang = np.deg2rad(np.arange(6) * 60 + 30)  # pointy top: vertices at 30, 90, ... degrees
        xs = xc.ravel()[:, None] + self.radius * np.cos(ang)[None, :]
        ys = yc.ravel()[:, None] + self.radius * np.sin(ang)[None, :]
        return shapely.polygons(np.stack([xs, ys], axis=-1))


def make_hexgrid(area: shapely.Geometry, cell_size: float, buffer: float,
                 coverage: shapely.Geometry | None = None) -> HexGrid:
    """Hexagons of the same area as ``cell_size`` squares over ``area`` plus ``buffer``;
    ``active`` and ``in_area`` as for :func:`localprofile.engine.grid.make_grid`."""
    radius = cell_size / math.sqrt(1.5 * SQRT3)
    w, h = SQRT3 * radius, 1.5 * radius
    minx, miny, maxx, maxy = area.bounds
    x0 = math.floor((minx - buffer) / w) * w
    y1 = math.ceil((maxy + buffer) / h) * h
    nx = int(math.ceil((maxx + buffer - x0) / w)) + 1
    ny = int(math.ceil((y1 - (miny - buffer)) / h)) + 1
    g = HexGrid(float(x0), float(y1), float(radius), nx, ny, np.ones((ny, nx), bool), np.ones((ny, nx), bool))
    xc, yc = g.centres()
    active, in_area, _ = membership(area, xc, yc, buffer, coverage)
    return HexGrid(g.x0, g.y1, g.radius, nx, ny, active, in_area)


def neighbour_sum(values: np.ndarray, active: np.ndarray, include_self: bool = True) -> np.ndarray:
    """Sum over each hexagon's six neighbours (and itself) of the active cells' values."""
    v = np.where(active, values, 0.0).astype(float)
    p = np.pad(v, 1)
    ny, nx = v.shape
    c = p[1:-1, 1:-1]
    out = (c if include_self else 0) + p[1:-1, :-2] + p[1:-1, 2:]
    odd = (np.arange(ny) % 2 == 1)[:, None]
    up, down = p[:-2, :], p[2:, :]
    # even rows touch the row above/below at columns c-1 and c; odd rows at c and c+1
    out = out + np.where(odd, up[:, 1:-1] + up[:, 2:], up[:, :-2] + up[:, 1:-1])
    out = out + np.where(odd, down[:, 1:-1] + down[:, 2:], down[:, :-2] + down[:, 1:-1])
    return out


def gi_star_hex(counts: np.ndarray, active: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gi* on hexagons: the cell and its six neighbours, binary weights.

    Parameters
    ----------
    counts : (rows, cols) array of non-negative numbers
        Crimes per hexagon (:meth:`HexGrid.bin`); finite inside ``active``.
    active : (rows, cols) bool array
        Hexagons that enter the statistic.

    Returns
    -------
    z, p : (rows, cols) float arrays
        As :func:`localprofile.engine.gistar.gi_star`: z-scores and two-sided p, NaN outside
        ``active``.

    Examples
    --------
    >>> from localprofile.demo import demo_grid
    >>> g = demo_grid("Leeds", theme="drugs")
    >>> h = make_hexgrid(g.polygon, 500, 1000)
    >>> z, p = gi_star_hex(h.bin(g.x, g.y), h.active)
    >>> int((p[h.in_area] < 0.001).sum())
    44
    """
    active = check_mask(active, np.shape(counts), "active")
    counts = check_counts(counts, "counts", where=active, ndim=2)
    y = np.where(active, counts, 0.0).astype(float)
    return gi_star_from_sums(y, active, neighbour_sum(y, active), neighbour_sum(np.ones_like(y), active))


def sample_surface(surface: np.ndarray, transform, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Bilinear values of a square-grid surface (its affine ``transform``) at points ``x, y``:
    the KDE, a continuous surface, read at hexagon centres."""
    col = (np.asarray(x) - transform.c) / transform.a - 0.5
    row = (np.asarray(y) - transform.f) / transform.e - 0.5
    return ndimage.map_coordinates(surface, [row.ravel(), col.ravel()], order=1, mode="nearest").reshape(np.shape(x))
