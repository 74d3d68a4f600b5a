"""Stage 14, the 4P action plan: for each priority neighbourhood (the overlay's top units) and
each overlay theme, a Pursue / Prevent / Protect / Prepare table pre-filled with prompts drawn
from the data, beside the partnership's own text from the plan file the catalog names
(``profile.plan``; a blank one is ``templates/plan_template.yaml``).

Prompts, each recounted from the profile:

- **Pursue**: the busiest named police.uk map points inside the theme's Gi* hot cells in the
  neighbourhood ("On or near Briggate (23 crimes)": targeted patrols, disruption);
- **Prevent**: schools and other vulnerability point layers (``overlay: vulnerability``) in the
  neighbourhood within ``overlay.near_hot_cells_m`` of the theme's hot cells (school liaison,
  diversion);
- **Protect**: repeat locations in the neighbourhood (target hardening, problem-solving with
  owners);
- **Prepare**: emerging hot spots (when the months allow them), else a rise in the theme's
  crimes a month (review at tasking, a community impact assessment).

For the force, restricted layers add prompts of their own (OCG members' addresses: Pursue; CSE
locations: Protect; vulnerable persons near hot cells: Prevent), under "force data"; partners
and the public never get them. Plan-file text is data: the report escapes it.

>>> from localprofile.stages.soc_themes import demo_profile
>>> p = demo_profile("Leeds", "partner")      # the shipped data, as partners see it (cached)
>>> plan = p.action_plan
>>> plan.unit, len(plan.neighbourhoods) >= 10, list(dict.fromkeys(r.p for r in plan.neighbourhoods[0].rows))
('MSOA', True, ['Pursue', 'Prevent', 'Protect', 'Prepare'])
>>> any(pr.restricted for n in plan.neighbourhoods for r in n.rows for pr in r.prompts)
False
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
import shapely
from pydantic import BaseModel, BeforeValidator, ConfigDict, StrictBool, ValidationError

from ..catalog import read_yaml
from ..engine.choices import Choice
from ..errors import InputError
from ..profile import Profile
from .overlay import default_themes

P_STAGES = ("pursue", "prevent", "protect", "prepare")
FORCE_DATA = "force_data"  # the rows of restricted-layer prompts (force outputs only)
EMERGING = ("New Hot Spot", "Consecutive Hot Spot", "Intensifying Hot Spot")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PlanEntry(_Strict):
    """One action of the plan: what, who owns it, with whom, by when, and how it stands."""

    action: str
    owner: str | None = None
    partners: list[str] = []
    start: dt.date | None = None
    due: dt.date | None = None
    review: dt.date | None = None
    status: Literal["proposed", "agreed", "in progress", "done", "dropped"] | None = None
    note: str | None = None


def _listed(v: Any) -> Any:
    return [v] if isinstance(v, dict) else v


Entries = Annotated[list[PlanEntry], BeforeValidator(_listed)]


class PlanFile(_Strict):
    """The plan file: ``plan`` is neighbourhood code -> theme slug -> P -> one action or a list."""

    version: Literal[1]
    example: StrictBool = False  # true: illustrative text, labelled so wherever shown
    source: str | None = None  # who wrote the plan, when
    audiences: list[Literal["force", "partner", "public"]] = ["force", "partner"]
    plan: dict[str, dict[str, dict[Literal[P_STAGES], Entries]]] = {}  # type: ignore[valid-type]


def load_plan(path: str | Path, themes=None) -> PlanFile:
    """Read and validate a plan file; any problem is one :class:`InputError` naming the file and
    the key (``themes``: the profile's theme slugs, which the plan's theme keys must be among).

    >>> from localprofile.stages.action_plan import load_plan, template_path
    >>> load_plan(template_path()).plan
    {}
    """
    path = Path(path)
    raw = read_yaml(path, "plan")  # "plan file not found"
    if not isinstance(raw, dict):
        raise InputError("a plan file must be a mapping with 'version' and 'plan' keys", file=path)
    raw = {**raw, "plan": raw.get("plan") or {}}
    try:
        plan = PlanFile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"] if p != "[key]") or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "literal_error" and "[key]" in err["loc"]:
            msg = f"not one of {', '.join(P_STAGES)}"
        raise InputError(msg, file=path, key=key) from None
    if themes is not None:
        for code, by_theme in plan.plan.items():
            for slug in by_theme:
                if slug not in themes and slug != FORCE_DATA:
                    raise InputError(f"unknown theme (themes: {', '.join(themes)})", file=path,
                                     key=f"plan.{code}.{slug}")
    return plan


def template_path() -> Path:
    """The shipped blank plan file."""
    from importlib import resources

    return Path(str(resources.files("localprofile.templates").joinpath("plan_template.yaml")))


@dataclass(frozen=True)
class Prompt:
    """A data-driven prompt: its sentence, the figures behind it, and whether it comes from a
    restricted layer (force outputs only)."""

    text: str
    figures: dict[str, Any] = field(default_factory=dict)
    restricted: bool = False


@dataclass(frozen=True)
class PlanRow:
    """One P of one theme in one neighbourhood: the data's prompts and the plan file's actions."""

    theme: str
    theme_label: str
    p: str
    prompts: list[Prompt]
    entries: list[dict[str, Any]]


@dataclass(frozen=True)
class PlanNeighbourhood:
    code: str
    name: str
    rank: int | None
    why: str
    rows: list[PlanRow]


@dataclass(frozen=True)
class ActionPlan:
    """The 4P plan: its ``unit`` (LSOA, MSOA ...), one entry per neighbourhood (priority order,
    then any others the plan file names), and where the editable text came from."""

    unit: str
    neighbourhoods: list[PlanNeighbourhood]
    file: str | None
    example: bool
    source: str | None
    shown: bool  # the plan file's text is shown to this audience

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit, "plan_file": self.file, "example": self.example, "source": self.source,
                "plan_text_shown": self.shown,
                "neighbourhoods": [{"code": n.code, "name": n.name, "rank": n.rank, "why": n.why,
                                    "rows": [{"theme": r.theme, "p": r.p,
                                              "prompts": [{"text": pr.text, "figures": pr.figures} for pr in r.prompts],
                                              "entries": r.entries} for r in n.rows]}
                                   for n in self.neighbourhoods]}


def _hot_cells(p: Profile, slug: str):
    """The theme's hot cells: flat indices, and their union (None without one)."""
    t = p.themes[slug]
    g, classes = (p.hexgrid, t.hex.hotspot) if t.hex is not None else (p.grid, t.hotspot)
    hot = classes == "hot"
    return np.flatnonzero(hot.ravel()), (shapely.union_all(g.cells(hot)) if hot.any() else None)


def _unit_lsoas(p: Profile) -> pd.Series | None:
    """District LSOA code -> the overlay unit's code (None for a polygon layer's units)."""
    unit = p.overlay.unit
    if unit == "LSOA":
        return pd.Series(p.lsoa["lsoa_code"].to_numpy(), index=p.lsoa["lsoa_code"].to_numpy())
    if unit == "MSOA":
        return p.neighbourhoods.lsoa_to_code
    return None


def _points_in(p: Profile, pts, code: str, geom, lsoa_unit: pd.Series | None) -> np.ndarray:
    """Which of a context layer's points lie in the unit (by their LSOA, as the overlay counts)."""
    if lsoa_unit is not None:
        return (pts["lsoa_code"].map(lsoa_unit) == code).to_numpy()
    return shapely.contains(geom, pts.geometry.to_numpy()) if geom is not None else np.zeros(len(pts), bool)


def _label(p: Profile, slug: str) -> str:
    return p.themes[slug].theme.label.split(" (")[0]


def _theme_prompts(p: Profile, slug: str, code: str, name: str, geom, lsoa_unit, hot, d: float) -> dict[str, list[Prompt]]:
    t = p.themes[slug]
    label = _label(p, slug)
    out: dict[str, list[Prompt]] = {k: [] for k in P_STAGES}
    hot_idx, hot_union = hot
    # Pursue: the busiest named map points in the theme's hot cells inside the unit
    cl = t.cell_locations
    if cl is not None and len(cl) and geom is not None:
        inside = cl[cl["cell"].isin(hot_idx)]
        inside = inside[shapely.contains_xy(geom, inside["x"].to_numpy(), inside["y"].to_numpy())]
        inside = inside.sort_values(["crimes", "location", "x", "y"], ascending=[False, True, True, True]).head(3)
        if len(inside):
            named = [f"{r.location} ({r.crimes:,})" for r in inside.itertuples()]
            listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
            out["pursue"].append(Prompt(
                f"{listed}: the busiest {label} map point{'s' if len(named) > 1 else ''} in hot spots in {name}: "
                "Pursue — targeted patrols and disruption of the offenders linked to them",
                {"locations": [{"location": r.location, "crimes": int(r.crimes), "x": float(r.x), "y": float(r.y)}
                               for r in inside.itertuples()]}))
    # Prevent: schools and other vulnerability layers in the unit near the theme's hot cells
    for lname, c in p.context.items():
        spec = p.layers[lname].spec if lname in p.layers else None
        role = spec.overlay if spec is not None and spec.overlay else ("vulnerability" if spec is not None and spec.adapter == "schools" else None)
        if role != "vulnerability" or c.points is None or hot_union is None:
            continue
        pts = c.points
        near = _points_in(p, pts, code, geom, lsoa_unit) & shapely.dwithin(pts.geometry.to_numpy(), hot_union, d)
        n = int(near.sum())
        if not n:
            continue
        restricted = c.sensitivity == "restricted"
        names = [] if restricted or "name" not in pts else sorted(str(v) for v in pts.loc[near, "name"].dropna())[:3]
        what = c.label + (" (SYNTHETIC)" if c.synthetic else "")
        action = ("safeguarding visits and referral" if restricted
                  else "school liaison, education on exploitation and county lines" if spec.adapter == "schools"
                  or "school" in c.label.lower() else "partner engagement and safeguarding advice")
        out["prevent"].append(Prompt(
            f"{what}: {n} within {d:,.0f} m of the {label} hot spots in {name}"
            + (f" ({', '.join(names)}{', ...' if n > 3 else ''})" if names else "") + f": Prevent — {action}",
            {"layer": lname, "count": n, "within_m": d, "names": names}, restricted=restricted))
    # Protect: repeat locations in the unit
    rep = t.repeats
    if rep is not None and len(rep) and geom is not None:
        rp = shapely.point_on_surface(rep.geometry.to_numpy())
        here = rep[shapely.contains(geom, rp)]
        if len(here):
            top = here.iloc[0]
            out["protect"].append(Prompt(
                f"{len(here)} repeat location{'s' if len(here) != 1 else ''} of {label} crime in {name}, "
                f"{int(here['crimes'].sum()):,} crimes (the busiest: {top['location_1']}, {int(top['crimes']):,}): "
                "Protect — target hardening and problem-solving with owners and managers",
                {"repeat_locations": len(here), "crimes": int(here["crimes"].sum()),
                 "busiest": {"location": top["location_1"], "crimes": int(top["crimes"])}}))
    # Prepare: emerging hot spots, else a rise a month
    arcgis, _ = t.shown_emerging
    if arcgis is not None and geom is not None:
        g = p.hexgrid if t.hex is not None else p.grid
        xc, yc = g.centres()
        xc, yc = xc[g.in_area], yc[g.in_area]
        em = np.isin(np.asarray(arcgis).astype(str), EMERGING) & shapely.contains_xy(geom, xc, yc)
        if em.any():
            out["prepare"].append(Prompt(
                f"{int(em.sum())} emerging hot spot cell{'s' if em.sum() != 1 else ''} of {label} crime (new, "
                "consecutive or intensifying): Prepare — plan for escalation and displacement; review at tasking",
                {"emerging_cells": int(em.sum())}))
    col = f"{label} change"
    if not out["prepare"] and col in p.overlay.indicators:
        v = float(p.overlay.indicators.at[code, col])
        if v > 0:
            out["prepare"].append(Prompt(
                f"{label} crimes up {v:,.1f} a month in {name}: Prepare — community impact assessment and "
                "review at the next tasking meeting", {"change_per_month": v}))
    return out


def _force_prompts(p: Profile, code: str, name: str, geom, lsoa_unit) -> dict[str, list[Prompt]]:
    """Restricted threat layers in the unit (force outputs only)."""
    out: dict[str, list[Prompt]] = {k: [] for k in P_STAGES}
    for lname, c in p.context.items():
        spec = p.layers[lname].spec if lname in p.layers else None
        if c.sensitivity != "restricted" or c.points is None or spec is None or spec.overlay != "threat":
            continue
        n = int(_points_in(p, c.points, code, geom, lsoa_unit).sum())
        if not n:
            continue
        what = c.label + (" (SYNTHETIC)" if c.synthetic else "")
        cse = "cse" in f"{lname} {c.label}".lower() or "exploitation" in c.label.lower()
        stage, action = (("protect", "safeguarding and licensing checks at the premises, with partners") if cse
                         else ("pursue", "intelligence development and disruption"))
        out[stage].append(Prompt(f"{what}: {n} in {name}: {stage.title()} — {action}",
                                 {"layer": lname, "count": n}, restricted=True))
    return out


def read_plan(catalog, themes) -> PlanFile | None:
    """The catalog's plan file (``profile.plan``, relative to the catalog), checked against the
    profile's ``themes``; None when the catalog names none. Read before the build's analysis, so
    that a bad plan file stops it at once."""
    path = catalog.profile.plan
    return load_plan(catalog.base_dir / path, themes=list(themes)) if path else None


def action_plan(profile: Profile, plan: PlanFile | None) -> tuple[ActionPlan | None, list[Choice]]:
    """The 4P plan of the profile's priority neighbourhoods (see the module), with the text of
    ``plan`` (:func:`read_plan`) where its audiences include the profile's."""
    p = profile
    o = p.overlay
    if o is None:
        return None, []
    choices = []
    path = p.settings.plan
    shown = plan is not None and (p.audience is None or p.audience in plan.audiences)
    if plan is not None and not shown:
        choices.append(Choice("action plan text", "not shown",
                              f"the plan file ({path}) is for {', '.join(plan.audiences)} only (its 'audiences' key)"))
    themes = [s for s in (p.settings.overlay.themes or default_themes(p.themes)) if s in p.themes]
    table = o.table.set_index(o.table.columns[0])
    top = list(table.index[: o.top])
    named = [c for c in (plan.plan if shown else {}) if c in table.index and c not in top]
    unknown = sorted(c for c in (plan.plan if shown else {}) if c not in table.index)
    if unknown:
        choices.append(Choice("plan entries not in this profile", len(unknown),
                              f"the plan file names {o.unit} codes this profile does not rank (another "
                              "audience's units, or another district's)"))
    lsoa_unit = _unit_lsoas(p)
    hot = {s: _hot_cells(p, s) for s in themes}
    d = p.settings.overlay.near_hot_cells_m
    hoods = []
    for code in top + named:
        row = table.loc[code]
        geom = row.geometry if row.geometry is not None and not row.geometry.is_empty else None
        name = str(row["name"]) if isinstance(row["name"], str) else code
        by_theme = {s: _theme_prompts(p, s, code, name, geom, lsoa_unit, hot[s], d) for s in themes}
        labels = {s: _label(p, s) for s in themes}
        if p.audience == "force":
            by_theme[FORCE_DATA] = _force_prompts(p, code, name, geom, lsoa_unit)
            labels[FORCE_DATA] = "Force data (restricted)"
        entries = plan.plan.get(code, {}) if shown else {}
        for s in entries:  # a theme the plan names that the overlay does not rank
            if s not in by_theme and s in p.themes:
                by_theme[s], labels[s] = {k: [] for k in P_STAGES}, _label(p, s)
        rows = [PlanRow(s, labels[s], stage.title(),
                        [pr for pr in by_theme[s][stage] if p.audience == "force" or not pr.restricted],
                        [{k: (v.isoformat() if isinstance(v, dt.date) else v) for k, v in e.model_dump().items()}
                         for e in entries.get(s, {}).get(stage, [])])
                for stage in P_STAGES for s in by_theme]
        rows = [r for r in rows if r.theme != FORCE_DATA or r.prompts or r.entries]
        rows.sort(key=lambda r: P_STAGES.index(r.p.lower()))
        rank = int(row["rank"]) if code in top else None
        hoods.append(PlanNeighbourhood(str(code), name, rank, str(row["why"]), rows))
    choices.append(Choice("4P action plan", f"the top {len(top)} {o.unit}s x {len(themes)} themes",
                          "prompts recounted from hot cells, named map points, repeat locations, "
                          f"vulnerability layers within {d:g} m of hot cells and change; "
                          + (f"editable text from {path}" if shown else "no plan file text (profile.plan)")))
    return ActionPlan(o.unit, hoods, path, bool(plan and plan.example), plan.source if plan else None, shown), choices
