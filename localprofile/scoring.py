"""A force's MoRiLE-style theme scores (``scoring.yaml``): the model of the file and its loader.

MoRiLE (Management of Risk in Law Enforcement, the NPCC prioritisation method) scores each
threat on harm (physical, psychological, financial, community and environmental), geographic
scope, victim vulnerability, likelihood, the confidence in the assessment and the organisation's
position to respond (capacity and capability). The scales are the force's: the file declares
them (``scale`` for every dimension, ``scales`` for any dimension on its own scale) and every
score must lie on its scale. A score left empty (null) is *missing*, never 0.
:func:`localprofile.engine.theme_scoring.score_themes` combines the scores with the profile's
data-driven indicators.

``templates/scoring_template.yaml`` (shipped, :func:`template_path`) documents every key with
every score empty; ``examples/scoring_worked_example.yaml`` (:func:`worked_example_path`) is
filled with illustrative scores and marked ``example: true``.

>>> sf = load_scoring(template_path())
>>> sorted(sf.themes)[:3], sf.scored_themes(), sf.example
(['all_crime', 'anti_social_behaviour', 'drugs'], [], False)
>>> ex = load_scoring(worked_example_path())
>>> ex.example, ex.bounds("likelihood"), ex.bounds("confidence")
(True, (1.0, 5.0), (1.0, 3.0))
>>> ex.themes["drugs"].values()["physical"]
4.0

Problems are one line naming the file and the key:

>>> parse_scoring({"version": 1, "scale": {"min": 1, "max": 5},
...                "themes": {"drugs": {"likelihood": 7}}}, file="scoring.yaml")
Traceback (most recent call last):
...
localprofile.errors.InputError: scoring.yaml: key 'themes.drugs.likelihood': 7 is outside the scale 1 to 5
"""

from __future__ import annotations

import math
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (BaseModel, BeforeValidator, ConfigDict, StrictBool, ValidationError,
                      ValidationInfo, field_validator, model_validator)

from .catalog import read_yaml  # refuses duplicate keys, as the catalog does
from .errors import InputError

HARM_DIMENSIONS = ("physical", "psychological", "financial", "community", "environmental")
"""The harm sub-scores, in the order MoRiLE's matrix lists them."""
OTHER_DIMENSIONS = ("scope", "victim_vulnerability", "likelihood", "confidence", "capacity",
                    "capability")
DIMENSIONS = HARM_DIMENSIONS + OTHER_DIMENSIONS
"""Every scored dimension; ``scales`` may also name ``harm`` for all five harm sub-scores."""


def _number(v: Any) -> Any:
    """A score or bound: a finite number or null; true/false (YAML's yes/no too) and text are not."""
    if v is None:
        return None
    if isinstance(v, bool):
        raise ValueError(f"must be a number or empty, not {str(v).lower()} (a yes/no value)")
    if not isinstance(v, (int, float)):
        raise ValueError(f"must be a number or empty, not {v!r}")
    if not math.isfinite(v):
        raise ValueError(f"must be a finite number, not {v}")
    return float(v)


Score = Annotated[float | None, BeforeValidator(_number)]
Bound = Annotated[float, BeforeValidator(_number)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _empty_is_default(v: Any) -> Any:
    return {} if v is None else v


class Scale(_Strict):
    """A dimension's scale: scores run from ``min`` to ``max`` (both included)."""

    min: Bound
    max: Bound

    @model_validator(mode="after")
    def _ordered(self) -> Scale:
        if self.min < 0:
            raise ValueError(f"min must be 0 or more (scores are multiplied), not {self.min:g}")
        if self.max <= self.min:
            raise ValueError(f"max ({self.max:g}) must be above min ({self.min:g})")
        return self


class HarmScores(_Strict):
    """The five harm sub-scores; each may be empty (missing)."""

    physical: Score = None
    psychological: Score = None
    financial: Score = None
    community: Score = None
    environmental: Score = None


class ThemeScores(_Strict):
    """One theme's scores; each may be empty (missing). ``note``: the force's reasoning or source."""

    harm: Annotated[HarmScores, BeforeValidator(_empty_is_default)] = HarmScores()
    scope: Score = None
    victim_vulnerability: Score = None
    likelihood: Score = None
    confidence: Score = None
    capacity: Score = None
    capability: Score = None
    note: str | None = None

    def values(self) -> dict[str, float | None]:
        """Every dimension's score (None = missing), harm sub-scores first."""
        harm = self.harm.model_dump()
        return {d: harm[d] if d in HARM_DIMENSIONS else getattr(self, d) for d in DIMENSIONS}

    def missing(self) -> list[str]:
        """The dimensions with no score, in :data:`DIMENSIONS` order."""
        return [d for d, v in self.values().items() if v is None]


class ScoringFile(_Strict):
    """The whole scoring file: version, scales, whether it is an example, scores per theme slug."""

    version: Literal[1]
    example: StrictBool = False  # true: illustrative scores, to be labelled so wherever shown
    source: str | None = None  # who scored, when, on what evidence
    scale: Scale | None = None  # every dimension's scale unless ``scales`` names it
    scales: dict[Literal[DIMENSIONS + ("harm",)], Scale] = {}  # type: ignore[valid-type]
    themes: dict[str, Annotated[ThemeScores, BeforeValidator(_empty_is_default)]]

    @field_validator("themes")
    @classmethod
    def _slugs(cls, v: dict[str, ThemeScores]) -> dict[str, ThemeScores]:
        bad = [s for s in v if not s or not all(c.islower() or c.isdigit() or c == "_" for c in s)]
        if bad:
            raise ValueError(f"'{bad[0]}' is not a theme slug (lower-case letters, digits and _)")
        return v

    def bounds(self, dimension: str) -> tuple[float, float] | None:
        """``(min, max)`` of a dimension's scale, or None when the file declares none for it."""
        s = self.scales.get(dimension)
        if s is None and dimension in HARM_DIMENSIONS:
            s = self.scales.get("harm")
        s = s or self.scale
        return None if s is None else (s.min, s.max)

    def scored_themes(self) -> list[str]:
        """Themes with at least one score."""
        return [t for t, s in self.themes.items() if len(s.missing()) < len(DIMENSIONS)]

    @model_validator(mode="after")
    def _on_scale(self, info: ValidationInfo) -> ScoringFile:
        file = (info.context or {}).get("file", "scores")
        for theme, scores in self.themes.items():
            for dim, value in scores.values().items():
                if value is None:
                    continue
                key = f"themes.{theme}.{'harm.' if dim in HARM_DIMENSIONS else ''}{dim}"
                b = self.bounds(dim)
                if b is None:
                    raise InputError(f"a score needs a scale: set 'scale' (or 'scales.{dim}')",
                                     file=file, key=key)
                if not b[0] <= value <= b[1]:
                    raise InputError(f"{value:g} is outside the scale {b[0]:g} to {b[1]:g}",
                                     file=file, key=key)
        return self


def parse_scoring(raw: Any, *, file: str | Path = "scores") -> ScoringFile:
    """Validate scores already read (a mapping as YAML gives it); any problem is one
    :class:`InputError` naming ``file`` and the key."""
    file = str(file)
    if isinstance(raw, ScoringFile):
        return raw
    if not isinstance(raw, dict):
        raise InputError("a scoring file must be a mapping with 'version' and 'themes' keys", file=file)
    try:
        return ScoringFile.model_validate(raw, context={"file": file})
    except ValidationError as exc:
        # The catalog's rule (catalog.load_catalog): the first error, its key dotted, one line.
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"] if p != "[key]") or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if "[key]" in err["loc"]:  # a mapping key not among those allowed (``scales``)
            msg = f"unknown key (expected {err.get('ctx', {}).get('expected', 'another')})"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif err["type"] == "extra_forbidden":
            msg = "unknown key"
        raise InputError(msg, file=file, key=key) from None


def load_scoring(path: str | Path) -> ScoringFile:
    """Read and validate a scoring file; any problem is one :class:`InputError` naming the file
    and the key (an unknown key, a yes/no score, a score off its scale, a score with no scale)."""
    path = Path(path)
    return parse_scoring(read_yaml(path, "scoring file"), file=path)


def template_path() -> Path:
    """The shipped template: every theme of ``themes.yaml``, every score empty, every key explained."""
    return Path(str(resources.files("localprofile.templates").joinpath("scoring_template.yaml")))


def worked_example_path() -> Path:
    """The worked example (illustrative scores, not any force's), in a source checkout."""
    p = Path(__file__).resolve().parent.parent / "examples" / "scoring_worked_example.yaml"
    if not p.is_file():
        raise InputError("the worked example ships with the source repository", file=p)
    return p
