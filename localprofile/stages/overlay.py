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
from ..study_area import StudyArea
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


def _count(v: float, noun: str) -> str:
    return f"{v:,.0f} {noun}{'' if round(v) == 1 else 's'}"


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
        out[f"{label} crimes"] = _Indicator("threat", count, None, lambda v, lb=label: f"{lb}: {_count(v, 'crime')}")
        union = _hot_union(a.result, scale)
        hot_all.append(union)
        hot_area = np.zeros(len(lsoa)) if union is None else shapely.area(shapely.intersection(geoms, union))
        out[f"{label} hot cells"] = _Indicator(
            "threat", np.nan_to_num(hot_area), np.nan_to_num(area),
            lambda v, lb=label: f"{lb}: {v:.0%} of the area in hot cells")
        out[f"{label} at repeat locations"] = _Indicator(
            "threat", a.columns[f"repeat_{slug}"].astype(float), count, lambda v, lb=label: f"{lb}: {v:.0%} of crimes at repeat locations")
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


def polygons_of(catalog: Catalog, unit: str, loaded: dict):
    """The polygon layer the unit names (None for lsoa and msoa); a unit that is neither is an error."""
    if unit in ("lsoa", "msoa"):
        return None
    if unit not in catalog.layers or catalog.layers[unit].adapter != "polygons":
        layers = [n for n in catalog.with_role("polygons")]
        raise InputError(f"profile.overlay.unit: '{unit}' is not lsoa, msoa or a polygons layer"
                         + (f" ({', '.join(layers)})" if layers else ""), key="profile.overlay.unit")
    if unit not in loaded:  # a restricted polygon layer, not read for this audience
        raise InputError(f"profile.overlay.unit: layer '{unit}' is not readable for this audience",
                         key="profile.overlay.unit")
    return loaded[unit].frame


def unit_shares(catalog: Catalog, unit: str, area: StudyArea, base: LsoaBase, context: Context, polygons):
    """The units (codes, names, geometry) and each district LSOA's share in each unit (a sparse
    LSOA x unit matrix): 1 in the unit that holds it for LSOAs and MSOAs; for a polygon layer the
    share of the LSOA's area inside the unit, its residents and records taken as spread evenly
    over it (apportioned by population), and the choice saying so."""
    from scipy import sparse

    lsoa = base.lsoa
    n = len(lsoa)
    if unit == "lsoa" or unit == "msoa":
        if unit == "lsoa":
            key = lsoa["lsoa_code"].to_numpy(dtype=str)
            names = pd.Series(lsoa["lsoa_name"].fillna(lsoa["lsoa_code"]).to_numpy(), index=key)
            geometry = gpd.GeoSeries(lsoa.geometry.to_numpy(), index=key, crs=BNG)
        else:
            hoods = context.neighbourhoods
            key = hoods.lsoa_to_code.reindex(lsoa["lsoa_code"]).to_numpy(dtype=str)
            names = pd.Series(hoods.names, index=hoods.codes)
            geometry = gpd.GeoSeries(hoods.geometry, index=hoods.codes, crs=BNG)
        codes = pd.Index(sorted(set(key)))
        col = codes.get_indexer(key)
        return codes, names, geometry, sparse.csr_array((np.ones(n), (np.arange(n), col)), shape=(n, len(codes))), None
    g_l = lsoa.geometry.to_numpy()
    drawn = np.flatnonzero(pd.notna(g_l))
    units = polygons.reset_index(drop=True)
    g_u = units.geometry.to_numpy()
    li, ui = shapely.STRtree(g_u).query(g_l[drawn], predicate="intersects")
    li = drawn[li]
    share = shapely.area(shapely.intersection(g_l[li], g_u[ui])) / shapely.area(g_l[li])
    used = np.unique(ui[share > 0])
    full = sparse.csr_array((share, (li, ui)), shape=(n, len(units)))[:, used]
    codes = pd.Index(units["code"].to_numpy(dtype=str)[used])
    order = np.argsort(codes)
    codes, full = codes[order], full[:, order]
    nest = bool((np.asarray(full.max(axis=1).todense()).ravel()[drawn] >= 0.99).all())
    if nest:  # each LSOA whole to the unit holding it (slivers of shared borders are not shares)
        holder = np.asarray(full.argmax(axis=1)).ravel()
        full = sparse.csr_array((np.ones(len(drawn)), (drawn, holder[drawn])), shape=full.shape)
    per_lsoa = np.asarray(full.sum(axis=1)).ravel()
    pop = np.nan_to_num(base.population.to_numpy(dtype=float))
    outside = float((pop * (1 - np.clip(per_lsoa, 0, 1))).sum() / pop.sum()) if pop.sum() else 0.0
    label = catalog.layers[unit].label or unit
    why = ("the district's LSOAs nest in its units: each LSOA's values go to the unit that holds it"
           if nest else "the units do not nest LSOAs: each LSOA's values are apportioned by population, "
           "its residents and records taken as spread evenly over its area, so a unit gets the share "
           "of the LSOA's area inside it")
    why += f"; {outside:.1%} of the district's residents fall in no unit" if outside > 0.0005 else ""
    names = pd.Series(units["name"].to_numpy()[used][order], index=codes)
    geometry = gpd.GeoSeries(shapely.intersection(g_u[used][order], area.polygon), index=codes, crs=BNG)
    return codes, names, geometry, full, Choice("priority neighbourhood units", label, why)


def priority_neighbourhoods(catalog: Catalog, policy: AudiencePolicy, area: StudyArea, base: LsoaBase, scale: Scale,
                            analyses: dict[str, ThemeAnalysis], context: Context, loaded: dict | None = None) -> Overlay:
    """Rank the district's neighbourhoods by threat x vulnerability (see the module)."""
    cfg = catalog.profile.overlay
    unit = cfg.unit or ("lsoa" if policy.audience == "force" else "msoa")
    raw, choices = lsoa_indicators(catalog, base, scale, analyses, context)
    if unit == "msoa" and context.neighbourhoods.codes == sorted(base.lsoa["lsoa_code"]):
        unit = "lsoa"  # the lookup has no MSOA columns: its neighbourhoods are the LSOAs
        choices.append(Choice("priority neighbourhoods by LSOA", "the lookup has no MSOAs",
                              "ranked per LSOA from open data only (no restricted layer enters a "
                              "partner or public ranking)"))
    unmatched = sum(k not in raw for k in cfg.weights)
    if unmatched:  # counted, not named: a partner's profile lacks the restricted indicators
        choices.append(Choice("overlay weights not used", unmatched,
                              "profile.overlay.weights names indicators this profile does not have"))
    raw = {k: v for k, v in raw.items() if cfg.weights.get(k, 1.0) > 0}
    codes, names, geometry, shares, unit_choice = unit_shares(catalog, unit, area, base, context,
                                                              polygons_of(catalog, unit, loaded or {}))
    if unit_choice:
        choices.append(unit_choice)
    unit = unit.upper() if unit in ("lsoa", "msoa") else (catalog.layers[unit].label or unit)
    values = {}
    for name, ind in raw.items():
        num = shares.T @ np.nan_to_num(ind.numerator)
        if ind.denominator is None:
            values[name] = num
        else:
            den = shares.T @ np.nan_to_num(ind.denominator)
            with np.errstate(invalid="ignore", divide="ignore"):
                values[name] = np.where(den > 0, num / den, np.nan)
    indicators = pd.DataFrame(values, index=codes)
    kinds = {k: v.kind for k, v in raw.items()}
    weights = {k: cfg.weights.get(k, 1.0) for k in raw}
    pr = priority(indicators, kinds, weights, cfg.normalise)
    table = pr.table.copy()
    table.insert(0, "name", names.reindex(table.index))
    words = []
    for code, row in table.iterrows():  # one sentence per neighbourhood (a few hundred at most)
        drivers = [row[c] for c in table.columns if c.startswith("driver_") and isinstance(row[c], str)]
        words.append("; ".join(raw[d].words(indicators.at[code, d]) for d in drivers) + "." if drivers
                     else "No indicator above the district's lowest.")
    table["why"] = words
    table.index.name = "lsoa_code" if unit == "LSOA" else "msoa_code" if unit == "MSOA" else "unit_code"
    polygons = geometry.reindex(table.index).to_numpy()
    # where high threat sits beside high vulnerability: bivariate LISA of threat against the
    # neighbours' vulnerability (queen contiguity of the drawn units with both scores)
    s = catalog.profile
    ok = np.array([g is not None for g in polygons]) & np.isfinite(table["threat"]) & np.isfinite(table["vulnerability"])
    table["threat_vulnerability_lisa"] = "not computed"
    varies = ok.sum() >= 3 and np.ptp(table.loc[ok, "threat"]) > 0 and np.ptp(table.loc[ok, "vulnerability"]) > 0
    if ok.sum() >= 3 and not varies:
        choices.append(Choice("bivariate LISA, threat x vulnerability", "not computed",
                              "threat or vulnerability is the same in every unit"))
    if varies:
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
