"""Harm weights per police.uk crime type, from ``harm_weights.yaml`` (or a force's own file).

Each crime type has a ``weight`` and the ``source`` it comes from. The shipped file leaves every
weight unset (see its header: no published figure for police.uk's broad categories is to hand), so a
profile says harm weighting is unconfigured instead of inventing numbers. Given a complete file,
every volume in the profile also comes harm-weighted: counts per LSOA, KDE and Gi*.

>>> h = load_harm_weights(None)
>>> h.configured, len(h.missing(["Drugs", "Robbery"]))
(False, 2)
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import InputError
from .themes import POLICE_UK_CRIME_TYPES


class _Weight(BaseModel):
    model_config = ConfigDict(extra="forbid")
    weight: float | None = Field(None, gt=0)
    source: str | None = None


@dataclass
class HarmWeights:
    weights: dict[str, float]  # crime type -> weight, for the types with one
    sources: dict[str, str]
    file: str

    @property
    def configured(self) -> bool:
        return bool(self.weights)

    def missing(self, crime_types) -> list[str]:
        """Crime types among ``crime_types`` that have no weight."""
        return sorted(set(crime_types) - set(self.weights))

    def of(self, crime_type: pd.Series) -> np.ndarray:
        """Each row's weight (NaN where its type has none)."""
        return crime_type.map(self.weights).to_numpy(dtype=float, na_value=np.nan)


def load_harm_weights(path: str | Path | None) -> HarmWeights:
    """Read a harm-weights file (the shipped, unconfigured one when ``path`` is None)."""
    if path is None:
        text = resources.files("localprofile").joinpath("harm_weights.yaml").read_text(encoding="utf-8")
        label = "localprofile/harm_weights.yaml"
    else:
        path = Path(path)
        if not path.is_file():
            raise InputError("harm weights file not found", file=path)
        text, label = path.read_text(encoding="utf-8"), str(path)
    try:
        raw = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({str(exc).splitlines()[0]})", file=label) from None
    if not isinstance(raw, dict):
        raise InputError("a harm weights file maps crime types to {weight, source}", file=label)
    weights, sources = {}, {}
    for crime_type, spec in raw.items():
        if crime_type not in POLICE_UK_CRIME_TYPES:
            raise InputError(f"'{crime_type}' is not a police.uk crime type", file=label, key=str(crime_type))
        try:
            w = _Weight(**(spec or {}))
        except (ValidationError, TypeError) as exc:
            msg = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
            raise InputError(msg, file=label, key=str(crime_type)) from None
        if w.weight is not None:
            if not w.source:
                raise InputError("a weight needs its source (who published it)", file=label, key=f"{crime_type}.source")
            weights[crime_type], sources[crime_type] = w.weight, w.source
    return HarmWeights(weights, sources, label)
