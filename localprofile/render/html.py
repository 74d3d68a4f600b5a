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
from . import charts
from .maps import context_map, deterministic_ids, leaflet_assets, priority_map, theme_map

LEAFLET_VERSION = "1.9.4"


def _template(name: str) -> str | None:
    """A template's text (``sections/<name>.html.j2`` for a section partial); None when there is
    no such file, so that ``{% include ... ignore missing %}`` can skip it."""
    f = resources.files("localprofile.templates").joinpath(*name.split("/"))
    return f.read_text(encoding="utf-8") if f.is_file() else None


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """jinja2's cache of compiled templates in this user's temporary folder (its own checks:
    a folder only this user can open; an entry whose template text changed is compiled again),
    a cache that cannot be written or read being no error. Compiling the profile's 22 templates
    takes 0.13 s of every build, loading them compiled 4 ms. Nothing of the output
    depends on it."""

    def load_bytecode(self, bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # noqa: BLE001  unreadable or damaged (pickle, marshal): compile again
            bucket.reset()

    def dump_bytecode(self, bucket) -> None:
        try:
            super().dump_bytecode(bucket)
        except OSError:  # read-only or full: the next build compiles again
            pass


def _bytecode_cache() -> jinja2.BytecodeCache | None:
    try:
        return _BytecodeCache()
    except (RuntimeError, OSError):  # no safe temporary folder (one another user owns, say)
        return None


_ENV = jinja2.Environment(
    loader=jinja2.FunctionLoader(_template),
    bytecode_cache=_bytecode_cache(),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters["count"] = lambda v: _count(v)
_ENV.filters["total"] = lambda v: _total(v)


def _pct(v: float | None) -> str:
    return "n/a" if v is None or not math.isfinite(v) else f"{100 * v:.1f}%"


def _count(v: int | str) -> str:
    """A count with thousands separators; suppressed counts ("<5") as they are."""
    return f"{v:,}" if isinstance(v, (int, np.integer)) else str(v)


def _total(v: int | str) -> str:
    """A total as a reader says it: "at least 26" for a partner's "26+" (some counts behind it
    hidden), else as :func:`_count`."""
    if isinstance(v, str) and v.endswith("+") and v[:-1].isdigit():
        n = int(v[:-1])
        return f"at least {n:,}" if n else "more than 0 (every count behind it is small and hidden)"
    return _count(v)


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


# Sections written by other partials, included only when their file exists: the table of
# contents lists them only then. (number, partial, title)
OPTIONAL_SECTIONS = {
    "summary": (2, "sections/summary.html.j2", "Executive summary"),
    "action_plan": (8, "sections/action_plan.html.j2", "4P action plan"),
    "gaps": (9, "sections/gaps.html.j2", "Intelligence gaps and recommendations"),
}

REVIEW_AFTER_MONTHS = 6  # a review date, when the catalog gives none: this long after the data ends


def review_date(settings, months: list[str]) -> tuple[str, str]:
    """The date the profile is next reviewed and how it was set: the catalog's
    ``profile.review_date``, else the last day of the month six months after the latest month
    of data (never the wall clock).

    >>> from localprofile.catalog import ProfileSettings
    >>> review_date(ProfileSettings(), ["2016-07", "2017-07"])[0]
    '2018-01-31'
    """
    import calendar

    if settings.review_date is not None:
        return settings.review_date.isoformat(), "set in the catalog (profile.review_date)"
    if not months:
        return "not set", "no months of data are loaded and the catalog sets no profile.review_date"
    y, m = map(int, months[-1].split("-"))
    k = y * 12 + (m - 1) + REVIEW_AFTER_MONTHS
    y, m = divmod(k, 12)
    d = f"{y:04d}-{m + 1:02d}-{calendar.monthrange(y, m + 1)[1]:02d}"
    return d, (f"{REVIEW_AFTER_MONTHS} months after the latest month of data ({months[-1]}); "
               "set profile.review_date in the catalog to choose another")


def _count_key(v: int | str) -> tuple[int, int]:
    """Sort key, largest first: a number by its value, then "<N" (small, hidden), then "*"."""
    if isinstance(v, (int, np.integer)) or (isinstance(v, str) and v.isdigit()):
        return (0, -int(v))
    return (1, 0) if str(v).startswith("<") else (2, 0)


def _neighbourhood_rows(profile: Profile, layers: list) -> list[dict]:
    """The neighbourhoods where any of ``layers`` has a record, with their counts, sorted by value
    (the first layer's count, then the next...), largest first, then by name."""
    hoods = profile.neighbourhoods
    rows = []
    for i, (code, name) in enumerate(zip(hoods.codes, hoods.names)):
        cells = [c.neighbourhood_counts[i] for c in layers]
        if any(str(v) != "0" for v in cells):
            rows.append({"code": code, "name": name, "cells": cells})
    rows.sort(key=lambda r: (*[_count_key(v) for v in r["cells"]], r["name"], r["code"]))
    return rows


def _ocg_presence(profile: Profile) -> list[dict]:
    """OCG presence from the restricted point layers that carry an OCG field (force outputs only):
    members, distinct OCGs, members by role, and the neighbourhoods with most members."""
    if profile.audience != "force":
        return []
    out = []
    for name, c in profile.context.items():
        if c.sensitivity != "restricted" or c.points is None:
            continue
        col = next((k for k in c.points.columns if "ocg" in str(k).lower()), None)
        if col is None:
            continue
        per_ocg = c.points[col].dropna().astype(str).value_counts()
        per_ocg = per_ocg.sort_index().sort_values(ascending=False, kind="stable")
        out.append({"label": c.label, "synthetic": c.synthetic, "members": c.total, "field": col,
                    "ocgs": len(per_ocg), "per_ocg": list(per_ocg.items())[:10],
                    "categories": c.categories, "hoods": _neighbourhood_rows(profile, [c])[:10]})
    return out


def _rates(profile: Profile) -> dict[str, dict]:
    """Each theme's rate per 1,000 residents over the period, per month on average, and a year's
    (the monthly average times 12) when at least 12 months are loaded."""
    n = len(profile.months)
    out = {}
    for slug, t in profile.themes.items():
        per_month = t.rate_per_1000 / n if n else float("nan")
        out[slug] = {"period": t.rate_per_1000, "per_month": per_month,
                     "annual": per_month * 12 if n >= 12 else None}
    return out


def css_string(text: str) -> Markup:
    """``text`` as a quoted CSS string, every character but letters, digits, spaces and hyphens
    as a hex escape (so no quote, backslash or ``</style>`` can end it).

    >>> css_string('A "B"</style>')
    Markup('"A \\\\22 B\\\\22 \\\\3c \\\\2f style\\\\3e "')
    """
    return Markup('"' + "".join(c if c.isascii() and (c.isalnum() or c in " -") else f"\\{ord(c):x} "
                                for c in text) + '"')


def _toc(profile: Profile, present: dict[str, bool]) -> list[tuple[str, str, str]]:
    """(number, anchor, title) of every section, in order."""
    toc = [("1", "cover", "Cover")]
    if present["summary"]:
        toc.append(("2", "section-2", OPTIONAL_SECTIONS["summary"][2]))
    toc += [("3", "threat", "Threat by theme"), ("4", "vulnerability", "Vulnerability"),
            ("5", "ocg", "Organised crime groups" + (" and nominals" if profile.audience == "force" else "")),
            ("6", "priority", "Priority neighbourhoods"), ("7", "theme-priorities", "Theme priorities")]
    for key in ("action_plan", "gaps"):
        if present[key]:
            num, _, title = OPTIONAL_SECTIONS[key]
            toc.append((str(num), f"section-{num}", title))
    toc += [("10", "data-quality", "Data quality and caveats"), ("11", "methodology", "Methodology"),
            ("12", "sources", "Sources, licences and attribution")]
    return toc


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
    present = {k: _template(path) is not None for k, (_, path, _) in OPTIONAL_SECTIONS.items()}
    review, review_why = review_date(profile.settings, profile.months)
    themes_mix = sorted(((t.theme.label, t.crimes) for t in profile.themes.values() if not t.theme.all_types),
                        key=lambda kv: (-kv[1], kv[0]))
    trend_charts = {slug: charts.trend_chart(profile.months, t.monthly, t.theme.label)
                    for slug, t in profile.themes.items()}
    prio_chart = None
    if profile.overlay is not None and len(profile.overlay.table):
        top = profile.overlay.table.head(profile.overlay.top)
        prio_chart = charts.paired_bar_chart(
            [(f"{r['name']} ({r.iloc[0]})", float(r["threat"]), float(r["vulnerability"]))
             for _, r in top.iterrows()],
            f"Priority scores: threat and vulnerability of the top {len(top)} {profile.overlay.unit}s")
    restricted_hood = [c for c in profile.context.values() if c.detail == "neighbourhood counts"]
    people = [(n, c) for n, c in profile.context.items() if c.sensitivity == "restricted"
              and n in profile.layers and profile.layers[n].spec.overlay == "vulnerability"]
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
        marking_css=css_string(profile.marking),
        present=present,
        toc=_toc(profile, present),
        review_date=review,
        review_why=review_why,
        rates=_rates(profile),
        trend_charts=trend_charts,
        mix_chart=charts.bar_chart(themes_mix, "Crimes by theme (themes overlap; all crime and ASB not drawn)")
        if themes_mix else None,
        priority_chart=prio_chart,
        hood_rows=_neighbourhood_rows(profile, restricted_hood),
        hood_layers=restricted_hood,
        people=[(n, c, _neighbourhood_rows(profile, [c])[:10]) for n, c in people],
        ocg_presence=_ocg_presence(profile),
        technical=profile.audience == "force" or profile.audience is None,
        restricted_loaded=any(l.spec.sensitivity == "restricted" for l in profile.layers.values()),
    )
