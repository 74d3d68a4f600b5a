"""Build a district profile: catalog -> layer adapters -> study area -> engine -> Profile.

>>> from localprofile.demo import demo_catalog_path
>>> p = build_profile(demo_catalog_path(), "leeds", audience="partner")
>>> p.district.code, p.period, p.themes["all_crime"].crimes, p.marking
('E08000035', ('2016-07', '2017-07'), 18914, 'OFFICIAL-SENSITIVE')
>>> p.context["ocg_members"].detail, p.context["ocg_members"].points is None
('neighbourhood counts', True)
>>> all(c.why for c in p.choices)
True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import __version__
from .catalog import AUDIENCES, Catalog, load_catalog
from .context_layers import WithheldAccount, neighbourhoods, summarise
from .errors import InputError
from .engine.aggregate import (
    count_by_lsoa,
    decile_counts,
    deprivation_shares,
    rate_per_1000,
    top_locations,
)
from .engine.choices import Choice
from .engine.gistar import classify, gi_star
from .engine.lisa import local_moran, queen_weights
from .engine.permutation import ADJUST_NAMES, adjust_p, gi_star_permutation
from .engine.hexgrid import gi_star_hex, make_hexgrid, sample_surface
from .engine.hexgrid import neighbour_sum as hex_neighbour_sum
from .engine.grid import MAX_CELLS, GridTooLarge, auto_cell_size, make_grid
from .engine.kde import auto_bandwidth, kernel_reach, quartic_kde
from .account import LayerData
from .loading import Progress, load_layers, relative
from .engine.backtest import backtest
from .engine.dual import dual_surface
from .engine.emerging import ARCGIS_MIN_STEPS, TooFewTimeSteps, emerging_hotspots, sfhotspot_classify
from .engine.trend import change
from .engine.repeat_locations import repeat_locations
from .engine.scale import pisa_cell_size
from .engine.zonal import onto_grid, zonal_by_polygons
from .layers import ADAPTERS
from .layers.lsoa_table import join_to_lsoas
from .harm import load_harm_weights
from .profile import DualResult, HarmResult, HexResult, LayerSummary, LsoaTableResult, Profile, RasterResult, ThemeResult
from .study_area import Assignment, StudyArea, assign_to_lsoas, data_coverage, select_district
from .themes import resolve_themes
from .vintage import convert_codes, month_vintages

def layer_summaries(catalog: Catalog, loaded: dict[str, LayerData]) -> dict[str, LayerSummary]:
    """How the profile reports each loaded layer: catalog entry, files, record account."""
    return {
        name: LayerSummary(
            name,
            catalog.layers[name],
            [relative(p, catalog.base_dir) for p in catalog.paths(name)],
            data.account,
            # what the profile reports of it: plain facts (the raster array stays in LayerData)
            {k: v for k, v in data.meta.items() if isinstance(v, (str, int, float, list, dict))},
        )
        for name, data in loaded.items()
    }


def check_audience(catalog: Catalog, audience: str | None, restricted: list[str], core: set[str]) -> None:
    """An audience must be named when restricted layers exist, and must be a known one; the core
    layers (crimes, boundaries ...) feed every output, so only force outputs may use restricted ones."""
    if audience is not None and audience not in AUDIENCES:
        raise InputError(f"unknown audience '{audience}' (choose {', '.join(AUDIENCES)})", key="audience")
    if restricted and audience is None:
        raise InputError(
            f"the catalog holds restricted layers ({', '.join(restricted)}): say who the profile "
            "is for with --audience force, partner or public",
            file=catalog.source,
        )
    core_restricted = sorted(core & set(restricted))
    if core_restricted and audience != "force":
        raise InputError(
            f"layer '{core_restricted[0]}' is restricted and feeds every part of the profile: "
            "it can only be built for --audience force",
            file=catalog.source,
            key=f"layers.{core_restricted[0]}.sensitivity",
        )


def reconcile_vintages(
    catalog: Catalog,
    roles: dict[str, str],
    loaded: dict[str, LayerData],
    crimes: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    choices: list[Choice],
) -> gpd.GeoDataFrame:
    """Put every LSOA code on the boundaries' vintage (2011 or 2021), or stop naming both.

    Deprivation and population tables must already be on it (ranks and counts do not convert);
    crimes are converted month by month with the ONS 2011 to 2021 lookup when one is given."""
    geo = loaded[roles["boundaries"]].meta["vintage"]
    for role in ("deprivation", "population"):
        v = loaded[roles[role]].meta.get("vintage")
        if v and v != geo:
            raise InputError(
                f"layer '{roles[role]}' is on LSOA {v} codes but the boundaries "
                f"('{roles['boundaries']}') are LSOA {geo}: use tables and boundaries of one vintage",
                file=catalog.source, key=f"layers.{roles[role]}",
            )
    by_month = month_vintages(crimes["month"], crimes["lsoa_code"])
    other = sorted(m for m, v in by_month.items() if v != geo)
    if not other:
        return crimes
    names = [n for n in catalog.with_role("lsoa_vintage_lookup") if n in loaded]
    theirs = "2021" if geo == "2011" else "2011"
    ours = sorted(m for m, v in by_month.items() if v == geo)
    if not names:
        raise InputError(
            f"crimes carry LSOA {theirs} codes ({_months(other)})"
            + (f" as well as LSOA {geo} codes ({_months(ours)})" if ours else "")
            + f" and the boundaries are LSOA {geo}: add the ONS LSOA 2011 to 2021 lookup "
            "(adapter lsoa11_lsoa21_lookup, open: every audience's profile uses it) to profile "
            "them on one geography",
            file=catalog.source, key=f"layers.{roles['crimes']}",
        )
    lookup = pd.concat([loaded[n].frame for n in names], ignore_index=True)
    convert = crimes["month"].isin(other).to_numpy()
    conv = convert_codes(crimes["lsoa_code"], convert, geo, lookup, crimes.geometry.to_numpy(), boundaries)
    detail = "; ".join(f"{k}: {v:,}" for k, v in conv.account.items() if v)
    choices.append(Choice(
        "LSOA codes converted",
        f"{int(convert.sum()):,} crimes of {_months(other)} from LSOA {theirs} to {geo}",
        f"the boundaries are LSOA {geo}; converted with the ONS lookup ({', '.join(names)}): {detail}",
    ))
    return crimes.assign(lsoa_code=conv.codes)


def join_table(name: str, spec, data: LayerData, lsoa: pd.DataFrame) -> LsoaTableResult:
    """Join an LSOA-level table's fields onto the district's LSOA frame (columns added)."""
    values, unmatched = join_to_lsoas(data.frame, pd.Index(lsoa["lsoa_code"]))
    columns = {}
    for field in data.meta["fields"]:
        col = f"table__{name}__{field}"  # namespaced: a layer name never overwrites a column
        lsoa[col] = values[field].to_numpy()
        columns[col] = data.meta["labels"].get(field, field)
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


def monthly_by_lsoa(crimes, codes: pd.Series, in_district: np.ndarray, masks: dict) -> pd.DataFrame:
    """Crimes per district LSOA, theme and month, in long form (months and LSOAs with crimes)."""
    parts = []
    for slug, mask in masks.items():
        sel = mask & in_district
        counts = pd.DataFrame({"lsoa_code": codes[sel].to_numpy(), "month": crimes.loc[sel, "month"].to_numpy()})
        counts = counts.value_counts().rename("crimes").reset_index()
        parts.append(counts.assign(theme=slug))
    out = pd.concat(parts, ignore_index=True)[["lsoa_code", "theme", "month", "crimes"]]
    return out.sort_values(["theme", "lsoa_code", "month"], ignore_index=True)


def profile_backtest(test_months, crimes, masks, located, x, y, grid, bandwidths, catalog, choices) -> dict:
    """Each theme's methods trained on the loaded months outside ``test_months``, scored on them."""
    if not test_months:
        return {}
    months = crimes["month"].to_numpy(dtype=str)
    loaded = sorted(set(months))
    missing = sorted(set(test_months) - set(loaded))
    train_months = [m for m in loaded if m not in test_months]
    if missing or not train_months:
        raise InputError(
            f"test months {', '.join(missing or test_months)} leave "
            + ("no training month" if not missing else "no crimes to test on")
            + f" (loaded: {', '.join(loaded)})", key="--test-months")
    test, out = np.isin(months, test_months), {}
    for slug, mask in masks.items():
        tr, te = mask & located & ~test, mask & located & test
        table = backtest(np.column_stack([x[tr], y[tr]]), months[tr], np.column_stack([x[te], y[te]]),
                         grid, bandwidth=bandwidths[slug], kernel=catalog.profile.kernel)
        out[slug] = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                     for r in table.to_dict("records")]
    choices.append(Choice(
        "backtest", f"trained on {', '.join(train_months)}, tested on {', '.join(sorted(test_months))}",
        "each method's surface from the training months, scored by hit rate, PAI, PEI and RRI on "
        "the test months at 1%, 5% and 10% of the district",
    ))
    return out


def _gi(counts, g, settings, hexagons: bool = False, choices: list[Choice] | None = None):
    """Gi* z, p, q and hot/cold classes of ``counts`` on ``g`` (squares, or hexagons), by the
    profile's inference and adjustment; the permutation draws' choice goes to ``choices``."""
    z, p = (gi_star_hex if hexagons else gi_star)(counts, g.active)
    if settings.inference == "permutation":
        perm = gi_star_permutation(counts, g.active, settings.permutations, seed=0,
                                   neighbour_sum=hex_neighbour_sum if hexagons else None)
        p = perm.p_two_sided
        if choices is not None:
            choices.extend(perm.choices)
    q = adjust_p(p, g.in_area, settings.p_adjust)
    return z, p, q, classify(z, q, settings.hotspot_q)


def _emerging(steps, month_arr, pts, x, y, grid, gi, settings) -> tuple[np.ndarray, np.ndarray]:
    """ArcGIS's patterns and sfhotspot's classes of the in-area cells of ``grid`` (squares or
    hexagons, ``gi`` its Gi*), from one Gi* per month in ``steps``."""
    zs, qs = [], []
    for m in steps:  # one Gi* per time step
        here = pts & (month_arr == m)
        zm, pm = gi(grid.bin(x[here], y[here]), grid.active)
        zs.append(zm[grid.in_area])
        qs.append(adjust_p(pm, grid.in_area, settings.p_adjust)[grid.in_area])
    z, q = np.array(zs), np.array(qs)
    return (emerging_hotspots(z, q, alpha=settings.hotspot_q).pattern,
            sfhotspot_classify(z, q, critical_p=settings.hotspot_q))


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


def dual_result(d, themes, masks, located, x, y, grid, bandwidths, catalog) -> DualResult:
    """Two themes' KDE at one bandwidth (the larger of theirs), compared cell by cell."""
    for slug in (d.numerator, d.denominator):
        if slug not in themes:
            raise InputError(f"no theme '{slug}' (themes: {', '.join(themes)})", file=catalog.source,
                             key="profile.dual_kde")
    bw = max(bandwidths[d.numerator], bandwidths[d.denominator])

    def kde(slug):
        pts = masks[slug] & located
        return quartic_kde(grid.linear_bin(x[pts], y[pts]), grid.cell_size, bw, catalog.profile.kernel)

    return DualResult(d.numerator, d.denominator, d.kind, d.min_denominator, bw,
                      dual_surface(kde(d.numerator), kde(d.denominator), d.kind, d.min_denominator))


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


def _months(months: list[str]) -> str:
    return ", ".join(months) if len(months) <= 4 else f"{months[0]} to {months[-1]}, {len(months)} months"


@dataclass
class PlacedCrimes:
    """The district, and every loaded crime placed on its LSOAs (codes on one vintage)."""

    area: StudyArea
    crimes: gpd.GeoDataFrame
    boundaries: gpd.GeoDataFrame
    lookup: pd.DataFrame
    assignment: Assignment
    in_district: np.ndarray
    located: np.ndarray
    x: np.ndarray  # eastings, NaN where a crime has no point
    y: np.ndarray
    choices: list[Choice]


def place_crimes(
    catalog: Catalog, roles: dict[str, str], loaded: dict[str, LayerData], district: str,
    lookup_file: str, progress: Progress | None = None,
) -> PlacedCrimes:
    """Select the district and place every loaded crime: the steps a profile and a backtest share."""
    crimes, boundaries, lookup = (loaded[roles[r]].frame for r in ("crimes", "boundaries", "lookup"))
    if progress:
        progress(f"selecting district {district}")
    area = select_district(lookup, boundaries, district, lookup_file=lookup_file)
    choices: list[Choice] = []
    crimes = reconcile_vintages(catalog, roles, loaded, crimes, boundaries, choices)
    assignment = assign_to_lsoas(crimes, area, boundaries, set(lookup["lsoa_code"]))
    if not assignment.in_district.any():
        raise InputError(
            f"no crime in the loaded police.uk data lies in {area.name} ({area.code}); are the "
            "crime files for this district's force, with LSOA codes of the lookup's vintage?",
            file=catalog.source,
            key=f"layers.{roles['crimes']}.path",
        )
    located = crimes.geometry.notna().to_numpy()
    xy = np.full((len(crimes), 2), np.nan)
    xy[located] = shapely.get_coordinates(crimes.geometry.to_numpy()[located])
    return PlacedCrimes(area, crimes, boundaries, lookup, assignment, assignment.in_district,
                        located, xy[:, 0], xy[:, 1], choices)


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


def build_profile(
    catalog: Catalog | str | Path,
    district: str,
    *,
    audience: str | None = None,
    cell_size: float | None = None,
    bandwidth: float | None = None,
    test_months: list[str] | None = None,
    progress: Progress | None = None,
) -> Profile:
    """Build the profile of ``district`` (name or code) for ``audience`` from ``catalog``.

    ``audience`` (force, partner or public) decides what restricted layers show; it must be given
    when the catalog holds any. ``cell_size`` and ``bandwidth`` (metres) override the catalog's
    settings; where neither gives a value it is chosen automatically and the choice is recorded.
    With ``test_months``, each method is also backtested: trained on the other loaded months,
    scored on those (:mod:`localprofile.engine.backtest`).
    """
    if not isinstance(catalog, Catalog):
        catalog = load_catalog(catalog)
    settings = catalog.profile
    themes = resolve_themes(catalog.themes, catalog.source)
    roles = catalog.roles()
    restricted = [n for n, s in catalog.layers.items() if s.sensitivity == "restricted"]
    check_audience(catalog, audience, restricted, set(roles.values()))
    # Public outputs carry nothing of a restricted layer, partner outputs only what point layers
    # give as suppressed counts: what they may not see is not even read.
    points_role = set(catalog.with_role("points"))
    skip = {
        "force": set(), None: set(), "public": set(restricted),
        "partner": {n for n in restricted if n not in points_role},
    }[audience]
    loaded = load_layers(catalog, progress, skip=skip)
    frame = {role: loaded[name].frame for role, name in roles.items()}
    summaries = layer_summaries(catalog, loaded)
    if audience == "partner":
        for name in set(restricted) & set(summaries):
            summaries[name].account = WithheldAccount()
            summaries[name].files = ["withheld"]
            summaries[name].meta = {}
    placed = place_crimes(catalog, roles, loaded, district, summaries[roles["lookup"]].files[0], progress)
    area, crimes, boundaries, lookup = placed.area, placed.crimes, placed.boundaries, placed.lookup
    assignment, in_district, located, x, y = (
        placed.assignment, placed.in_district, placed.located, placed.x, placed.y)
    choices = placed.choices
    shapely.prepare(area.polygon)
    in_polygon = located & shapely.contains_xy(area.polygon, np.nan_to_num(x), np.nan_to_num(y))

    choices.append(choose_cell_size(settings, cell_size, area, x, y, in_district & located))
    cs = choices[-1].value

    masks = {slug: t.mask(crimes["crime_type"]) for slug, t in themes.items()}
    bandwidths: dict[str, float] = {}
    given_bw = bandwidth or settings.bandwidth_m
    for slug, mask in masks.items():
        what = f"bandwidth (m), {slug}"
        if given_bw:
            c = Choice(what, float(given_bw), "given by the user")
        else:
            sel = mask & in_district & located
            c = auto_bandwidth(x[sel], y[sel], cs, what=what, kernel=settings.kernel)
        choices.append(c)
        bandwidths[slug] = c.value

    # the widest reach of any theme's kernel (a Gaussian is cut at 4 standard deviations)
    widest = kernel_reach(max(bandwidths.values()), settings.kernel)
    buffer = math.ceil(max(widest, cs) / cs) * cs
    choices.append(
        Choice(
            "grid buffer (m)",
            float(buffer),
            f"the widest kernel reach ({widest:,.0f} m) rounded up to whole cells, so that cells at "
            "the district's edge see every crime within a bandwidth of them; crimes just outside "
            "the district (all loaded crimes) enter the KDE and Gi*",
        )
    )
    coverage = data_coverage(boundaries, assignment.lsoa_code, area)
    try:
        grid = make_grid(area.polygon, cs, buffer, coverage=coverage)
    except GridTooLarge as exc:
        raise InputError(
            f"a {cs:g} m grid over {area.name} and its {buffer:,.0f} m buffer would have "
            f"{exc.cells:,} cells (at most {MAX_CELLS:,}); use a larger cell size",
            key="cell size",
        ) from None
    beyond = int((grid.near & ~grid.active).sum())
    if beyond:
        choices.append(
            Choice(
                "cells beyond the loaded data",
                beyond,
                "buffer cells outside every LSOA that has a loaded crime (e.g. across the force "
                "boundary) are left out of Gi*: no data was loaded there, so their zero counts "
                "would be false; the KDE near that edge sees only the loaded crimes",
            )
        )
    choices.append(
        Choice(
            "Gi* neighbourhood",
            "binary queen: the cell and its 8 adjacent cells",
            f"the {int(grid.active.sum()):,} cells whose centre lies within the buffer of the "
            "district and inside the loaded data enter the statistic; neighbours outside that set "
            "are not counted",
        )
    )

    lsoa_index = pd.Index(area.lsoas["lsoa_code"])
    imd = frame["deprivation"].set_index("lsoa_code")
    pop = frame["population"].set_index("lsoa_code")["population"].reindex(lsoa_index)
    decile = imd["imd_decile"].reindex(lsoa_index)
    lsoa = area.lsoas[["lsoa_code", "lsoa_name", "msoa_code", "msoa_name", "geometry"]].copy()
    lsoa["population"] = pop.to_numpy()
    lsoa["imd_rank"] = imd["imd_rank"].reindex(lsoa_index).to_numpy()
    lsoa["imd_decile"] = decile.to_numpy()
    with_pop = (pop > 0).fillna(False).to_numpy()
    if not with_pop.all():
        choices.append(
            Choice(
                "LSOAs without a population figure",
                int((~with_pop).sum()),
                "their rates are left blank, and their crimes are left out of the district's "
                "rate per 1,000 residents (numerator and denominator cover the same LSOAs)",
            )
        )
    if decile.isna().any():
        choices.append(
            Choice(
                "LSOAs without an IMD decile",
                int(decile.isna().sum()),
                "counted in each theme's total but in no deprivation decile",
            )
        )
    if area.lsoas_without_boundary:
        choices.append(
            Choice(
                "LSOAs without a boundary",
                len(area.lsoas_without_boundary),
                "their crimes are counted (by LSOA code) but they are not drawn and not in the grid",
            )
        )
    residents = float(pop[with_pop].sum())
    residents_by_decile = decile_counts(pop.fillna(0).astype("int64"), decile)

    hexgrid = None
    if settings.grid_shape == "hexagon":
        hexgrid = make_hexgrid(area.polygon, cs, buffer, coverage=coverage)
        choices.append(Choice(
            "Gi* cells", f"hexagons of {hexgrid.cell_area_km2 * 1e6:,.0f} m² (edge {hexgrid.radius:,.0f} m)",
            "profile.grid_shape: hexagon; the same area as the square cells, each with six equal "
            "neighbours; the KDE is read at their centres from the square grid's surface",
        ))
    tested = hexgrid.in_area if hexgrid is not None else grid.in_area
    choices.append(
        Choice(
            "hotspot threshold",
            f"q < {settings.hotspot_q:g} ({ADJUST_NAMES[settings.p_adjust]})",
            f"two-sided Gi* p-values adjusted for {int(tested.sum()):,} tests, one per "
            f"{'hexagon' if hexgrid is not None else 'cell'} inside the district",
        )
    )
    harm_w = harm_setting(catalog, crimes, choices)
    # LISA on LSOA rates: the LSOAs with a boundary and a population, queen contiguity
    lisa_sel = (lsoa.geometry.notna() & with_pop).to_numpy()
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
    months_all = sorted(crimes.loc[in_district, "month"].unique().tolist())
    split = change_split(settings.change_from, months_all, choices)
    gaps = missing_months(months_all)
    steps = months_all if len(months_all) >= ARCGIS_MIN_STEPS and not gaps else None
    if steps:
        why = (f"analytical Gi* per cell per month (q by {ADJUST_NAMES[settings.p_adjust]} over the "
               "district's cells; analytical whatever profile.inference says, since one permutation "
               "test per month and cell would add little to a trend test), Mann-Kendall trend of "
               "each cell's z-scores, ArcGIS's patterns and sfhotspot's classes")
    elif len(months_all) < ARCGIS_MIN_STEPS:
        why = (str(TooFewTimeSteps("emerging hot spot analysis", len(months_all), ARCGIS_MIN_STEPS))
               + " (one per loaded month)")
    else:
        why = (f"the loaded months are not consecutive ({len(gaps)} missing between "
               f"{months_all[0]} and {months_all[-1]}, first {gaps[0]}): a trend needs equally "
               "spaced time steps; load every month of the period")
    choices.append(Choice(
        "emerging hotspots", f"{len(months_all)} monthly time steps" if steps else "not computed", why))
    # Residents, for rate surfaces: each LSOA's population at a point inside it (all loaded LSOAs,
    # so the buffer sees its residents too), smoothed with each theme's kernel like its crimes.
    # At a bandwidth of several cells where in its LSOA the point sits hardly matters.
    pop_all = frame["population"].set_index("lsoa_code")["population"]
    res_b = boundaries[boundaries["lsoa_code"].isin(pop_all.index)]
    res_xy = shapely.get_coordinates(shapely.point_on_surface(res_b.geometry.to_numpy()))
    res_w = pop_all.reindex(res_b["lsoa_code"]).to_numpy(float)
    residents_binned = grid.linear_bin(res_xy[:, 0], res_xy[:, 1], weights=res_w)
    choices.append(Choice(
        "rate surfaces: fewest residents per km²", settings.rate_min_residents_km2,
        "crimes per 1,000 residents are left blank where fewer residents than this live "
        "(smoothed like the crimes): a rate over almost no one is noise, not risk",
    ))
    results: dict[str, ThemeResult] = {}
    codes = assignment.lsoa_code
    for slug, theme in themes.items():
        if progress:
            progress(f"theme {slug}")
        mask = masks[slug]
        sel = mask & in_district
        counts = count_by_lsoa(codes[sel], lsoa_index)
        lsoa[f"count_{slug}"] = counts.to_numpy()
        lsoa[f"rate_{slug}"] = rate_per_1000(counts, pop).to_numpy()
        pts = mask & located
        gcount = grid.bin(x[pts], y[pts])
        kde = quartic_kde(grid.linear_bin(x[pts], y[pts]), cs, bandwidths[slug], settings.kernel)
        residents_kde = quartic_kde(residents_binned, cs, bandwidths[slug], settings.kernel)
        rate_surface = 1000 * dual_surface(kde, residents_kde, "ratio", settings.rate_min_residents_km2)
        z, p, q, hot = _gi(gcount, grid, settings, choices=choices if slug == next(iter(themes)) else None)
        hex_result = None
        if hexgrid is not None:
            hc = hexgrid.bin(x[pts], y[pts])
            hxc, hyc = hexgrid.centres()
            hex_result = HexResult(hc, sample_surface(kde, grid.transform, hxc, hyc),
                                   *_gi(hc, hexgrid, settings, hexagons=True))
        monthly = crimes.loc[sel, "month"].value_counts().sort_index()
        by_decile = decile_counts(counts, decile)
        harm = None
        if harm_w is not None:
            hl = pd.Series(harm_w[sel], index=codes[sel].to_numpy()).groupby(level=0).sum()
            hl = hl.reindex(lsoa_index, fill_value=0.0).to_numpy()
            lsoa[f"harm_{slug}"] = hl
            hg = grid.bin(x[pts], y[pts], weights=harm_w[pts])
            harm = HarmResult(
                float(harm_w[sel].sum()), hl, hg,
                quartic_kde(grid.linear_bin(x[pts], y[pts], weights=harm_w[pts]), cs, bandwidths[slug], settings.kernel),
                *_gi(hg, grid, settings),
            )
            if hex_result is not None:  # harm Gi* on the hexagons the profile shows
                hex_result.harm = hexgrid.bin(x[pts], y[pts], weights=harm_w[pts])
                hex_result.harm_gi_z, _, hex_result.harm_gi_q, hex_result.harm_hotspot = _gi(
                    hex_result.harm, hexgrid, settings, hexagons=True)
        period_change = None
        if split:
            after_m = crimes["month"].to_numpy(dtype=str) >= split
            n_a = sum(m >= split for m in months_all)
            n_b = len(months_all) - n_a
            b, a = int((sel & ~after_m).sum()), int((sel & after_m).sum())
            ch = change([b], [a], n_b, n_a)
            period_change = {
                "from": split, "months_before": n_b, "months_after": n_a, "before": b, "after": a,
                "per_month_before": b / n_b, "per_month_after": a / n_a,
                "percent": float(ch.percent[0]), "p": float(ch.p[0]),
            }
            lch = change(count_by_lsoa(codes[sel & ~after_m], lsoa_index).to_numpy(),
                         count_by_lsoa(codes[sel & after_m], lsoa_index).to_numpy(), n_b, n_a)
            lsoa[f"change_{slug}"] = lch.difference  # crimes per month, after minus before
            lsoa[f"change_pct_{slug}"] = lch.percent  # blank below the minimum "before" count
            lsoa[f"change_p_{slug}"] = lch.p  # exact conditional Poisson test, unadjusted
        emerging = emerging_sf = None
        if steps:
            month_arr = crimes["month"].to_numpy(dtype=str)
            emerging, emerging_sf = _emerging(steps, month_arr, pts, x, y, grid, gi_star, settings)
            if hex_result is not None:
                hex_result.emerging, hex_result.emerging_sfhotspot = _emerging(
                    steps, month_arr, pts, x, y, hexgrid, gi_star_hex, settings)
        lisa_labels = None
        if lisa_w is not None:
            rates = lsoa[f"rate_{slug}"].to_numpy(dtype=float)[lisa_sel]
            lm = local_moran(rates, lisa_w, settings.lisa_permutations, seed=0,
                             alpha=settings.hotspot_q, adjust=settings.p_adjust)
            lisa_labels = np.full(len(lsoa), None, dtype=object)
            lisa_labels[lisa_sel] = lm.cluster
            lsoa[f"lisa_{slug}"] = lisa_labels
            if slug == next(iter(themes)):
                choices.extend(lm.choices)
        own = sel & located
        repeats = repeat_locations(np.column_stack([x[own], y[own]]), crimes.loc[own, "location"].to_numpy(),
                                   method=settings.repeat_method)
        if slug == next(iter(themes)):
            choices.extend(repeats.attrs.get("choices", []))
        results[slug] = ThemeResult(
            theme=theme,
            crimes=int(sel.sum()),
            rate_per_1000=(
                1000 * float(counts[with_pop].sum()) / residents if residents else float("nan")
            ),
            crimes_located=int((sel & located).sum()),
            crimes_in_area_points=int((mask & in_polygon).sum()),
            bandwidth=bandwidths[slug],
            count=gcount,
            kde=kde,
            gi_z=z,
            gi_p=p,
            gi_q=q,
            hotspot=hot,
            deprivation=deprivation_shares(by_decile),
            decile_counts=by_decile,
            top_locations=top_locations(crimes.loc[sel, "location"]),
            monthly={str(k): int(v) for k, v in monthly.items()},
            harm=harm,
            rate_surface=rate_surface,
            repeats=repeats,
            change=period_change,
            emerging=emerging,
            emerging_sfhotspot=emerging_sf,
            lisa=lisa_labels,
            hex=hex_result,
        )

    hoods = neighbourhoods(area)
    if hoods.codes == list(area.lsoas["lsoa_code"]):
        choices.append(Choice("neighbourhoods", "LSOAs", "the lookup has no MSOA columns"))
    context = {}
    for name in catalog.with_role("points"):
        if name not in loaded:
            continue  # a restricted layer, not read for a public profile
        if progress:
            progress(f"context layer {name}")
        context[name] = summarise(
            name, catalog.layers[name], loaded[name], area, boundaries, set(lookup["lsoa_code"]),
            hoods, audience, settings.suppress_below,
        )
        if context[name].lsoa_counts is not None:
            col = f"context__{name}" + ("_synthetic" if context[name].synthetic else "")
            lsoa[col] = context[name].lsoa_counts.to_numpy()

    duals = [dual_result(d, themes, masks, located, x, y, grid, bandwidths, catalog) for d in settings.dual_kde]
    tables = {}
    for name in catalog.with_role("lsoa_table"):
        if name in loaded:
            tables[name] = join_table(name, catalog.layers[name], loaded[name], lsoa)
    rasters = {}
    for name in catalog.with_role("raster"):
        if name in loaded:
            rasters[name] = summarise_raster(name, catalog.layers[name], loaded[name], lsoa, grid)

    months = sorted(crimes.loc[in_district, "month"].unique().tolist())
    return Profile(
        editions={r: ADAPTERS[catalog.layers[roles[r]].adapter].EDITION for r in ("population", "deprivation")},
        lsoa_tables=tables,
        duals=duals,
        rasters=rasters,
        audience=audience,
        marking=settings.marking_for(audience),
        context=context,
        neighbourhoods=hoods,
        settings=settings,
        catalog_file=str(catalog.source),
        district=area,
        months=months,
        crimes=int(in_district.sum()),
        layers=summaries,
        assignment=assignment.account,
        grid=grid,
        hexgrid=hexgrid,
        monthly_lsoa=monthly_by_lsoa(crimes, codes, in_district, masks),
        backtest=profile_backtest(test_months, crimes, masks, located, x, y, grid, bandwidths, catalog, choices),
        themes=results,
        lsoa=gpd.GeoDataFrame(lsoa, geometry="geometry", crs=area.lsoas.crs),
        residents=int(residents),
        residents_by_decile=residents_by_decile,
        residents_deprived=deprivation_shares(residents_by_decile),
        choices=choices,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        tool_version=__version__,
    )
