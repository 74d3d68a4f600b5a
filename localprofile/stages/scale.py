"""Stage 4, choose the scale: the cell size, each theme's bandwidth, the grid's buffer, and the
grid (squares, and hexagons when the catalog asks) - the one place ``build`` and ``backtest``
take them from.

>>> from localprofile.demo import demo_stages
>>> cat, i, p = demo_stages("Leeds")            # the shipped data, placed
>>> s = choose_scale(cat.profile, p, {"all_crime": p.located}, cell_size=500, bandwidth=800)
>>> s.cell_size, s.bandwidths, s.buffer, s.grid.shape
(500.0, {'all_crime': 800.0}, 1000.0, (60, 72))
>>> choose_scale(cat.profile, p, {"all_crime": p.located}, cell_size=2)
Traceback (most recent call last):
...
localprofile.errors.InputError: key '--cell-size': a 2 m grid over Leeds ... use a larger cell size
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..engine.checks import EngineInputError, check_positive
from ..engine.choices import Choice
from ..engine.grid import MAX_CELLS, Grid, GridTooLarge, auto_cell_size, make_grid
from ..engine.hexgrid import HexGrid, make_hexgrid
from ..engine.kde import auto_bandwidth, kernel_reach
from ..engine.scale import pisa_cell_size
from ..errors import InputError
from ..study_area import StudyArea, data_coverage
from .place import PlacedCrimes


@dataclass
class Scale:
    """The analysis scale every surface and statistic of a build (or backtest) shares."""

    cell_size: float
    bandwidths: dict[str, float]  # per theme
    buffer: float
    grid: Grid
    hexgrid: HexGrid | None
    choices: list[Choice] = field(default_factory=list)


def check_length(value: float | None, name: str) -> float | None:
    """A length in metres given by the user: None (choose it), or a finite number above 0."""
    if value is None:
        return None
    try:
        return check_positive(value, name)  # the engine's own check, reported as the user's option
    except EngineInputError:
        raise InputError(f"{name} must be a number of metres above 0, not {value!r}", key=name) from None


def choose_cell_size(settings, given: float | None, area: StudyArea, x, y, sel: np.ndarray) -> Choice:
    """The grid's cell size: given, or by the catalog's rule (sfhotspot's, or PISA on ``sel``)."""
    cs = given or settings.cell_size_m
    if cs:
        return Choice("cell size (m)", float(cs), "given by the user")
    if settings.cell_size_rule == "pisa":
        try:
            return pisa_cell_size(x[sel], y[sel], area.polygon)
        except ValueError as exc:  # no significant clustering at any size: say so, use sfhotspot's
            c = auto_cell_size(area.polygon.bounds)
            return Choice(c.what, c.value, f"{exc}; {c.why}")
    return auto_cell_size(area.polygon.bounds)


def choose_scale(settings, placed: PlacedCrimes, masks: dict[str, np.ndarray], *,
                 cell_size: float | None = None, bandwidth: float | None = None,
                 cell_sel: np.ndarray | None = None, hexagons: bool | None = None) -> Scale:
    """Cell size (from the district's located crimes, or ``cell_sel``), a bandwidth per theme of
    ``masks`` (from its located crimes in the district), the buffer and the grid."""
    cell_size = check_length(cell_size, "--cell-size")
    bandwidth = check_length(bandwidth, "--bandwidth")
    area, x, y = placed.area, placed.x, placed.y
    sel = cell_sel if cell_sel is not None else placed.in_district & placed.located
    choices = [choose_cell_size(settings, cell_size, area, x, y, sel)]
    cs = float(choices[-1].value)
    bandwidths: dict[str, float] = {}
    given_bw = bandwidth or settings.bandwidth_m
    for slug, mask in masks.items():
        what = f"bandwidth (m), {slug}"
        if given_bw:
            c = Choice(what, float(given_bw), "given by the user")
        else:
            s = mask & placed.in_district & placed.located
            c = auto_bandwidth(x[s], y[s], cs, what=what, kernel=settings.kernel)
        choices.append(c)
        bandwidths[slug] = float(c.value)

    # the widest reach of any theme's kernel (a Gaussian is cut at 4 standard deviations)
    widest = kernel_reach(max(bandwidths.values()), settings.kernel)
    buffer = math.ceil(max(widest, cs) / cs) * cs
    choices.append(Choice(
        "grid buffer (m)", float(buffer),
        f"the widest kernel reach ({widest:,.0f} m) rounded up to whole cells, so that cells at "
        "the district's edge see every crime within a bandwidth of them; crimes just outside "
        "the district (all loaded crimes) enter the KDE and Gi*",
    ))
    coverage = data_coverage(placed.boundaries, placed.assignment.lsoa_code, area)
    try:
        grid = make_grid(area.polygon, cs, buffer, coverage=coverage)
    except GridTooLarge as exc:
        raise InputError(
            f"a {cs:g} m grid over {area.name} and its {buffer:,.0f} m buffer would have "
            f"{exc.cells:,} cells (at most {MAX_CELLS:,}); use a larger cell size",
            key="--cell-size" if cell_size else "profile.cell_size_m" if settings.cell_size_m else None,
        ) from None
    beyond = int((grid.near & ~grid.active).sum())
    if beyond:
        choices.append(Choice(
            "cells beyond the loaded data", beyond,
            "buffer cells outside every LSOA that has a loaded crime (e.g. across the force "
            "boundary) are left out of Gi*: no data was loaded there, so their zero counts "
            "would be false; the KDE near that edge sees only the loaded crimes",
        ))
    choices.append(Choice(
        "Gi* neighbourhood", "binary queen: the cell and its 8 adjacent cells",
        f"the {int(grid.active.sum()):,} cells whose centre lies within the buffer of the "
        "district and inside the loaded data enter the statistic; neighbours outside that set "
        "are not counted",
    ))
    hexgrid = None
    if hexagons if hexagons is not None else settings.grid_shape == "hexagon":
        hexgrid = make_hexgrid(area.polygon, cs, buffer, coverage=coverage)
        choices.append(Choice(
            "Gi* cells", f"hexagons of {hexgrid.cell_area_km2 * 1e6:,.0f} m² (edge {hexgrid.radius:,.0f} m)",
            "profile.grid_shape: hexagon; the same area as the square cells, each with six equal "
            "neighbours; the KDE is read at their centres from the square grid's surface",
        ))
    return Scale(cs, bandwidths, float(buffer), grid, hexgrid, choices)
