"""The HTML profile: one self-contained file (Leaflet, CSS and map data inline; no CDN, no tiles).

Jinja autoescaping is on for the whole template: every string that comes from data (locations,
LSOA names, catalog text) is escaped. Only the generated map code and the bundled Leaflet are
inserted as markup.
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path

import jinja2
import numpy as np
from markupsafe import Markup

from ..engine.permutation import ADJUST_NAMES
from ..profile import Profile
from .maps import context_map, deterministic_ids, leaflet_assets, priority_map, theme_map

LEAFLET_VERSION = "1.9.4"


def _template(name: str) -> str | None:
    """A template's text (``sections/<name>.html.j2`` for a section partial); None when there is
    no such file, so that ``{% include ... ignore missing %}`` can skip it."""
    f = resources.files("localprofile.templates").joinpath(*name.split("/"))
    return f.read_text(encoding="utf-8") if f.is_file() else None


_ENV = jinja2.Environment(
    loader=jinja2.FunctionLoader(_template),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["count"] = lambda v: _count(v)


def _pct(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.1f}%"


def _count(v: int | str) -> str:
    """A count with thousands separators; suppressed counts ("<5") as they are."""
    return f"{v:,}" if isinstance(v, (int, np.integer)) else str(v)


AUDIENCE_TEXT = {
    "force": "force use: contains restricted force data at point level",
    "partner": "partners: restricted force data only as suppressed neighbourhood counts",
    "public": "the public: open data only",
}


def _num(v: float | None, digits: int = 1, missing: str = "n/a") -> str:
    return missing if v is None or not math.isfinite(v) else f"{v:,.{digits}f}"


def months_text(months: list[str]) -> str:
    """How the report names its period: "2 months (2016-07, 2017-07)" when months are missing
    between the first and the last, else "12 months (2016-01 to 2016-12)"."""
    if not months:
        return "no months"
    if len(months) == 1:
        return f"1 month ({months[0]})"
    y0, m0 = map(int, months[0].split("-"))
    y1, m1 = map(int, months[-1].split("-"))
    contiguous = (y1 - y0) * 12 + (m1 - m0) + 1 == len(months)
    if contiguous:
        return f"{len(months)} months ({months[0]} to {months[-1]})"
    return f"{len(months)} months ({', '.join(months)})"


def render_html(profile: Profile) -> str:
    """The complete HTML document of ``profile``: the same text every time (each map numbers
    its elements; anything else drawn here is numbered too)."""
    with deterministic_ids("report"):
        return _render_html(profile)


def _render_html(profile: Profile) -> str:
    js, css = leaflet_assets()
    maps = {slug: theme_map(profile, slug) for slug in profile.themes}
    ctx_map = context_map(profile)
    prio_map = priority_map(profile)
    return _ENV.get_template("profile.html.j2").render(
        p=profile,
        maps=maps,
        context_map=ctx_map,
        priority_map=prio_map,
        all_maps=[*maps.values(), *([prio_map] if prio_map else []), *([ctx_map] if ctx_map else [])],
        audience_text=AUDIENCE_TEXT.get(profile.audience, ""),
        emerging_counts={slug: list(t.emerging_counts["arcgis"].items())
                         for slug, t in profile.themes.items() if t.emerging_counts is not None},
        adjust_name=ADJUST_NAMES[profile.settings.p_adjust],
        synthetic_layers=[l.spec.label or n for n, l in profile.layers.items() if l.spec.synthetic],
        nominals_synthetic=any(l.spec.synthetic for l in profile.layers.values() if l.spec.adapter == "nominals"),
        pct=_pct,
        num=_num,
        months_text=months_text(profile.months),
        change_periods=None if profile.change_periods is None else tuple(map(months_text, profile.change_periods)),
        catalog_name=Path(profile.catalog_file).name,
        leaflet_js=Markup(js),
        leaflet_css=Markup(css),
        report_css=Markup(_template("profile.css")),
        leaflet_version=LEAFLET_VERSION,
    )
