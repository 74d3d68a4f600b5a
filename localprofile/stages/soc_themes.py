"""Stage 12, SOC themes mapped to data: for each theme a force reports on (drugs supply and
county lines, exploitation including CSE, modern slavery, fraud, organised acquisitive crime,
weapons: ``localprofile/soc_themes.yaml``, changed by the catalog's ``profile.soc_themes``), the
profile themes and catalog layers that hold data for it, with their figures, or an explicit
"no data loaded": an intelligence gap, not silence.

A profile theme holds data for a SOC theme when the SOC theme lists its slug, or when its
police.uk crime types all lie among the SOC theme's; a layer (point layer, LSOA table, raster)
when its name or label contains one of the SOC theme's keywords, or its adapter is listed.
What a restricted layer adds follows the audience: the force sees its count; partners read it
as held by the force, with only the suppressed neighbourhood counts partners may see (no count
below ``profile.suppress_below``); public outputs never read restricted layers, and a SOC theme
with no open data says so in the same words whether or not the force holds any.

>>> p = demo_profile("Leeds", "partner")      # the shipped data, as partners see it (cached)
>>> [s.slug for s in p.soc_themes if s.status == "no data loaded"]
['modern_slavery', 'fraud']
>>> ex = next(s for s in p.soc_themes if s.slug == "exploitation")
>>> ex.status, ex.layers[0]["shown"]
('force data only', 'held by the force: suppressed neighbourhood counts')
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from ..catalog import SocThemeSpec
from ..context_layers import NEIGHBOURHOOD_DETAIL
from ..engine.choices import Choice
from ..errors import InputError
from ..profile import Profile

NO_DATA = "no data loaded"
FORCE_ONLY = "force data only"
DATA = "data loaded"


@dataclass(frozen=True)
class SocTheme:
    """One SOC theme in this profile: ``status`` (data loaded, force data only, no data loaded),
    the profile ``themes`` and ``layers`` behind it, each a dict of its figures, and ``needs``:
    the data that would fill the gap."""

    slug: str
    label: str
    status: str
    themes: list[dict[str, Any]] = field(default_factory=list)
    layers: list[dict[str, Any]] = field(default_factory=list)
    needs: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"slug": self.slug, "label": self.label, "status": self.status, "themes": self.themes,
                "layers": self.layers, "needs": self.needs}


@functools.lru_cache(maxsize=3)
def demo_profile(district: str = "Leeds", audience: str = "partner") -> Profile:
    """The shipped demo's profile for ``audience`` (cached), for runnable examples."""
    from ..build import build_profile
    from ..demo import demo_catalog_path

    return build_profile(demo_catalog_path(), district, audience=audience)


def soc_theme_specs(overrides: dict | None = None, source: str = "data_catalog.yaml") -> dict[str, SocThemeSpec]:
    """The shipped SOC themes merged with a catalog's ``profile.soc_themes`` (slug: null removes one).

    >>> list(soc_theme_specs())[:3]
    ['drugs_supply', 'exploitation', 'modern_slavery']
    >>> list(soc_theme_specs({"fraud": None}))[-1]
    'weapons'
    """
    text = resources.files("localprofile").joinpath("soc_themes.yaml").read_text(encoding="utf-8")
    specs: dict[str, SocThemeSpec] = {k: SocThemeSpec(**v) for k, v in yaml.safe_load(text).items()}
    for slug, spec in (overrides or {}).items():
        if spec is None:
            specs.pop(slug, None)
        else:
            specs[slug] = spec if isinstance(spec, SocThemeSpec) else SocThemeSpec(**spec)
    if not specs:
        raise InputError("no SOC themes left to map", file=source, key="profile.soc_themes")
    return specs


def _matches(spec: SocThemeSpec, name: str, label: str | None, adapter: str) -> bool:
    text = f"{name.replace('_', ' ')} {label or ''}".lower()
    return adapter in spec.adapters or any(k.lower() in text for k in spec.keywords)


def _theme_figures(p: Profile, slug: str) -> dict[str, Any]:
    t = p.themes[slug]
    ch = t.change or {}
    conc = None
    if p.theme_scores is not None and slug in p.theme_scores.indicators.index:
        v = float(p.theme_scores.indicators.at[slug, "concentration"])
        conc = v if v == v else None
    return {"theme": slug, "label": t.theme.label, "crimes": t.crimes, "rate_per_1000": t.rate_per_1000,
            "change_percent": ch.get("percent"), "change_p": ch.get("p"), "hot_cells": t.hot_cells,
            "share_in_hot_cells": conc,
            "top_location": None if not t.top_locations else {"location": t.top_locations[0][0],
                                                               "crimes": t.top_locations[0][1]}}


def shown_total(total: int | str, threshold: int) -> str:
    """A district total in words as its audience may see it: "26", "at least 26" (some
    neighbourhood counts hidden), "fewer than 5".

    >>> shown_total(26, 5), shown_total("26+", 5), shown_total("0+", 5), shown_total("<5", 5)
    ('26', 'at least 26', 'some, in neighbourhood counts withheld as small', 'fewer than 5')
    """
    if isinstance(total, int):
        return f"{total:,}"
    if total.endswith("+"):
        n = int(total[:-1])
        return f"at least {n:,}" if n else "some, in neighbourhood counts withheld as small"
    if total.startswith("<"):
        return f"fewer than {total[1:]}"
    return total


def _layer_figures(p: Profile, name: str) -> dict[str, Any]:
    """A layer's figures as this audience may see them."""
    spec = p.layers[name].spec
    out = {"layer": name, "label": spec.label or name, "adapter": spec.adapter,
           "sensitivity": spec.sensitivity, "synthetic": spec.synthetic}
    threshold = p.settings.suppress_below
    if name in p.context:
        c = p.context[name]
        hoods = list(zip(p.neighbourhoods.codes, p.neighbourhoods.names, c.neighbourhood_counts))
        if c.detail == NEIGHBOURHOOD_DETAIL:  # partners: only counts at or above the threshold
            shown = [(code, nm, int(v)) for code, nm, v in hoods if str(v).isdigit() and int(v) >= threshold]
            out["shown"] = "held by the force: suppressed neighbourhood counts"
        else:
            shown = [(code, nm, int(v)) for code, nm, v in hoods if int(v) > 0]
            out["shown"] = "points" if spec.sensitivity == "open" else "force data: points"
        shown.sort(key=lambda r: (-r[2], r[0]))
        out["in_district"] = c.total
        out["in_district_text"] = shown_total(c.total, threshold)
        out["top_neighbourhoods"] = [{"code": c_, "name": n_, "count": v} for c_, n_, v in shown[:3]]
    elif name in p.lsoa_tables:
        t = p.lsoa_tables[name]
        out["shown"] = "LSOA table"
        out["totals"] = {label: t.totals[col] for col, label in t.columns.items()}
    elif name in p.rasters:
        r = p.rasters[name]
        out["shown"] = "raster"
        out["district_value"] = r.district_value
    else:  # a restricted table or raster: force outputs only
        out["shown"] = "held by the force"
    return out


def soc_themes(profile: Profile) -> tuple[list[SocTheme], list[Choice]]:
    """Each SOC theme of the profile's catalog with the data that holds it (see the module)."""
    p = profile
    specs = soc_theme_specs(p.settings.soc_themes, p.catalog_file)
    out = []
    readable = {n for n in p.layers if n in p.context or n in p.lsoa_tables or n in p.rasters}
    for slug, spec in specs.items():
        themes = [s for s, t in p.themes.items() if s in spec.themes
                  or (t.theme.crime_types and set(t.theme.crime_types) <= set(spec.crime_types))]
        layers = [n for n in p.layers if n in readable and _matches(spec, n, p.layers[n].spec.label, p.layers[n].spec.adapter)]
        figures = [_layer_figures(p, n) for n in layers]
        open_data = themes or any(f["sensitivity"] == "open" for f in figures)
        status = DATA if open_data or (figures and p.audience == "force") else FORCE_ONLY if figures else NO_DATA
        out.append(SocTheme(slug, spec.label, status, [_theme_figures(p, s) for s in themes], figures, spec.needs))
    missing = [s.label for s in out if s.status == NO_DATA]
    choices = [Choice("SOC themes mapped to data", f"{len(out) - len(missing)} of {len(out)}",
                      "a profile theme holds data for a SOC theme when its crime types lie among the "
                      "SOC theme's; a layer when its name or label holds one of its keywords "
                      "(soc_themes.yaml, profile.soc_themes)"
                      + (f"; no data loaded for {', '.join(missing)}" if missing else ""))]
    return out, choices
