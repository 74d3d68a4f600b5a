"""The national picture: every police.uk street-level file the catalog's ``crimes`` layer names
(one force or all 43, any number of months) on one grid over the catalog's LSOAs — crimes per
cell, Gi* hot and cold spots, KDE, and crimes per LSOA with the rate per 1,000 residents.

What a ROCU or the NCA runs before the district profiles: it reads only open data (police.uk and
the LSOA layers), never a restricted layer, so its outputs (:mod:`localprofile.render.national`)
are public. The crimes are read in partitions (:func:`localprofile.national_files.read_street_points`:
one Dask task per file, on a Dask cluster where one is given), so a national year fits in a few
hundred megabytes before the grid work.

>>> from localprofile.demo import demo_catalog_path
>>> nat = build_national(demo_catalog_path())                 # West Yorkshire's 1,388 LSOAs
>>> nat.points.read == len(nat.points.x) + sum(nat.points.dropped.values())
True
>>> len(nat.points.x) - int(nat.run.counts.sum()), len(nat.lsoas)   # 17 crimes placed beyond the grid
(17, 1388)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .catalog import Catalog, load_catalog
from .engine.choices import Choice
from .errors import InputError
from .national import NationalRun, national_run
from .national_files import StreetPoints, read_street_points

CRIMES_LAYER = "crimes"


@dataclass(frozen=True)
class NationalResult:
    """:func:`build_national`'s results: the LSOAs (``code``, ``name``, ``residents``, geometry),
    the crimes read (:class:`StreetPoints`), the grid work (:class:`NationalRun`), the catalog's
    title and attributions, and the choices made."""

    lsoas: object
    points: StreetPoints
    run: NationalRun
    title: str
    attributions: tuple[str, ...]
    choices: tuple[Choice, ...]


POPULATION_ADAPTERS = ("census2011_population", "census2021_population")


def _layer_of(catalog: Catalog, *adapters: str, required: bool = True) -> str | None:
    """The catalog's first layer read by one of ``adapters``; an InputError where there is none
    and one is ``required``."""
    names = [n for n, spec in catalog.layers.items() if spec.adapter in adapters]
    if not names and required:
        raise InputError(f"the catalog has no layer read by the {' or '.join(adapters)} adapter, which the "
                         "national run needs", key="layers")
    return names[0] if names else None


def national_lsoas(catalog: Catalog):
    """The catalog's LSOA polygons (its ``lsoa_boundaries`` layer) with their residents (its
    census population layer, 2011 or 2021; NaN where it has none), sorted by code."""
    import geopandas as gpd

    from . import layers

    name = _layer_of(catalog, "lsoa_boundaries")
    b = layers.lsoa_boundaries.load(catalog.paths(name), catalog.layers[name]).frame
    residents = np.full(len(b), np.nan)
    census = _layer_of(catalog, *POPULATION_ADAPTERS, required=False)
    if census is not None:
        spec = catalog.layers[census]
        pop = getattr(layers, spec.adapter).load(catalog.paths(census), spec).frame
        residents = b["lsoa_code"].map(pop.set_index("lsoa_code")["population"]).to_numpy(float)
    out = gpd.GeoDataFrame({"code": b["lsoa_code"].to_numpy(), "name": b["lsoa_name"].to_numpy(),
                            "residents": residents}, geometry=b.geometry.to_numpy(), crs=27700)
    return out.sort_values("code", kind="stable").reset_index(drop=True)


def build_national(catalog: Catalog | str | Path, *, cell_size: float = 250.0, bandwidth: float | None = None,
                   hotspot_q: float = 0.05, scheduler: str | None = "threads") -> NationalResult:
    """Read the catalog's street-level crimes and LSOAs and run the national grid work on them
    (:func:`localprofile.national.national_run`): ``cell_size`` metres, KDE ``bandwidth`` (None:
    the engine's automatic rule, from the crimes' map points), hot and cold cells where the
    Benjamini-Hochberg q is below ``hotspot_q``. ``scheduler``: Dask's, for reading the files
    (None: the active Dask client's cluster)."""
    if not isinstance(catalog, Catalog):
        catalog = load_catalog(catalog)
    if CRIMES_LAYER not in catalog.layers or catalog.layers[CRIMES_LAYER].adapter != "police_uk_street":
        raise InputError("the national run reads the police.uk street-level files of the catalog's "
                         f"'{CRIMES_LAYER}' layer (adapter police_uk_street)", key=CRIMES_LAYER)
    used = (CRIMES_LAYER, _layer_of(catalog, "lsoa_boundaries"), _layer_of(catalog, *POPULATION_ADAPTERS, required=False))
    for name in used:
        if name is not None and catalog.layers[name].sensitivity != "open":
            raise InputError(f"layer '{name}' is {catalog.layers[name].sensitivity}: the national run's outputs are "
                             "public, so it reads open layers only", file=catalog.source, key=name)
    lsoas = national_lsoas(catalog)
    points = read_street_points(catalog.paths(CRIMES_LAYER), scheduler=scheduler)
    if not len(points.x):
        raise InputError("no crime has coordinates", key=CRIMES_LAYER)
    run = national_run(points.x, points.y, lsoas, cell_size=cell_size, bandwidth=bandwidth, hotspot_q=hotspot_q)
    choices = (
        Choice("cell size (m)", float(cell_size), "given" if cell_size != 250.0 else
               "250 m, the national benchmark's cell: fine enough for a town centre, 7 million cells "
               "over England and Wales"),
        run.bandwidth,
        Choice("hot and cold cells", f"Gi* q < {hotspot_q:g}",
               "Benjamini-Hochberg adjusted over the cells whose centre lies in an LSOA"),
    )
    attributions = tuple(dict.fromkeys(s.attribution for n, s in catalog.layers.items() if n in used and s.attribution))
    return NationalResult(lsoas, points, run, catalog.profile.title, attributions, choices)
