"""Stage 9, priority neighbourhoods: the threat and vulnerability indicators of every
neighbourhood (LSOAs for the force, MSOAs for partners and the public, unless the catalog's
``overlay.unit`` says otherwise), ranked by threat x vulnerability with the indicators that
drive each, in words.

Threat: each overlay theme's crimes, share of area in Gi* hot cells, share of crimes at repeat
locations and change per month; point layers marked ``overlay: threat`` (OCG members'
addresses, CSE locations) counted per neighbourhood. Vulnerability: IMD (the population-weighted
mean rank), and point layers marked ``overlay: vulnerability`` (schools by default) within
``overlay.near_hot_cells_m`` of hot cells. Restricted layers enter only what their audience may
see: for partners and the public they are not indicators at all.

>>> from localprofile.demo import demo_overlay
>>> o = demo_overlay("Leeds", "partner")          # the shipped data, as partners may see it
>>> o.unit, len(o.table), o.table["rank"].tolist()[:3]
('MSOA', 107, [1, 2, 3])
>>> any("OCG" in c for c in o.indicators.columns)   # restricted layers: force only
False
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..catalog import Catalog
from ..engine.bivariate import bivariate_moran
from ..engine.choices import Choice
from ..engine.lisa import queen_weights
from ..engine.overlay import priority, sensitivity
from ..errors import InputError
from ..geo import BNG
from ..layers import ADAPTERS
from .audience import AudiencePolicy
from .context import Context
from .lsoa_base import LsoaBase
from .scale import Scale
from .theme import ThemeAnalysis

DEFAULT_THEMES = ("soc_indicators", "anti_social_behaviour")


def default_themes(themes) -> list[str]:
    """The overlay's themes when the catalog names none: SOC indicators and ASB where the
    profile has them, else all crime, else the first theme."""
    chosen = [t for t in DEFAULT_THEMES if t in themes]
    return chosen or (["all_crime"] if "all_crime" in themes else list(themes)[:1])


@dataclass
class Overlay:
    """The ranked neighbourhoods: ``table`` (one row per unit, rank 1 first: code, name, rank,
    scores, classes, drivers and their sentence, geometry), the raw ``indicators`` (same rows),
    each indicator's kind, the sensitivity of the top N to each weight, and the choices."""

    unit: str
    table: gpd.GeoDataFrame
    indicators: pd.DataFrame
    kinds: dict[str, str]
    sensitivity: pd.DataFrame
    top: int
    choices: list[Choice] = field(default_factory=list)


@dataclass
class _Indicator:
    """One indicator per LSOA as numerator / denominator (None: a count, summed), so that a
    coarser unit's value is sum(numerator) / sum(denominator); ``words`` puts a value in words."""

    kind: str
    numerator: np.ndarray
    denominator: np.ndarray | None
    words: object  # value -> text


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _hot_union(result, scale: Scale):
    """The union of a theme's Gi* hot cells (hexagons when the profile uses them)."""
    g, classes = (scale.hexgrid, result.hex.hotspot) if result.hex is not None else (scale.grid, result.hotspot)
    hot = classes == "hot"
    return shapely.union_all(g.cells(hot)) if hot.any() else None


def lsoa_indicators(catalog: Catalog, base: LsoaBase, scale: Scale, analyses: dict[str, ThemeAnalysis],
                    context: Context) -> tuple[dict[str, _Indicator], list[Choice]]:
    """Every overlay indicator of the district's LSOAs."""
    cfg = catalog.profile.overlay
    lsoa = gpd.GeoDataFrame(base.lsoa, geometry="geometry", crs=BNG)
    geoms = lsoa.geometry.to_numpy()
    area = shapely.area(geoms)
    themes = cfg.themes if cfg.themes is not None else default_themes(analyses)
    unknown = [t for t in themes if t not in analyses]
    if unknown:
        raise InputError(f"profile.overlay.themes: unknown theme(s) {', '.join(unknown)} "
                         f"(themes: {', '.join(analyses)})", key="profile.overlay.themes")
    out: dict[str, _Indicator] = {}
    hot_all = []
    for slug in themes:
        a = analyses[slug]
        label = a.result.theme.label.split(" (")[0]  # "SOC indicators (drugs, ...)" -> "SOC indicators"
        count = a.columns[f"count_{slug}"].astype(float)
        out[f"{label} crimes"] = _Indicator("threat", count, None, lambda v, lb=label: f"{lb}: {v:,.0f} crimes")
        union = _hot_union(a.result, scale)
        hot_all.append(union)
        hot_area = np.zeros(len(lsoa)) if union is None else shapely.area(shapely.intersection(geoms, union))
        out[f"{label} hot cells"] = _Indicator(
            "threat", np.nan_to_num(hot_area), np.nan_to_num(area),
            lambda v, lb=label: f"{lb}: {v:.0%} of the area in hot cells")
        reps = a.result.repeats
        at_repeats = np.zeros(len(lsoa))
        if reps is not None and len(reps):
            where = gpd.sjoin(gpd.GeoDataFrame({"crimes": reps["crimes"].to_numpy()},
                                               geometry=reps.geometry.representative_point(), crs=BNG),
                              lsoa[["lsoa_code", "geometry"]], predicate="within", how="inner")
            at_repeats = (where.groupby("lsoa_code")["crimes"].sum()
                          .reindex(lsoa["lsoa_code"], fill_value=0).to_numpy(dtype=float))
        out[f"{label} at repeat locations"] = _Indicator(
            "threat", at_repeats, count, lambda v, lb=label: f"{lb}: {v:.0%} of crimes at repeat locations")
        if a.result.harm is not None:  # harm-weighted volume, when the catalog sets harm weights
            out[f"{label} harm"] = _Indicator("threat", np.nan_to_num(a.columns[f"harm_{slug}"].astype(float)), None,
                                              lambda v, lb=label: f"{lb}: harm {v:,.0f}")
        if f"change_{slug}" in a.columns:
            out[f"{label} change"] = _Indicator(
                "threat", np.nan_to_num(a.columns[f"change_{slug}"].astype(float)), None,
                lambda v, lb=label: f"{lb}: {'up' if v >= 0 else 'down'} {abs(v):,.1f} crimes a month")
    hot = shapely.union_all([u for u in hot_all if u is not None]) if any(u is not None for u in hot_all) else None
    d = cfg.near_hot_cells_m
    for name, layer in context.layers.items():
        spec = catalog.layers[name]
        role = spec.overlay or ("vulnerability" if spec.adapter == "schools" else None)
        if role in (None, "none") or layer.points is None:  # withheld from this audience
            continue
        pts = layer.points
        if role == "threat":
            counts = layer.lsoa_counts.reindex(lsoa["lsoa_code"], fill_value=0).to_numpy(dtype=float)
            out[layer.label] = _Indicator("threat", counts, None, lambda v, lb=layer.label: f"{lb}: {v:,.0f}")
        else:
            near = np.zeros(len(pts), dtype=bool) if hot is None else shapely.dwithin(pts.geometry.to_numpy(), hot, d)
            counts = (pts.loc[near, "lsoa_code"].value_counts()
                      .reindex(lsoa["lsoa_code"], fill_value=0).to_numpy(dtype=float))
            out[f"{layer.label} near hot cells"] = _Indicator(
                "vulnerability", counts, None, lambda v, lb=layer.label: f"{lb}: {v:,.0f} within {d:g} m of hot cells")
    # LSOA tables (Troubled Families counts, safeguarding referrals, exclusions): each field a
    # vulnerability count, summed over a coarser unit's LSOAs
    for t in context.tables.values():
        for col, label in t.columns.items():
            out[label] = _Indicator("vulnerability", np.nan_to_num(context.columns[col].astype(float)), None,
                                    lambda v, lb=label: f"{lb}: {v:,.0f}")
    pop = np.nan_to_num(base.population.to_numpy(dtype=float))
    adapter = ADAPTERS[catalog.layers[catalog.roles()["deprivation"]].adapter]
    for domain in cfg.deprivation:
        col = f"{domain}_rank"
        if base.deprivation is None or col not in base.deprivation:
            raise InputError(f"profile.overlay.deprivation: the deprivation file has no {domain} ranks",
                             key="profile.overlay.deprivation")
        rank = base.deprivation[col].to_numpy(dtype=float)
        have = np.isfinite(rank) & (pop > 0)
        name = {"imd": "deprivation (IMD)", "idaci": "children in income deprivation (IDACI)"}.get(
            domain, f"{domain} deprivation")
        # ranks run 1 (most deprived) upwards: minus the population-weighted mean rank
        out[name] = _Indicator("vulnerability", np.where(have, -rank * pop, 0.0), np.where(have, pop, 0.0),
                               lambda v, d=domain, n=adapter.N_LSOA: _deprivation_words(v, d, n))
    choices = [Choice("overlay themes", ", ".join(themes),
                      "their crimes, hot cells, repeat locations and change are the threat indicators"
                      + ("" if cfg.themes is not None else " (by default SOC indicators and ASB, where the "
                                                            "profile has them, else all crime)")),
               Choice("vulnerable sites near hot cells (m)", d,
                      "schools and other vulnerability point layers count where they lie within this "
                      "distance of a hot cell of any overlay theme")]
    return out, choices


def _deprivation_words(v: float, domain: str, n_lsoa: int) -> str:
    """Minus a mean rank in words: the tenth of England's LSOAs it falls in."""
    decile = int(np.clip(np.ceil(-v / n_lsoa * 10), 1, 10))
    what = {"imd": "Deprivation", "idaci": "Children in income deprivation"}.get(domain, f"{domain.title()} deprivation")
    src = {"imd": "IMD", "idaci": "IDACI"}.get(domain, "IoD")
    return (f"{what}: in England's {_ordinal(decile)} most deprived tenth ({src})" if decile > 1
            else f"{what}: in England's most deprived 10% ({src})")


def priority_neighbourhoods(catalog: Catalog, policy: AudiencePolicy, base: LsoaBase, scale: Scale,
                            analyses: dict[str, ThemeAnalysis], context: Context) -> Overlay:
    """Rank the district's neighbourhoods by threat x vulnerability (see the module)."""
    cfg = catalog.profile.overlay
    unit = (cfg.unit or ("lsoa" if policy.audience == "force" else "msoa")).upper()
    raw, choices = lsoa_indicators(catalog, base, scale, analyses, context)
    if unit == "MSOA" and context.neighbourhoods.codes == sorted(base.lsoa["lsoa_code"]):
        unit = "LSOA"  # the lookup has no MSOA columns: its neighbourhoods are the LSOAs
        choices.append(Choice("priority neighbourhoods by LSOA", "the lookup has no MSOAs",
                              "ranked per LSOA from open data only (no restricted layer enters a "
                              "partner or public ranking)"))
    raw = {k: v for k, v in raw.items() if cfg.weights.get(k, 1.0) > 0}
    lsoa = base.lsoa
    if unit == "LSOA":
        key, names = lsoa["lsoa_code"].to_numpy(), lsoa["lsoa_name"].fillna(lsoa["lsoa_code"]).to_numpy()
        geometry = gpd.GeoSeries(lsoa.geometry.to_numpy(), index=key, crs=BNG)
    else:
        hoods = context.neighbourhoods
        key = hoods.lsoa_to_code.reindex(lsoa["lsoa_code"]).to_numpy()
        names = pd.Series(hoods.names, index=hoods.codes).reindex(key).to_numpy()
        geometry = gpd.GeoSeries(hoods.geometry, index=hoods.codes, crs=BNG)
    codes = pd.Index(sorted(set(key)))
    values = {}
    for name, ind in raw.items():
        num = pd.Series(ind.numerator).groupby(key).sum().reindex(codes)
        if ind.denominator is None:
            values[name] = num
        else:
            den = pd.Series(ind.denominator).groupby(key).sum().reindex(codes)
            values[name] = (num / den).where(den > 0)
    indicators = pd.DataFrame(values, index=codes)
    kinds = {k: v.kind for k, v in raw.items()}
    weights = {k: cfg.weights.get(k, 1.0) for k in raw}
    pr = priority(indicators, kinds, weights, cfg.normalise)
    table = pr.table.copy()
    table.insert(0, "name", pd.Series(names, index=key).groupby(level=0).first().reindex(table.index))
    words = []
    for code, row in table.iterrows():  # one sentence per neighbourhood (a few hundred at most)
        drivers = [row[c] for c in table.columns if c.startswith("driver_")]
        words.append("; ".join(raw[d].words(indicators.at[code, d]) for d in drivers) + ".")
    table["why"] = words
    table.index.name = f"{unit.lower()}_code"
    polygons = geometry.reindex(table.index).to_numpy()
    # where high threat sits beside high vulnerability: bivariate LISA of threat against the
    # neighbours' vulnerability (queen contiguity of the drawn units with both scores)
    s = catalog.profile
    ok = np.array([g is not None for g in polygons]) & np.isfinite(table["threat"]) & np.isfinite(table["vulnerability"])
    table["threat_vulnerability_lisa"] = "not computed"
    if ok.sum() >= 3:
        bv = bivariate_moran(table.loc[ok, "threat"].to_numpy(), table.loc[ok, "vulnerability"].to_numpy(),
                             queen_weights(polygons[ok]), s.lisa_permutations, seed=0,
                             alpha=s.hotspot_q, adjust=s.p_adjust)
        table.loc[ok, "threat_vulnerability_lisa"] = bv.cluster
        choices.extend(Choice(f"{c.what}, threat x vulnerability", c.value, c.why) for c in bv.choices)
    gdf = gpd.GeoDataFrame(table.reset_index(), geometry=polygons, crs=BNG)
    sens = sensitivity(indicators, kinds, weights, cfg.normalise, top=cfg.top)
    choices = [Choice("priority neighbourhood unit", unit,
                      "LSOAs for the force's own analysis; MSOAs (groups of LSOAs) for partners and "
                      "the public" if cfg.unit is None else "set by the catalog (profile.overlay.unit)"),
               *choices, *pr.choices]
    if policy.audience != "force":
        choices.append(Choice("restricted layers in the overlay", "none",
                              "partner and public rankings use open data only, so no score or "
                              "sentence can reveal a restricted count"))
    return Overlay(unit, gdf, indicators.loc[table.index], kinds, sens, cfg.top, choices)
