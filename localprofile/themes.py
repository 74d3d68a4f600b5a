"""Themes: police.uk crime types gathered under a slug (``drugs``, ``soc_indicators`` ...).

>>> themes = resolve_themes({})
>>> list(themes)[:3]
['all_crime', 'anti_social_behaviour', 'drugs']
>>> themes["soc_indicators"].crime_types
('Drugs', 'Possession of weapons', 'Robbery')
>>> import pandas as pd
>>> themes["soc_indicators"].mask(pd.Series(["Drugs", "Burglary", "Robbery"])).tolist()
[True, False, True]
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .errors import InputError

# Every "Crime type" police.uk has published (the first two were retired in 2013).
POLICE_UK_CRIME_TYPES = (
    "Anti-social behaviour",
    "Bicycle theft",
    "Burglary",
    "Criminal damage and arson",
    "Drugs",
    "Other crime",
    "Other theft",
    "Possession of weapons",
    "Public order",
    "Robbery",
    "Shoplifting",
    "Theft from the person",
    "Vehicle crime",
    "Violence and sexual offences",
    "Violent crime",
    "Public disorder and weapons",
)

_SLUG = re.compile(r"[a-z][a-z0-9_]{0,39}")


@dataclass(frozen=True)
class Theme:
    """A theme: ``crime_types`` is empty for "every type"."""

    slug: str
    label: str
    crime_types: tuple[str, ...]
    description: str | None = None

    @property
    def all_types(self) -> bool:
        return not self.crime_types

    def mask(self, crime_type: pd.Series) -> np.ndarray:
        """Which rows of a ``crime_type`` column belong to this theme."""
        if self.all_types:
            return np.ones(len(crime_type), dtype=bool)
        return crime_type.isin(self.crime_types).to_numpy()


def _default_specs() -> dict[str, dict]:
    text = resources.files("localprofile").joinpath("themes.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def resolve_themes(overrides: dict, source: str | Path = "data_catalog.yaml") -> dict[str, Theme]:
    """Default themes merged with a catalog's ``themes:`` section (validated)."""
    specs: dict[str, dict | None] = dict(_default_specs())
    for slug, spec in overrides.items():
        if spec is None:
            specs.pop(slug, None)
        else:
            specs[slug] = spec.model_dump() if hasattr(spec, "model_dump") else spec
    themes: dict[str, Theme] = {}
    for slug, spec in specs.items():
        if not _SLUG.fullmatch(slug):
            raise InputError(
                "a theme slug is lower case letters, digits and _ (e.g. soc_indicators)",
                file=source,
                key=f"themes.{slug}",
            )
        types = spec["crime_types"]
        if not types:
            raise InputError("name at least one crime type (or \"*\" for all)", file=source,
                             key=f"themes.{slug}.crime_types")
        if types == "*":
            types = ()
        unknown = [t for t in types if t not in POLICE_UK_CRIME_TYPES]
        if unknown:
            raise InputError(
                f"'{unknown[0]}' is not a police.uk crime type (known: "
                f"{', '.join(POLICE_UK_CRIME_TYPES)})",
                file=source,
                key=f"themes.{slug}.crime_types",
            )
        themes[slug] = Theme(slug, spec["label"], tuple(types), spec.get("description"))
    if not themes:
        raise InputError("no themes left to profile", file=source, key="themes")
    return themes
