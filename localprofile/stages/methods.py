"""Stage 6, plan the methods: the settings every theme's analysis shares - the hotspot threshold
and inference, harm weights, LISA's weights, the change periods, emerging hot spots' time steps,
and the residents behind rate surfaces - each recorded as a choice.

>>> from localprofile.demo import demo_stages
>>> from localprofile.stages.scale import choose_scale
>>> from localprofile.stages.lsoa_base import lsoa_base
>>> cat, i, p = demo_stages("Leeds")            # the shipped data, placed
>>> s = choose_scale(cat.profile, p, {"all_crime": p.located}, cell_size=500, bandwidth=800)
>>> m = plan_methods(cat, p, s, lsoa_base(p.area, i.frame), i.frame)
>>> m.months, m.split, m.steps
(['2016-07', '2017-07'], '2017-07', None)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rasterio.features import rasterize

from ..catalog import Catalog
from ..engine.choices import Choice
from ..engine.kde import block_mean, fine_grid
from ..engine.emerging import ARCGIS_MIN_STEPS, TooFewTimeSteps
from ..engine.lisa import queen_weights
from ..engine.permutation import ADJUST_NAMES
from ..errors import InputError
from ..harm import load_harm_weights
from .lsoa_base import LsoaBase
from .place import PlacedCrimes
from .scale import Scale


@dataclass
class Methods:
    """What every theme's analysis shares, planned once."""

    months: list[str]  # the district's loaded months
    split: str | None  # the first month of the "after" period, or None
    steps: list[str] | None  # emerging hot spots' time steps, or None (not computed)
    harm: np.ndarray | None  # each loaded crime's harm weight, or None (unconfigured)
    lisa_sel: np.ndarray  # district LSOAs entering LISA
    lisa_w: object | None  # their queen weights, or None (too few)
    residents_binned: np.ndarray  # residents on the grid, for rate surfaces
    choices: list[Choice] = field(default_factory=list)


def plan_methods(catalog: Catalog, placed: PlacedCrimes, scale: Scale, base: LsoaBase,
                 frame: dict[str, pd.DataFrame]) -> Methods:
    """Plan the shared settings of the per-theme analysis, recording each choice."""
    settings = catalog.profile
    choices: list[Choice] = []
    tested = scale.hexgrid.in_area if scale.hexgrid is not None else scale.grid.in_area
    choices.append(Choice(
        "hotspot threshold", f"q < {settings.hotspot_q:g} ({ADJUST_NAMES[settings.p_adjust]})",
        f"two-sided Gi* p-values adjusted for {int(tested.sum()):,} tests, one per "
        f"{'hexagon' if scale.hexgrid is not None else 'cell'} inside the district",
    ))
    harm_w = harm_setting(catalog, placed.crimes, choices)
    # LISA on LSOA rates: the LSOAs with a boundary and a population, queen contiguity
    lsoa = base.lsoa
    lisa_sel = (lsoa.geometry.notna() & base.with_pop).to_numpy()
    lisa_w = queen_weights(lsoa.geometry[lisa_sel].to_numpy()) if lisa_sel.sum() >= 3 else None
    choices.append(Choice(
        "LISA", f"Local Moran's I on LSOA rates, {settings.lisa_permutations:,} permutations",
        f"queen contiguity between the {int(lisa_sel.sum())} LSOAs with a boundary and a population "
        f"(row-standardised); clusters where the two-sided pseudo p, adjusted by "
        f"{settings.p_adjust}, is below {settings.hotspot_q:g}" if lisa_w is not None
        else "too few LSOAs with a boundary and a population",
    ))
    choices.append(Choice(
        "Gi* p-values", settings.inference + (f", {settings.permutations:,} permutations" if settings.inference == "permutation" else ""),
        ("two-sided, from the normal distribution of the analytical z" if settings.inference == "analytical"
         else "two-sided pseudo p from conditional randomisation (each cell's neighbours redrawn from the other cells)")
        + f"; adjusted for multiple testing over the district's cells by {settings.p_adjust}",
    ))
    months = sorted(placed.crimes.loc[placed.in_district, "month"].unique().tolist())
    split = change_split(settings.change_from, months, choices)
    gaps = missing_months(months)
    steps = months if len(months) >= ARCGIS_MIN_STEPS and not gaps else None
    if steps:
        why = (f"analytical Gi* per cell per month (q by {ADJUST_NAMES[settings.p_adjust]} over the "
               "district's cells; analytical whatever profile.inference says, since one permutation "
               "test per month and cell would add little to a trend test), Mann-Kendall trend of "
               "each cell's z-scores, ArcGIS's patterns and sfhotspot's classes")
    elif len(months) < ARCGIS_MIN_STEPS:
        why = (str(TooFewTimeSteps("emerging hot spot analysis", len(months), ARCGIS_MIN_STEPS))
               + " (one per loaded month)")
    else:
        why = (f"the loaded months are not consecutive ({len(gaps)} missing between "
               f"{months[0]} and {months[-1]}, first {gaps[0]}): a trend needs equally "
               "spaced time steps; load every month of the period")
    choices.append(Choice(
        "emerging hotspots", f"{len(months)} monthly time steps" if steps else "not computed", why))
    # Residents, for rate surfaces: each LSOA's population spread evenly over its polygon (all
    # loaded LSOAs, so the buffer sees its residents too), per Gi* cell, then smoothed with each
    # theme's kernel like its crimes. (A point per LSOA would leave most cells without residents
    # at the street-scale bandwidths the KDE now uses.) The polygons are burnt in on a raster 4
    # times finer than the grid, by rasterio, so a cell split between LSOAs gets its share.
    pop_all = frame["population"].set_index("lsoa_code")["population"]
    res_b = placed.boundaries[placed.boundaries["lsoa_code"].isin(pop_all.index)]
    density = pop_all.reindex(res_b["lsoa_code"]).to_numpy(float) / res_b.geometry.area.to_numpy()
    fine = fine_grid(scale.grid, 4)
    per_m2 = rasterize(zip(res_b.geometry.to_numpy(), density), out_shape=fine.shape,
                       transform=fine.transform, fill=0.0, dtype="float64")
    residents_binned = block_mean(per_m2, 4) * scale.cell_size**2
    choices.append(Choice(
        "rate surfaces: fewest residents per km²", settings.rate_min_residents_km2,
        "crimes per 1,000 residents are left blank where fewer residents than this live "
        "(each LSOA's residents spread over its polygon, smoothed like the crimes): a rate over "
        "almost no one is noise, not risk",
    ))
    return Methods(months, split, steps, harm_w, lisa_sel, lisa_w, residents_binned, choices)


def missing_months(months: list[str]) -> list[str]:
    """The months missing between the first and the last of ``months`` (sorted ``YYYY-MM``).

    >>> missing_months(["2016-11", "2017-01", "2017-02"])
    ['2016-12']
    """
    if not months:
        return []
    span = np.arange(np.datetime64(months[0], "M"), np.datetime64(months[-1], "M") + 1)
    return sorted(set(span.astype(str).tolist()) - set(months))


def change_split(given: str | None, months: list[str], choices: list[Choice]) -> str | None:
    """The first month of the "after" period compared with the months before it (None: one month)."""
    if given:
        if not any(m < given for m in months) or not any(m >= given for m in months):
            raise InputError(f"change_from {given} leaves no loaded month on one side ({', '.join(months)})",
                             key="profile.change_from")
        choices.append(Choice("change: after period starts", given, "given by the user"))
        return given
    if len(months) < 2:
        choices.append(Choice("change between periods", "not computed", "only one month is loaded"))
        return None
    split = months[len(months) // 2]
    choices.append(Choice(
        "change: after period starts", split,
        f"automatic: the {len(months)} loaded months split into an earlier and a later half; rates "
        "per month compared, with an exact conditional Poisson test",
    ))
    return split


def harm_setting(catalog: Catalog, crimes: pd.DataFrame, choices: list[Choice]) -> np.ndarray | None:
    """Each crime's harm weight when harm weighting is configured (else None); the choice and
    its reason are recorded either way."""
    s = catalog.profile
    harm = load_harm_weights(catalog.base_dir / s.harm_weights if s.harm_weights else None)
    present = sorted(crimes["crime_type"].dropna().unique())
    missing = harm.missing(present)
    if not harm.configured:
        choices.append(Choice(
            "harm weighting", "unconfigured",
            f"{harm.file} gives no weight: no published harm weight (Cambridge Crime Harm Index, "
            "ONS Crime Severity Score) is to hand for police.uk's broad crime types, so volumes are "
            "not harm-weighted rather than weighted by invented numbers",
        ))
        return None
    if missing:
        raise InputError(
            f"no harm weight for {', '.join(missing)}: every crime type in the data needs one",
            file=harm.file,
        )
    choices.append(Choice(
        "harm weighting", f"on, from {harm.file}",
        "; ".join(f"{t}: {harm.weights[t]:g} ({harm.sources[t]})" for t in present),
    ))
    return harm.of(crimes["crime_type"])
