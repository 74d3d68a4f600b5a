"""Build a district profile: catalog -> layer adapters -> study area -> engine -> Profile.

:func:`build_profile` composes the stages of :mod:`localprofile.stages` in order; each takes
values and returns values with its own choices.

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

import dataclasses
from pathlib import Path

from .catalog import Catalog, load_catalog
from .loading import Progress
from .profile import Profile
from .stages.action_plan import action_plan, read_plan
from .stages.assemble import assemble_profile, profile_backtest
from .stages.audience import audience_policy
from .stages.briefings import briefing_units
from .stages.context import context_layers
from .stages.inputs import layer_summaries, load_inputs
from .stages.judgements import intelligence_gaps, key_judgements
from .stages.lsoa_base import lsoa_base
from .stages.methods import plan_methods
from .stages.overlay import priority_neighbourhoods
from .stages.place import place_crimes
from .stages.rtm import risk_terrains, rtm_themes
from .stages.theme_scores import theme_scores
from .stages.nominals import nominal_priorities
from .stages.orientation import orientation
from .stages.scale import choose_cell_size, choose_scale
from .stages.soc_themes import soc_themes
from .stages.theme import analyse_theme, dual_result
from .themes import resolve_themes

__all__ = ["build_profile", "choose_cell_size", "layer_summaries", "place_crimes"]


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
    policy = audience_policy(catalog, audience)
    plan = read_plan(catalog, themes)  # the 4P plan's text: checked before the analysis
    inputs = load_inputs(catalog, policy, progress)
    placed = place_crimes(catalog, inputs.roles, inputs.loaded, district, inputs.lookup_file, progress)
    masks = {slug: t.mask(placed.crimes["crime_type"]) for slug, t in themes.items()}
    scale = choose_scale(settings, placed, masks, cell_size=cell_size, bandwidth=bandwidth)
    base = lsoa_base(placed.area, inputs.frame)
    methods = plan_methods(catalog, placed, scale, base, inputs.frame)
    analyses = {}
    for slug, theme in themes.items():
        if progress:
            progress(f"theme {slug}")
        analyses[slug] = analyse_theme(slug, theme, masks[slug], settings, placed, scale, base, methods)
    context = context_layers(catalog, policy, inputs, placed, base, scale, progress)
    if progress:
        progress("priority neighbourhoods")
    overlay = priority_neighbourhoods(catalog, policy, placed.area, base, scale, analyses, context,
                                      inputs.loaded)
    if progress:
        progress("risk terrain")
    rtm = risk_terrains(catalog, policy, inputs.loaded, scale.grid,
                        {s: analyses[s].result.count for s in rtm_themes(catalog, themes)})
    duals = [dual_result(d, themes, masks, placed.located, placed.x, placed.y, scale.grid,
                         scale.bandwidths, catalog) for d in settings.dual_kde]
    table, bt_choices = profile_backtest(test_months, placed.crimes, masks, placed.located, placed.x,
                                         placed.y, scale.grid, scale.bandwidths, catalog)
    nominals = nominal_priorities(catalog, policy, inputs.loaded, placed, methods.months)
    briefing = briefing_units(catalog, policy, placed.area, base, context, placed, inputs.loaded, list(themes))
    labels = orientation(catalog, inputs, placed, scale.buffer, context.neighbourhoods)
    profile = assemble_profile(catalog, policy, inputs, placed, scale, base, methods, analyses, masks,
                               context, overlay, rtm, theme_scores(catalog, analyses, scale, policy.audience), nominals, duals, table,
                               bt_choices, labels)
    return judge(dataclasses.replace(profile, briefing=briefing), plan)


def judge(profile: Profile, plan=None) -> Profile:
    """The report's data-driven judgements, from the assembled profile: the SOC themes mapped
    to data, the key judgements, the 4P action plan, the intelligence gaps and recommendations
    (a new Profile with them and their choices); ``plan``: the plan file's text (read_plan)."""
    soc, soc_choices = soc_themes(profile)
    judgements, j_choices = key_judgements(profile, soc)
    four_p, plan_choices = action_plan(profile, plan)
    gaps, recommendations = intelligence_gaps(profile, soc, four_p)
    return dataclasses.replace(profile, soc_themes=soc, judgements=judgements, action_plan=four_p, gaps=gaps,
                               recommendations=recommendations,
                               choices=[*profile.choices, *soc_choices, *j_choices, *plan_choices])
