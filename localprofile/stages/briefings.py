"""Stage 12, briefing units: the neighbourhoods printed PCSO briefing sheets are made for (MSOAs
unless ``profile.briefings.unit`` names LSOAs or a polygons layer), each neighbourhood's most
frequent police.uk map points, and, for the force only, its restricted layers' counts. The sheets
themselves (:mod:`localprofile.render.briefings`) only select from these.

A record belongs to the neighbourhood holding its LSOA (the LSOA the profile counts it in); with
a polygons layer that does not nest LSOAs, an LSOA goes whole to the unit holding most of its area.

>>> from localprofile.demo import demo_briefing_units
>>> b = demo_briefing_units("Leeds", "force")       # the shipped data, as the force sees it
>>> b.unit, len(b.codes), list(b.restricted.columns)[:2]  # partners get no restricted column
('MSOA', 107, ["OCG members' home addresses", 'CSE locations'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..engine.choices import Choice
from ..errors import InputError
from ..study_area import StudyArea
from .audience import AudiencePolicy
from .context import Context
from .lsoa_base import LsoaBase
from .overlay import default_themes, polygons_of, unit_shares
from .place import PlacedCrimes

DEFAULT_LOOK_FOR = "briefing_look_for.md"


@dataclass
class BriefingUnits:
    """What the briefing sheets select from: the units (codes, names, polygons), each district
    LSOA's unit, the top map points per unit (``locations``: unit, location, crimes, x, y, most
    crimes first), restricted layer counts per unit (``restricted``: units x layer labels; no
    columns outside force outputs), the mapped themes and the "what to look for" text."""

    unit: str
    codes: list[str]
    names: list[str]
    geometry: np.ndarray
    lsoa_unit: pd.Series
    locations: pd.DataFrame
    restricted: pd.DataFrame
    themes: list[str]
    look_for: str
    look_for_source: str
    choices: list[Choice] = field(default_factory=list)


def look_for_text(catalog: Catalog) -> tuple[str, str]:
    """The "what to look for" text and where it came from (the catalog's file, else the shipped one)."""
    name = catalog.profile.briefings.look_for
    if name is None:
        return resources.files("localprofile").joinpath(DEFAULT_LOOK_FOR).read_text(encoding="utf-8"), "shipped text"
    path = catalog.base_dir / name
    if not path.is_file():
        raise InputError("the briefings' look_for file is not found", file=path,
                         key="profile.briefings.look_for")
    try:
        return path.read_text(encoding="utf-8-sig"), path.name
    except UnicodeDecodeError:
        raise InputError("the briefings' look_for file is not UTF-8 text", file=path,
                         key="profile.briefings.look_for") from None


def briefing_units(catalog: Catalog, policy: AudiencePolicy, area: StudyArea, base: LsoaBase, context: Context,
                   placed: PlacedCrimes, loaded: dict, themes: list[str]) -> BriefingUnits:
    """The briefing sheets' units and what each sheet lists (see the module)."""
    cfg = catalog.profile.briefings
    unknown = [t for t in (cfg.themes or []) if t not in themes]
    if unknown:
        raise InputError(f"profile.briefings.themes: unknown theme(s) {', '.join(unknown)} "
                         f"(themes: {', '.join(themes)})", key="profile.briefings.themes")
    overlay_themes = catalog.profile.overlay.themes
    mapped = list(cfg.themes or overlay_themes or default_themes(themes))
    unit = cfg.unit.lower() if cfg.unit.lower() in ("lsoa", "msoa") else cfg.unit
    try:
        codes, names, geometry, shares, _ = unit_shares(catalog, unit, area, base, context,
                                                        polygons_of(catalog, unit, loaded))
    except InputError as exc:  # the same check as the overlay's, under this setting's key
        raise InputError(str(exc).replace("profile.overlay.unit", "profile.briefings.unit"),
                         key="profile.briefings.unit") from None
    lsoa_codes = base.lsoa["lsoa_code"].to_numpy(dtype=str)
    holder = np.asarray(shares.argmax(axis=1)).ravel()
    has = np.asarray(shares.sum(axis=1)).ravel() > 0
    lsoa_unit = pd.Series(np.where(has, np.asarray(codes)[holder], None), index=lsoa_codes).dropna()
    label = unit.upper() if unit in ("lsoa", "msoa") else (catalog.layers[unit].label or unit)
    # each record's unit through the LSOA it is counted in; map points are text and coordinates
    sel = placed.in_district & placed.located
    frame = pd.DataFrame({
        "unit": lsoa_unit.reindex(placed.assignment.lsoa_code[sel].to_numpy()).to_numpy(),
        "location": placed.crimes.loc[sel, "location"].to_numpy(),
        "x": placed.x[sel], "y": placed.y[sel],
    }).dropna(subset=["unit", "location"])
    counts = frame.groupby(["unit", "location", "x", "y"], sort=False).size().rename("crimes").reset_index()
    counts = counts.sort_values(["unit", "crimes", "location", "x", "y"], ascending=[True, False, True, True, True])
    locations = counts.groupby("unit", sort=False).head(cfg.top_locations).reset_index(drop=True)
    locations = locations[["unit", "location", "crimes", "x", "y"]]
    restricted = pd.DataFrame(index=pd.Index(list(codes), name="unit"))
    if policy.audience == "force":  # partner and public sheets carry nothing of a restricted layer
        for name, layer in context.layers.items():
            if layer.sensitivity != "restricted" or layer.points is None:
                continue
            u = lsoa_unit.reindex(layer.points["lsoa_code"].to_numpy()).dropna()
            restricted[layer.label] = u.value_counts().reindex(restricted.index, fill_value=0).astype(int)
    text, source = look_for_text(catalog)
    choices = [
        Choice("briefing sheet units", label,
               "one printed sheet per neighbourhood (MSOA) for PCSOs" if unit == "msoa"
               else "set by the catalog (profile.briefings.unit)"),
        Choice("briefing map themes", ", ".join(mapped),
               "their Gi* hot cells and repeat locations are drawn on each sheet"
               + ("" if cfg.themes else " (the priority overlay's themes)")),
    ]
    if not unit_nests(shares):
        choices.append(Choice("briefing units and LSOAs", "whole LSOAs",
                              "the units do not nest LSOAs: each LSOA, with its records, goes to the "
                              "unit holding most of its area"))
    return BriefingUnits(label, [str(c) for c in codes], [str(n) for n in names.reindex(codes).fillna(pd.Series(codes, index=codes))],
                         np.asarray(geometry.reindex(codes).to_numpy(), dtype=object), lsoa_unit, locations,
                         restricted, mapped, text, source, choices)


def unit_nests(shares) -> bool:
    """Whether every LSOA with a share lies whole in one unit."""
    m = np.asarray(shares.max(axis=1).todense()).ravel() if hasattr(shares.max(axis=1), "todense") \
        else np.asarray(shares.max(axis=1)).ravel()
    m = m[m > 0]
    return bool((m >= 0.99).all())
