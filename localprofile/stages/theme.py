"""Stage 7, analyse a theme: its LSOA counts, rates and change, grid counts, KDE and rate
surfaces, Gi* hot and cold spots (squares and hexagons), emerging hot spots, LISA clusters and
repeat locations; and two themes' dual KDE.

>>> from localprofile.demo import demo_stages
>>> from localprofile.stages.scale import choose_scale
>>> from localprofile.stages.lsoa_base import lsoa_base
>>> from localprofile.stages.methods import plan_methods
>>> from localprofile.themes import resolve_themes
>>> cat, i, p = demo_stages("Leeds")            # the shipped data, placed
>>> drugs = resolve_themes(cat.themes, cat.source)["drugs"]
>>> mask = drugs.mask(p.crimes["crime_type"])
>>> s = choose_scale(cat.profile, p, {"drugs": mask}, cell_size=500, bandwidth=800)
>>> b = lsoa_base(p.area, i.frame)
>>> t = analyse_theme("drugs", drugs, mask, cat.profile, p, s, b, plan_methods(cat, p, s, b, i.frame))
>>> t.result.crimes, sorted(t.columns)[:2], all(c.what.endswith(", drugs") for c in t.choices)
(339, ['change_drugs', 'change_p_drugs'], True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from ..engine.aggregate import cell_locations, count_by_lsoa, decile_counts, deprivation_shares, rate_per_1000, top_locations
from ..engine.choices import Choice
from ..engine.dual import dual_surface
from ..engine.emerging import emerging_hotspots, sfhotspot_classify
from ..engine.gistar import classify, gi_star
from ..engine.hexgrid import gi_star_hex, sample_surface
from ..engine.hexgrid import neighbour_sum as hex_neighbour_sum
from ..engine.kde import block_mean, fine_grid, kde_raster, quartic_kde
from ..engine.lisa import local_moran
from ..engine.permutation import adjust_p, gi_star_permutation
from ..engine.repeat_locations import repeat_locations
from ..engine.trend import change
from ..errors import InputError
from ..profile import DualResult, HarmResult, HexResult, ThemeResult
from ..themes import Theme
from .lsoa_base import LsoaBase
from .methods import Methods
from .place import PlacedCrimes
from .scale import Scale


@dataclass
class ThemeAnalysis:
    """A theme's results, the LSOA columns it adds to the profile's LSOA layer, and the choices
    made for it (each named with the theme's slug)."""

    result: ThemeResult
    columns: dict[str, np.ndarray]
    choices: list[Choice] = field(default_factory=list)


def analyse_theme(slug: str, theme: Theme, mask: np.ndarray, settings, placed: PlacedCrimes,
                  scale: Scale, base: LsoaBase, methods: Methods) -> ThemeAnalysis:
    """Every per-theme result of a profile, for the crimes ``mask`` selects."""
    crimes, x, y, located = placed.crimes, placed.x, placed.y, placed.located
    grid, hexgrid, cs, bw = scale.grid, scale.hexgrid, scale.cell_size, scale.bandwidths[slug]
    codes, lsoa_index, pop, decile = placed.assignment.lsoa_code, base.index, base.population, base.decile
    choices: list[Choice] = []
    cols: dict[str, np.ndarray] = {}
    sel = mask & placed.in_district
    counts = count_by_lsoa(codes[sel], lsoa_index)
    cols[f"count_{slug}"] = counts.to_numpy()
    cols[f"rate_{slug}"] = rate_per_1000(counts, pop).to_numpy()
    pts = mask & located
    gcount = grid.bin(x[pts], y[pts])
    kde_fine, factor = kde_raster(grid, x[pts], y[pts], bw, settings.kernel)
    kde = block_mean(kde_fine, factor)  # the KDE per Gi* cell: the raster's mean over the cell
    choices.append(Choice(
        "KDE raster cell (m)", cs / factor,
        f"the KDE is evaluated on its own raster, {factor} x {factor} cells to each {cs:g} m Gi* "
        f"cell (at least 4, and at most a quarter of the {bw:,.0f} m bandwidth), so that a bandwidth "
        "below the cell size still shapes the surface; kde_<theme>.tif is that raster, and its "
        "mean over each Gi* cell is the KDE in the grid layers, maps and backtests",
    ))
    residents_kde = quartic_kde(methods.residents_binned, cs, bw, settings.kernel)
    rate_surface = 1000 * dual_surface(kde, residents_kde, "ratio", settings.rate_min_residents_km2)
    z, p, q, hot = _gi(gcount, grid, settings, choices=choices)
    hex_result = None
    if hexgrid is not None:
        hc = hexgrid.bin(x[pts], y[pts])
        hxc, hyc = hexgrid.centres()
        hex_result = HexResult(hc, sample_surface(kde_fine, fine_grid(grid, factor).transform, hxc, hyc),
                               *_gi(hc, hexgrid, settings, hexagons=True))
    monthly = crimes.loc[sel, "month"].value_counts().sort_index()
    by_decile = decile_counts(counts, decile)
    harm = None
    harm_w = methods.harm
    if harm_w is not None:
        hl = pd.Series(harm_w[sel], index=codes[sel].to_numpy()).groupby(level=0).sum()
        hl = hl.reindex(lsoa_index, fill_value=0.0).to_numpy()
        cols[f"harm_{slug}"] = hl
        hg = grid.bin(x[pts], y[pts], weights=harm_w[pts])
        harm = HarmResult(
            float(harm_w[sel].sum()), hl, hg,
            block_mean(kde_raster(grid, x[pts], y[pts], bw, settings.kernel, weights=harm_w[pts],
                                  factor=factor)[0], factor),
            *_gi(hg, grid, settings),
        )
        if hex_result is not None:  # harm Gi* on the hexagons the profile shows
            hex_result.harm = hexgrid.bin(x[pts], y[pts], weights=harm_w[pts])
            hex_result.harm_gi_z, _, hex_result.harm_gi_q, hex_result.harm_hotspot = _gi(
                hex_result.harm, hexgrid, settings, hexagons=True)
    period_change = None
    split, months_all = methods.split, methods.months
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
        cols[f"change_{slug}"] = lch.difference  # crimes per month, after minus before
        cols[f"change_pct_{slug}"] = lch.percent  # blank below the minimum "before" count
        cols[f"change_p_{slug}"] = lch.p  # exact conditional Poisson test, unadjusted
    emerging = emerging_sf = None
    if methods.steps:
        month_arr = crimes["month"].to_numpy(dtype=str)
        emerging, emerging_sf = _emerging(methods.steps, month_arr, pts, x, y, grid, gi_star, settings)
        if hex_result is not None:
            hex_result.emerging, hex_result.emerging_sfhotspot = _emerging(
                methods.steps, month_arr, pts, x, y, hexgrid, gi_star_hex, settings)
    lisa_labels = None
    rates = cols[f"rate_{slug}"].astype(float)[methods.lisa_sel] if methods.lisa_w is not None else None
    finite = rates[np.isfinite(rates)] if rates is not None else None
    if rates is not None and not (len(finite) and np.ptp(finite) > 0):
        choices.append(Choice("LISA", "not computed", "the theme's LSOA rates are the same everywhere "
                              "(no crime of the theme in the district, say): local Moran's I is undefined"))
        rates = None
    if rates is not None:
        lm = local_moran(rates, methods.lisa_w, settings.lisa_permutations, seed=0,
                         alpha=settings.hotspot_q, adjust=settings.p_adjust)
        lisa_labels = np.full(len(base.lsoa), None, dtype=object)
        lisa_labels[methods.lisa_sel] = lm.cluster
        cols[f"lisa_{slug}"] = lisa_labels
        choices.extend(lm.choices)
    own = sel & located
    repeats = repeat_locations(np.column_stack([x[own], y[own]]), crimes.loc[own, "location"].to_numpy(),
                               method=settings.repeat_method, merge=settings.repeat_merge_m)
    choices.extend(repeats.attrs.get("choices", []))
    # the district's crimes at a repeat location, by the LSOA each crime is counted in (for the
    # overlay's share of crimes at repeat locations: numerator and denominator by one assignment)
    at_repeat = np.zeros(len(crimes), dtype=bool)
    if len(repeats):
        hits = shapely.STRtree(repeats.geometry.to_numpy()).query(shapely.points(x[own], y[own]), predicate="intersects")[0]
        at_repeat[np.flatnonzero(own)[np.unique(hits)]] = True
    cols[f"repeat_{slug}"] = count_by_lsoa(codes[at_repeat], lsoa_index).to_numpy()
    # the named map points of each hot or cold cell shown: "On or near Briggate (23)" in its tooltip
    shown, shown_class = (hexgrid, hex_result.hotspot) if hex_result is not None else (grid, hot)
    places = cell_locations(shown.cell_index(x[pts], y[pts]), crimes.loc[pts, "location"].to_numpy(),
                            x[pts], y[pts], np.flatnonzero(shown_class.ravel() != "none"))
    residents = base.residents
    result = ThemeResult(
        theme=theme,
        crimes=int(sel.sum()),
        rate_per_1000=(1000 * float(counts[base.with_pop].sum()) / residents if residents else float("nan")),
        crimes_located=int((sel & located).sum()),
        crimes_in_area_points=int((mask & placed.in_polygon).sum()),
        bandwidth=bw,
        count=gcount,
        kde=kde,
        kde_fine=kde_fine,
        kde_factor=factor,
        gi_z=z,
        gi_p=p,
        gi_q=q,
        hotspot=hot,
        deprivation=deprivation_shares(by_decile),
        decile_counts=by_decile,
        top_locations=top_locations(crimes.loc[sel, "location"], x[sel], y[sel]),
        monthly={str(k): int(v) for k, v in monthly.items()},
        harm=harm,
        rate_surface=rate_surface,
        repeats=repeats,
        change=period_change,
        emerging=emerging,
        emerging_sfhotspot=emerging_sf,
        lisa=lisa_labels,
        hex=hex_result,
        cell_locations=places,
    )
    return ThemeAnalysis(result, cols, [Choice(f"{c.what}, {slug}", c.value, c.why) for c in choices])


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


def dual_result(d, themes, masks, located, x, y, grid, bandwidths, catalog) -> DualResult:
    """Two themes' KDE at one bandwidth (the larger of theirs), compared cell by cell."""
    for slug in (d.numerator, d.denominator):
        if slug not in themes:
            raise InputError(f"no theme '{slug}' (themes: {', '.join(themes)})", file=catalog.source,
                             key="profile.dual_kde")
    bw = max(bandwidths[d.numerator], bandwidths[d.denominator])

    def kde(slug):  # on the KDE raster, averaged per Gi* cell, as each theme's own KDE
        pts = masks[slug] & located
        fine, f = kde_raster(grid, x[pts], y[pts], bw, catalog.profile.kernel)
        return block_mean(fine, f)

    return DualResult(d.numerator, d.denominator, d.kind, d.min_denominator, bw,
                      dual_surface(kde(d.numerator), kde(d.denominator), d.kind, d.min_denominator))
