"""Stage 10, risk terrain: each point layer the audience may use (schools, partner layers, and
for the force its restricted layers) as candidate risk factors by proximity and density at 1, 2
and 3 cell widths, selected by a cross-validated Poisson model of each RTM theme's crimes per
cell (:mod:`localprofile.engine.rtm`). Restricted layers are never factors of a partner or
public risk terrain.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.build import build_profile
>>> p = build_profile(demo_catalog_path(), "Leeds", audience="partner")
>>> rtm = p.rtm["soc_indicators"]
>>> sorted(set(rtm.factors["layer"]))           # open layers only, for partners
['Schools', 'Secondary schools and colleges (partner layer)']
>>> float(np.nanmin(rtm.surface))
1.0
"""

from __future__ import annotations

import numpy as np

from ..catalog import Catalog
from ..engine.choices import Choice
from ..engine.rtm import RiskTerrain, risk_factors, risk_terrain
from ..errors import InputError
from .audience import AudiencePolicy
from .overlay import default_themes


def rtm_points(catalog: Catalog, policy: AudiencePolicy, loaded: dict) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The placed points of every point layer ``policy``'s audience may build a risk terrain
    from, by label: open layers for everyone, restricted ones for the force only."""
    out = {}
    for name in catalog.with_role("points"):
        if name not in loaded or (name in policy.restricted and policy.audience != "force"):
            continue
        g = loaded[name].frame.geometry
        ok = (g.notna() & ~g.is_empty).to_numpy()
        if ok.any():
            out[catalog.layers[name].label or name] = (g.x.to_numpy()[ok], g.y.to_numpy()[ok])
    return out


def rtm_themes(catalog: Catalog, themes) -> list[str]:
    """The themes given a risk terrain: ``profile.rtm.themes``, else the overlay's."""
    cfg = catalog.profile
    chosen = cfg.rtm.themes if cfg.rtm.themes is not None else (
        cfg.overlay.themes if cfg.overlay.themes is not None else default_themes(themes))
    unknown = [t for t in chosen if t not in themes]
    if unknown:
        raise InputError(f"profile.rtm.themes: unknown theme(s) {', '.join(unknown)} (themes: {', '.join(themes)})",
                         key="profile.rtm.themes")
    return list(chosen)


def rtm_distances(catalog: Catalog, cell_size: float) -> tuple[list[float], Choice]:
    """The spatial influence distances, and the choice."""
    given = catalog.profile.rtm.distances_m
    if given:
        return list(given), Choice("RTM influence distances (m)", ", ".join(f"{d:g}" for d in given),
                                   "set by the catalog (profile.rtm.distances_m)")
    d = [cell_size * k for k in (1, 2, 3)]
    return d, Choice("RTM influence distances (m)", ", ".join(f"{v:g}" for v in d),
                     "1, 2 and 3 cell widths (RTMDx's usual spatial influence: a block or two)")


def risk_terrains(catalog: Catalog, policy: AudiencePolicy, loaded: dict, grid, counts: dict[str, np.ndarray],
                  ) -> tuple[dict[str, RiskTerrain], list[Choice]]:
    """A risk terrain per theme of ``counts`` (crimes per cell) on ``grid``, from the point
    layers the audience may use; no terrain when there is no such layer."""
    points = rtm_points(catalog, policy, loaded)
    if not points or not counts:
        return {}, []
    folds = catalog.profile.rtm.folds
    if folds > int(grid.in_area.sum()):
        raise InputError(f"profile.rtm.folds: {folds} folds but only {int(grid.in_area.sum())} cells in the district",
                         key="profile.rtm.folds")
    distances, choice = rtm_distances(catalog, grid.cell_size)
    factors = risk_factors(points, grid, distances)
    out, choices = {}, [choice]
    for slug, c in counts.items():
        rt = risk_terrain(c, grid.in_area, factors, folds=catalog.profile.rtm.folds, seed=0)
        out[slug] = rt
        choices += [Choice(f"{ch.what}, {slug}", ch.value, ch.why) for ch in rt.choices]
    return out, choices
