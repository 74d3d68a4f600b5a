"""Stage 8, context layers: point layers (schools, partner data, restricted force layers as the
audience may see them) counted per LSOA and neighbourhood, LSOA tables joined, rasters summed.

>>> from localprofile.demo import demo_stages
>>> from localprofile.stages.audience import audience_policy
>>> from localprofile.stages.scale import choose_scale
>>> from localprofile.stages.lsoa_base import lsoa_base
>>> cat, i, p = demo_stages("Leeds", "partner")   # the shipped data, as partners may read it
>>> pol = audience_policy(cat, "partner")
>>> s = choose_scale(cat.profile, p, {"all_crime": p.located}, cell_size=500, bandwidth=800)
>>> c = context_layers(cat, pol, i, p, lsoa_base(p.area, i.frame), s)
>>> c.layers["ocg_members"].detail, any(k.startswith("context__ocg") for k in c.columns)
('neighbourhood counts', False)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..account import LayerData
from ..catalog import Catalog
from ..context_layers import ContextLayer, Neighbourhoods, neighbourhoods, summarise
from ..engine.choices import Choice
from ..engine.zonal import onto_grid, zonal_by_polygons
from ..errors import InputError
from ..study_area import StudyArea
from ..layers.lsoa_table import join_to_lsoas
from ..loading import Progress
from ..profile import LsoaTableResult, RasterResult
from .audience import AudiencePolicy
from .inputs import Inputs
from .lsoa_base import LsoaBase
from .place import PlacedCrimes
from .scale import Scale


@dataclass
class Context:
    """Context layers, LSOA tables and rasters, and the LSOA columns they add."""

    neighbourhoods: Neighbourhoods
    layers: dict[str, ContextLayer]
    tables: dict[str, LsoaTableResult]
    rasters: dict[str, RasterResult]
    columns: dict[str, np.ndarray]
    choices: list[Choice] = field(default_factory=list)


def context_layers(catalog: Catalog, policy: AudiencePolicy, inputs: Inputs, placed: PlacedCrimes,
                   base: LsoaBase, scale: Scale, progress: Progress | None = None) -> Context:
    """Summarise every loaded point layer, LSOA table and raster for the district."""
    settings, area, loaded = catalog.profile, placed.area, inputs.loaded
    choices: list[Choice] = []
    shared = [n for n in policy.restricted if n in loaded and n in catalog.with_role("points")]
    if policy.audience == "partner" and shared:
        check_neighbourhood_unit(area, inputs.lookup_file)
        check_not_nested(catalog, shared, loaded)
    hoods = neighbourhoods(area)
    if hoods.codes == list(area.lsoas["lsoa_code"]):
        choices.append(Choice("neighbourhoods", "LSOAs", "the lookup has no MSOA columns"))
    layers, columns = {}, {}
    for name in catalog.with_role("points"):
        if name not in loaded:
            continue  # a restricted layer, not read for a public profile
        if progress:
            progress(f"context layer {name}")
        layers[name] = summarise(
            name, catalog.layers[name], loaded[name], area, placed.boundaries,
            set(placed.lookup["lsoa_code"]), hoods, policy.audience, settings.suppress_below,
        )
        if layers[name].lsoa_counts is not None:
            col = f"context__{name}" + ("_synthetic" if layers[name].synthetic else "")
            columns[col] = layers[name].lsoa_counts.to_numpy()
    lsoa = base.lsoa.copy()  # the tables' and rasters' columns go onto a copy, then into columns
    before = set(lsoa.columns)
    tables = {name: join_table(name, catalog.layers[name], loaded[name], lsoa)
              for name in catalog.with_role("lsoa_table") if name in loaded}
    rasters = {name: summarise_raster(name, catalog.layers[name], loaded[name], lsoa, scale.grid)
               for name in catalog.with_role("raster") if name in loaded}
    columns.update({c: lsoa[c].to_numpy() for c in lsoa.columns if c not in before})
    return Context(hoods, layers, tables, rasters, columns, choices)


def check_neighbourhood_unit(area: StudyArea, lookup_file: str) -> None:
    """Partners see restricted layers per neighbourhood (MSOA) only: every district LSOA needs
    one, or the build stops. Falling back to LSOAs would publish counts per LSOA."""
    msoa = area.lsoas["msoa_code"]
    text = msoa.astype(str).str.strip()
    # an "MSOA" that is the LSOA's own code (a mis-mapped column) is no coarser than the LSOA
    own = (text == area.lsoas["lsoa_code"].astype(str)).to_numpy()
    missing = int((msoa.isna() | (text == "") | own).sum())
    if missing:
        raise InputError(
            f"{missing:,} of {area.name}'s {len(msoa):,} LSOAs have no MSOA code in the lookup "
            "(blank, or the LSOA's own code): "
            "partners see restricted layers only as counts per neighbourhood (MSOA), never per "
            "LSOA; use a lookup that gives every LSOA its MSOA (MSOA11CD or MSOA21CD)",
            file=lookup_file,
        )


def check_not_nested(catalog: Catalog, names: list[str], loaded: dict[str, LayerData]) -> None:
    """No two restricted layers shown to partners may be one within the other (the same file,
    or one's record ids all among the other's): the difference of their suppressed
    neighbourhood counts would give the exact small counts suppression hides."""
    files = {n: {p.resolve() for p in catalog.paths(n)} for n in names}
    ids = {}
    for n in names:
        frame = loaded[n].frame
        if "id" in frame.columns and frame["id"].notna().all() and len(frame):
            ids[n] = set(frame["id"].astype(str))
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            same = files[a] & files[b]
            nested = a in ids and b in ids and (ids[a] <= ids[b] or ids[b] <= ids[a])
            if same or nested:
                why = (f"both read {sorted(same)[0].name}" if same
                       else "every record id of one is among the other's")
                raise InputError(
                    f"restricted layers '{a}' and '{b}' overlap ({why}): partners could subtract "
                    "one's suppressed neighbourhood counts from the other's and recover the small "
                    "counts suppression hides; combine them into one layer for partner builds "
                    "(or build for --audience force)",
                    file=catalog.source, key=f"layers.{b}",
                )


def join_table(name: str, spec, data: LayerData, lsoa: pd.DataFrame) -> LsoaTableResult:
    """Join an LSOA-level table's fields onto the district's LSOA frame (columns added)."""
    values, unmatched = join_to_lsoas(data.frame, pd.Index(lsoa["lsoa_code"]))
    columns = {}
    for fld in data.meta["fields"]:
        col = f"table__{name}__{fld}"  # namespaced: a layer name never overwrites a column
        lsoa[col] = values[fld].to_numpy()
        columns[col] = data.meta["labels"].get(fld, fld)
    totals = {c: float(np.nansum(lsoa[c])) for c in columns}
    return LsoaTableResult(name, spec.label or name, columns, totals, unmatched)


def summarise_raster(name: str, spec, data: LayerData, lsoa: gpd.GeoDataFrame, grid) -> RasterResult:
    """A raster's sum or mean per district LSOA (a column added) and on the analysis grid."""
    r = data.meta["raster"]
    per_lsoa = zonal_by_polygons(r, lsoa.geometry)
    col = f"raster__{name}"
    lsoa[col] = per_lsoa
    if r.statistic == "sum":
        value = float(np.nansum(per_lsoa))
    else:  # the mean over the district's cells, not an unweighted mean of LSOA means
        value = float(zonal_by_polygons(r, np.array([shapely.union_all(lsoa.geometry.dropna().to_numpy())]))[0])
    return RasterResult(
        name, spec.label or r.label or name, r.statistic, col, value,
        onto_grid(r, grid.transform, grid.shape), int(np.isnan(per_lsoa).sum()),
    )
