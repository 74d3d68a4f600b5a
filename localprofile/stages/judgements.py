"""Stage 13, the executive summary: five to eight key judgements drawn from the built profile,
in plain words, each with its confidence (high, medium or low) and the reason for it.

What rose or fell (and whether beyond chance: the exact Poisson test's p-value is given to the
force only; partners and the public read "a rise unlikely to be chance"), where crime
concentrates (share in Gi* hot cells, in the most deprived 10% of LSOAs), where it recurs
(repeat locations, the busiest named map points), which neighbourhoods come first and why (the
priority overlay), the top theme of the MoRiLE-style table, the force's own layers (force only)
and the SOC themes with no data. Confidence comes from the data: the share of crimes with a map
point, the months loaded (a trend from fewer than 12 months is low confidence), illustrative or
SYNTHETIC inputs. Restricted layers feed only the force's judgements.

>>> from localprofile.stages.soc_themes import demo_profile
>>> p = demo_profile("Leeds", "partner")      # the shipped data, as partners see it (cached)
>>> 5 <= len(p.judgements) <= 8, {j.confidence for j in p.judgements} <= {"high", "medium", "low"}
(True, True)
>>> p.judgements[0].confidence, "p =" in p.judgements[0].text   # 2 months: a trend is low confidence
('low', False)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import shapely

from ..engine.choices import Choice
from ..profile import Profile
from .overlay import default_themes
from .soc_themes import NO_DATA, SocTheme

ALPHA = 0.05  # a change is "unlikely to be chance" below this exact-test p-value


@dataclass(frozen=True)
class Judgement:
    """A key judgement: its ``topic``, the sentence, its confidence and why, the figures behind
    it, and whether it draws on restricted layers (force outputs only)."""

    topic: str
    text: str
    confidence: str  # high, medium or low
    why: str
    figures: dict[str, Any] = field(default_factory=dict)
    restricted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "text": self.text, "confidence": self.confidence, "why": self.why,
                "figures": self.figures, "restricted": self.restricted}


def _months_words(months: list[str]) -> str:
    if len(months) <= 3:
        return f"{len(months)} month{'s' if len(months) != 1 else ''} ({', '.join(months)})"
    return f"{len(months)} months ({months[0]} to {months[-1]})"


def _listing(items: list[str], last: str = "and") -> str:
    """"a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {last} " + items[-1]


def _lower(label: str) -> str:
    """A theme label inside a sentence: "Anti-social behaviour" -> "anti-social behaviour",
    acronyms kept ("SOC indicators")."""
    head = label.split(" (")[0]
    return head if head[:2].isupper() else head[:1].lower() + head[1:]


def _trend_confidence(months: list[str]) -> tuple[str, str]:
    n = len(months)
    if n >= 24:
        return "high", f"{n} months loaded: two years or more tell a trend from seasonal variation"
    if n >= 12:
        return "medium", f"{n} months loaded: a year, but one year cannot separate trend from a one-off year"
    return "low", (f"only {_months_words(months)} loaded: a change between so few months cannot be told "
                   "from seasonal or one-off variation; load at least 12 consecutive months")


def _spatial_confidence(p: Profile, slug: str) -> tuple[str, str]:
    t = p.themes[slug]
    cov = t.crimes_located / t.crimes if t.crimes else 0.0
    n = len(p.months)
    level = "high" if cov >= 0.95 and n >= 12 else "medium" if cov >= 0.8 else "low"
    why = (f"{cov:.0%} of its {t.crimes:,} crimes have a police.uk map point (each anonymised to the "
           f"nearest of a fixed set of points)")
    if n < 12:
        why += f"; {_months_words(p.months)} of data, so the pattern may not hold over a year"
    return level, why


def _change_words(t, audience: str | None) -> str:
    ch = t.change
    per = "a month " if ch["months_before"] > 1 or ch["months_after"] > 1 else ""
    b, a = ch["per_month_before"], ch["per_month_after"]
    fmt = (lambda v: f"{v:,.0f}") if per == "" else (lambda v: f"{v:,.1f}")
    verb = "rose" if ch["percent"] > 0 else "fell" if ch["percent"] < 0 else "did not change"
    text = f"{verb} {abs(ch['percent']):.1f}% ({fmt(b)} to {fmt(a)} crimes {per}".rstrip() + ")"
    if ch["p"] < ALPHA:
        text += f", a {'rise' if ch['percent'] > 0 else 'fall'} unlikely to be chance"
    else:
        text += ", a change chance alone could give"
    if audience == "force":
        text += f" (exact Poisson test, p = {ch['p']:.3f})" if ch["p"] >= 0.001 else " (exact Poisson test, p < 0.001)"
    return text


def _change_overall(p: Profile) -> Judgement | None:
    slug = "all_crime" if "all_crime" in p.themes else next(iter(p.themes))
    t = p.themes[slug]
    if not t.change:
        return None
    before, after = p.change_periods
    level, why = _trend_confidence(p.months)
    text = (f"In {_listing(after)} against {_listing(before)}, {_lower(t.theme.label)} in {p.district.name} "
            f"{_change_words(t, p.audience)}.")
    return Judgement("trend", text, level, why,
                     {"theme": slug, **{k: t.change[k] for k in ("before", "after", "percent", "p")}})


def _change_themes(p: Profile) -> Judgement | None:
    rows = [(s, t) for s, t in p.themes.items() if s != "all_crime" and t.change]
    if not rows:
        return None
    beyond = [(s, t) for s, t in rows if t.change["p"] < ALPHA and t.change["percent"] != 0]
    rises = sorted((r for r in beyond if r[1].change["percent"] > 0), key=lambda r: (-r[1].change["percent"], r[0]))
    falls = sorted((r for r in beyond if r[1].change["percent"] < 0), key=lambda r: (r[1].change["percent"], r[0]))
    chance = [s for s, t in rows if (s, t) not in beyond]
    parts = [f"{_lower(t.theme.label)} {_change_words(t, p.audience)}" for _, t in rises[:3] + falls[:2]]
    text = ("By theme, " + "; ".join(parts) + "." if parts else "No theme changed by more than chance alone could give.")
    if chance and parts:
        text += (" The change in " + _listing([_lower(p.themes[s].theme.label) for s in chance])
                 + " could be chance.")
    level, why = _trend_confidence(p.months)
    figures = {s: {"percent": t.change["percent"], "p": t.change["p"], "beyond_chance": t.change["p"] < ALPHA}
               for s, t in rows}
    return Judgement("theme change", text, level, why, figures)


def focus_theme(p: Profile) -> str:
    """The theme the summary looks at closely: the first of the overlay's themes."""
    themes = p.settings.overlay.themes or default_themes(p.themes)
    return next((s for s in themes if s in p.themes), next(iter(p.themes)))


def hot_share(p: Profile, slug: str) -> dict[str, float]:
    """A theme's crimes mapped in the district's cells, those in its Gi* hot cells, their share,
    and the share of the district's area the hot cells cover."""
    t = p.themes[slug]
    g, src = (p.hexgrid, t.hex) if t.hex is not None else (p.grid, t)
    hot = src.hotspot == "hot"
    inside = float(src.count[g.in_area].sum())
    in_hot = float(src.count[g.in_area & hot].sum())
    area = p.district.polygon.area
    hot_area = shapely.intersection(shapely.union_all(g.cells(hot)), p.district.polygon).area if hot.any() else 0.0
    return {"mapped": inside, "in_hot_cells": in_hot, "share": in_hot / inside if inside else float("nan"),
            "hot_cells": int(hot.sum()), "area_share": hot_area / area if area else float("nan")}


def _concentration(p: Profile, slug: str) -> Judgement:
    t = p.themes[slug]
    h = hot_share(p, slug)
    cells = ("Gi* hot cells" if p.audience == "force" else "statistically significant hot spots")
    text = (f"{t.theme.label.split(' (')[0]} crime concentrates: {h['share']:.0%} of the {h['mapped']:,.0f} crimes "
            f"mapped in the district fall in {h['hot_cells']} {cells} covering {h['area_share']:.0%} of its area")
    dep = t.deprivation.get("most_deprived_10pc")
    res = p.residents_deprived.get("most_deprived_10pc")
    if dep is not None and res is not None:
        text += (f"; {dep:.0%} were in the most deprived 10% of England's neighbourhoods (LSOAs), "
                 f"home to {res:.0%} of residents")
    level, why = _spatial_confidence(p, slug)
    return Judgement("concentration", text + ".", level, why,
                     {"theme": slug, **h, "most_deprived_10pc": dep, "residents_most_deprived_10pc": res})


def _repeats(p: Profile, slug: str) -> Judgement | None:
    t = p.themes[slug]
    rs = t.repeat_summary
    if rs is None:
        return None
    label = t.theme.label.split(" (")[0]
    named = "; ".join(f"{loc} ({n:,})" for loc, n, _, _ in t.top_locations[:3])
    share = rs["crimes_in_clusters"] / t.crimes_located if t.crimes_located else float("nan")
    min_n = next((c.value for c in p.choices if c.what == f"repeat locations: fewest crimes, {slug}"), None)
    text = (f"{label} crime recurs at few places: {rs['clusters']:,} map points had "
            f"{f'{min_n} or more' if min_n else 'repeated'} crimes, {rs['crimes_in_clusters']:,} of {t.crimes_located:,} "
            f"({share:.0%}); the busiest named map points were {named}.")
    figures = {"theme": slug, **{k: rs[k] for k in ("clusters", "crimes_in_clusters")}, "share": share,
               "top_locations": [{"location": loc, "crimes": n} for loc, n, _, _ in t.top_locations[:3]]}
    if "all_crime" in p.themes and slug != "all_crime" and p.themes["all_crime"].repeat_summary:
        a = p.themes["all_crime"]
        ra = a.repeat_summary
        text += (f" Across all crime, {ra['clusters']:,} repeat locations hold {ra['crimes_in_clusters']:,} crimes "
                 f"({ra['crimes_in_clusters'] / a.crimes_located:.0%}).")
        figures["all_crime"] = {k: ra[k] for k in ("clusters", "crimes_in_clusters")}
    return Judgement("repeat locations", text, "medium",
                     "police.uk map points stand for several nearby addresses, so a repeat location is a "
                     "street or block, not one premises; " + _spatial_confidence(p, slug)[1], figures)


def _restricted_labels(p: Profile) -> set[str]:
    return {c.label for c in p.context.values() if c.sensitivity == "restricted"}


def _priority(p: Profile) -> Judgement | None:
    o = p.overlay
    if o is None or not len(o.table):
        return None
    top = o.table.head(3)
    names = [f"{r['name']} ({r.iloc[0]})" for _, r in top.iterrows()]
    first = top.iloc[0]
    text = (f"Priority neighbourhoods ({o.unit}s, threat x vulnerability): {names[0]} comes first, for "
            f"{first['why'][:1].lower() + first['why'][1:].rstrip('.')}"
            + (f"; then {' and '.join(names[1:])}" if len(names) > 1 else "") + ".")
    stay = int(o.sensitivity[["halved", "doubled"]].to_numpy().min()) if len(o.sensitivity) else o.top
    restricted = sorted(_restricted_labels(p) & set(o.kinds)) if p.audience == "force" else []
    synthetic = [c.label for c in p.context.values() if c.synthetic and c.label in restricted]
    level = "medium" if stay >= 0.8 * o.top else "low"
    why = (f"when any one indicator's weight is halved or doubled, at least {stay} of the top {o.top} stay "
           f"in it")
    if len(p.months) < 12:
        level = "low" if level == "low" else "medium"
        why += f"; the crime indicators rest on {_months_words(p.months)}"
    if synthetic:
        level = "low"
        why += f"; SYNTHETIC layers feed the ranking ({', '.join(synthetic)})"
    return Judgement("priority neighbourhoods", text, level, why,
                     {"unit": o.unit, "top": [{"code": str(r.iloc[0]), "name": r["name"], "rank": int(r["rank"]),
                                               "why": r["why"]} for _, r in top.iterrows()], "stable_in_top": stay},
                     restricted=bool(restricted))


def _theme_priority(p: Profile) -> Judgement | None:
    ts = p.theme_scores
    if ts is None or not len(ts.table):
        return None
    order = [s for s in ts.table.index]
    lab = lambda s: p.themes[s].theme.label.split(" (")[0]  # noqa: E731
    scored = bool(ts.file)
    if scored:
        text = (f"On the MoRiLE-style theme table (the force's scores beside the data), {lab(order[0])} ranks "
                f"first" + (f", then {_lower(lab(order[1]))}" if len(order) > 1 else "") + ".")
        if ts.example:
            text += " The scores are a WORKED EXAMPLE, illustrative only."
            level, why = "low", "the theme scores are the worked example's illustrative figures, not an assessment"
        else:
            level, why = "medium", (f"the force's own scores ({ts.source or ts.file}) beside "
                                    f"{_months_words(p.months)} of data")
    else:
        text = (f"Ranked on the data alone (volume, change, harm, concentration in hot spots), {lab(order[0])} "
                f"comes first" + (f", then {_lower(lab(order[1]))}" if len(order) > 1 else "") + ".")
        level, why = ("low" if len(p.months) < 12 else "medium",
                      "no theme scores in this profile: the ranking rests on the data alone, "
                      f"{_months_words(p.months)}")
    return Judgement("theme priority", text, level, why,
                     {"ranked": order, "scored": scored, "example": bool(ts.example)})


def _force_layers(p: Profile) -> Judgement | None:
    """Restricted threat layers in the top priority neighbourhoods: force outputs only."""
    o = p.overlay
    if p.audience != "force":
        return None
    layers = [c for c in p.context.values() if c.sensitivity == "restricted" and c.points is not None
              and isinstance(c.total, int)]
    if not layers:
        return None
    top = o.table.head(o.top).iloc[:, 0].tolist() if o is not None else []
    parts, figures = [], {}
    for c in layers:
        in_top = int(o.indicators.loc[top, c.label].sum()) if o is not None and c.label in o.indicators else None
        figures[c.name] = {"in_district": c.total, "in_top_priority": in_top}
        parts.append(f"{c.total:,} {c.label}" + (f" ({in_top:,} in the top {len(top)} {o.unit}s)" if in_top is not None else ""))
    synthetic = [c.label for c in layers if c.synthetic]
    text = "Force data in the district: " + "; ".join(parts) + "."
    if synthetic:
        text += " These layers are SYNTHETIC, not real."
    level, why = (("low", f"SYNTHETIC layers ({', '.join(synthetic)}): demonstration data, not intelligence")
                  if synthetic else ("medium", "the force's own records, as the catalog's vintages state"))
    return Judgement("force data", text, level, why, figures, restricted=True)


def _soc_gaps(soc: list[SocTheme]) -> Judgement | None:
    missing = [s for s in soc if s.status == NO_DATA]
    if not missing:
        return None
    names = [_lower(s.label.split(",")[0]) for s in missing]
    text = (f"No data is loaded for {_listing(names, 'or')}: this profile cannot assess "
            f"{'that threat' if len(names) == 1 else 'those threats'} (see the intelligence gaps).")
    return Judgement("intelligence gaps", text, "high",
                     "no profile theme or catalog layer this audience may read holds data for them",
                     {"no_data": [s.slug for s in missing]})


def key_judgements(profile: Profile, soc: list[SocTheme]) -> tuple[list[Judgement], list[Choice]]:
    """The profile's key judgements (see the module), in the order the summary gives them."""
    p = profile
    slug = focus_theme(p)
    made = [_change_overall(p), _change_themes(p), _concentration(p, slug), _repeats(p, slug), _priority(p),
            _theme_priority(p), _force_layers(p), _soc_gaps(soc)]
    out = [j for j in made if j is not None and (p.audience == "force" or not j.restricted)]
    return out[:8], [Choice("key judgements", len(out[:8]),
                            f"drawn from the profile's figures, the closer look on {slug} (the overlay's first "
                            "theme); confidence from map-point coverage, months loaded and illustrative or "
                            "SYNTHETIC inputs" + ("" if p.audience == "force" else
                                                   "; restricted layers feed force judgements only"))]


@dataclass(frozen=True)
class Gap:
    """An intelligence gap (``topic``, ``text``) and what would close it (``recommendation``)."""

    topic: str
    text: str
    recommendation: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"topic": self.topic, "text": self.text, "recommendation": self.recommendation}


LSOA_CHOICES = ("LSOA codes converted", "LSOAs without a population figure", "LSOAs without an IMD decile",
                "LSOAs without a boundary")


def intelligence_gaps(profile: Profile, soc: list[SocTheme], plan) -> tuple[list[Gap], list[str]]:
    """Section 9: the gaps in this profile's data and the recommendations that would close them,
    from the SOC themes without data, the months loaded, record accounts with drops, LSOA vintage
    and coverage notes, a missing scoring or plan file and SYNTHETIC layers."""
    p = profile
    gaps: list[Gap] = []
    for s in soc:
        if s.status == NO_DATA:
            gaps.append(Gap("SOC theme", f"{s.label}: no data loaded.", f"{s.label}: load {s.needs}." if s.needs else None))
        elif s.status == "force data only":
            gaps.append(Gap("SOC theme", f"{s.label}: only force data, shown here as suppressed neighbourhood counts.",
                            f"{s.label}: add the partners' own data (safeguarding referrals, council records) by LSOA."))
    n = len(p.months)
    if n < 12:
        gaps.append(Gap("Months loaded", f"Only {_months_words(p.months)} of police.uk data loaded: trends, seasonality "
                                  "and emerging hot spots cannot be assessed.",
                        "Load at least a full year of consecutive months (36 for trends): "
                        "`localprofile fetch --months` downloads them."))
    for name, l in p.layers.items():
        a = l.account
        if isinstance(a.n_dropped, int) and a.n_dropped > 0:
            why = "; ".join(f"{k}: {v:,}" for k, v in a.dropped.items())
            share = a.n_dropped / a.read if a.read else 0.0
            gaps.append(Gap("Rows dropped", f"{l.spec.label or name}: {a.n_dropped:,} of {a.read:,} rows dropped "
                                              f"({share:.1%}; {why}).",
                            f"{l.spec.label or name}: check the source extract; dropped rows are missing from every figure."
                            if share >= 0.01 else None))
    for c in p.choices:
        if c.what in LSOA_CHOICES:
            gaps.append(Gap("LSOA geography", f"{c.what}: {c.value} ({c.why}).", None))
    pop = p.editions.get("population", "")
    years = [int(w) for w in pop.replace("(", " ").split() if w.isdigit() and len(w) == 4]
    if years and p.months and int(p.months[-1][:4]) - years[0] >= 5:
        gaps.append(Gap("Population", f"Population from {pop}, {int(p.months[-1][:4]) - years[0]} years before the "
                                      "latest crimes: rates per 1,000 residents may be off where population has changed.",
                        "Use the latest Census (2021, with LSOA 2021 boundaries and IoD 2025) or mid-year estimates."))
    ts = p.theme_scores
    scores_hidden = any(c.what == "theme scores" and c.value == "not shown" for c in p.choices)
    if not p.settings.scoring:
        gaps.append(Gap("Theme scores", "No MoRiLE-style theme scores: themes rank on the data alone.",
                        "Score the themes at the partnership's assessment meeting (templates/scoring_template.yaml; "
                        "profile.scoring in the catalog)."))
    elif ts is not None and ts.example and not scores_hidden:
        gaps.append(Gap("Theme scores", "The theme scores are the WORKED EXAMPLE's illustrative figures.",
                        "Replace the worked-example theme scores with the force's own assessment (templates/scoring_template.yaml)."))
    if not p.settings.plan:
        gaps.append(Gap("Action plan", "No plan file: the 4P plan holds the data's prompts only.",
                        "Write the partnership's actions, owners and dates into a plan file "
                        "(templates/plan_template.yaml; profile.plan in the catalog)."))
    elif plan is not None and plan.example and plan.shown:
        gaps.append(Gap("Action plan", "The 4P plan's text is the WORKED EXAMPLE's, illustrative only.",
                        "Replace the worked-example plan with the partnership's agreed actions (templates/plan_template.yaml)."))
    synthetic = [l.spec.label or n for n, l in p.layers.items() if l.spec.synthetic]
    if synthetic:
        gaps.append(Gap("SYNTHETIC data", f"SYNTHETIC layers, not real data: {', '.join(synthetic)}.",
                        "Replace the SYNTHETIC layers with the force's own extracts before the profile is used."))
    recs = list(dict.fromkeys(g.recommendation for g in gaps if g.recommendation))
    return gaps, recs
