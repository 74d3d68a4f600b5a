"""Where the shipped demo lives: the repository's ``data_catalog.yaml`` and ``data/``.

>>> demo_catalog_path().name
'data_catalog.yaml'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .engine.grid import Grid
from .errors import InputError

DEMO_DISTRICT = "Leeds"
DEMO_BRIEFINGS = ("force", "partner")  # the audiences whose demo folders hold briefing sheets


def demo_catalog_path() -> Path:
    """The demo catalog: in the current folder, else next to this source checkout."""
    here = Path(__file__).resolve().parent.parent / "data_catalog.yaml"
    for candidate in (Path.cwd() / "data_catalog.yaml", here):
        if candidate.is_file() and (candidate.parent / "data").is_dir():
            return candidate
    raise InputError(
        "the demo catalog ships with the source repository; run from a clone of localprofile "
        "or use `localprofile build --catalog FILE`",
        file="data_catalog.yaml",
    )


@functools.lru_cache(maxsize=8)
def demo_stages(district: str = DEMO_DISTRICT, audience: str = "public", core_only: bool = False):
    """The shipped demo through the first build stages, for runnable examples (cached):
    ``(catalog, inputs, placed)`` for ``district`` as ``audience`` sees it; ``core_only`` reads
    only the layers every profile needs (crimes, boundaries, lookup, tables).

    >>> catalog, inputs, placed = demo_stages("Leeds")
    >>> placed.area.code, int(placed.in_district.sum())
    ('E08000035', 18914)
    """
    from .catalog import load_catalog
    from .stages.audience import audience_policy
    from .stages.inputs import load_inputs
    from .stages.place import place_crimes

    catalog = load_catalog(demo_catalog_path())
    roles = catalog.roles()
    needed = set(roles.values()) | set(catalog.with_role("lsoa_vintage_lookup"))
    skip = set(catalog.layers) - needed if core_only else set()
    inputs = load_inputs(catalog, audience_policy(catalog, audience), skip=skip)
    placed = place_crimes(catalog, roles, inputs.loaded, district, inputs.lookup_file)
    return catalog, inputs, placed


@functools.lru_cache(maxsize=4)
def demo_overlay(district: str = DEMO_DISTRICT, audience: str = "public"):
    """The priority neighbourhoods of ``district`` as ``audience`` sees them, from a build of the
    shipped demo (cached).

    >>> o = demo_overlay("Leeds", "force")
    >>> o.unit, len(o.table)
    ('LSOA', 482)
    """
    from .build import build_profile

    return build_profile(demo_catalog_path(), district, audience=audience).overlay


@functools.lru_cache(maxsize=4)
def demo_briefing_units(district: str = DEMO_DISTRICT, audience: str = "partner"):
    """The briefing sheets' units of ``district`` as ``audience`` sees them, from a build of the
    shipped demo (cached).

    >>> b = demo_briefing_units("Leeds", "force")
    >>> b.unit, len(b.codes), len(b.restricted.columns)
    ('MSOA', 107, 4)
    """
    from .build import build_profile

    return build_profile(demo_catalog_path(), district, audience=audience).briefing


@dataclass(frozen=True)
class DemoGrid:
    """A theme's located crimes in a district of the shipped data, on the profile's grid: for
    the engine's runnable examples (see :func:`demo_grid`)."""

    district: str
    theme: str
    grid: Grid
    x: np.ndarray  # eastings of the theme's located crimes (all loaded months, all districts)
    y: np.ndarray
    months: np.ndarray  # their months, YYYY-MM
    polygon: object  # the district (shapely, EPSG:27700)

    @property
    def counts(self) -> np.ndarray:
        """Crimes per cell."""
        return self.grid.bin(self.x, self.y)

    @property
    def active(self) -> np.ndarray:
        """The cells that enter Gi* (near the district, inside the loaded data)."""
        return self.grid.active


@functools.lru_cache(maxsize=8)
def demo_grid(district: str = DEMO_DISTRICT, theme: str = "all_crime", cell_size: float = 500) -> DemoGrid:
    """The shipped data's ``theme`` crimes on a ``cell_size`` grid over ``district`` (cached).

    >>> g = demo_grid("Leeds", theme="drugs")
    >>> g.grid.shape, int(g.counts[g.grid.in_area].sum())
    ((60, 72), 339)
    """
    from .stages.scale import choose_scale
    from .themes import resolve_themes

    catalog, _, placed = demo_stages(district, "force", core_only=True)
    mask = resolve_themes(catalog.themes, catalog.source)[theme].mask(placed.crimes["crime_type"]) & placed.located
    scale = choose_scale(catalog.profile, placed, {theme: mask}, cell_size=cell_size, bandwidth=1000,
                         hexagons=False)
    return DemoGrid(placed.area.name, theme, scale.grid, placed.x[mask], placed.y[mask],
                    placed.crimes["month"].to_numpy(dtype=str)[mask], placed.area.polygon)


@functools.lru_cache(maxsize=4)
def demo_lsoa_rates(district: str = DEMO_DISTRICT, theme: str = "all_crime") -> tuple[np.ndarray, np.ndarray]:
    """The district's LSOA polygons (with a population) and ``theme``'s crimes per 1,000
    residents there, from the shipped data: for the engine's runnable examples.

    >>> polygons, rates = demo_lsoa_rates("Leeds", "drugs")
    >>> len(polygons) == len(rates) == 482
    True
    """
    from .engine.aggregate import count_by_lsoa, rate_per_1000
    from .themes import resolve_themes

    catalog, inputs, placed = demo_stages(district, "force", core_only=True)
    base, keep = _demo_lsoa_base(district)
    mask = resolve_themes(catalog.themes, catalog.source)[theme].mask(placed.crimes["crime_type"])
    sel = mask & placed.in_district
    counts = count_by_lsoa(placed.assignment.lsoa_code[sel], base.index)
    rates = rate_per_1000(counts, base.population).to_numpy(float)
    return base.lsoa.geometry.to_numpy()[keep], rates[keep]


def demo_lsoa_values(district: str = DEMO_DISTRICT, column: str = "imd_rank") -> np.ndarray:
    """A column of the district's LSOA base from the shipped data (``imd_rank``: the IMD 2019
    rank, 1 the most deprived LSOA in England; ``imd_decile``; ``population``), for the LSOAs
    :func:`demo_lsoa_rates` returns and in its order: for the engine's runnable examples.

    >>> rank = demo_lsoa_values("Leeds", "imd_rank")
    >>> len(rank), int(rank.min()), int(rank.max())
    (482, 38, 32664)
    """
    base, keep = _demo_lsoa_base(district)
    return base.lsoa[column].to_numpy(float)[keep]


def _demo_lsoa_base(district: str):
    """The district's LSOA base and which of its LSOAs have a population and a polygon."""
    from .stages.lsoa_base import lsoa_base

    _, inputs, placed = demo_stages(district, "force", core_only=True)
    base = lsoa_base(placed.area, inputs.frame)
    return base, base.with_pop & base.lsoa.geometry.notna().to_numpy()
