"""Stage 5, the LSOA base: the district's LSOAs with their population and deprivation, the
frame every theme's LSOA columns are added to.

>>> from localprofile.demo import demo_stages
>>> cat, i, p = demo_stages("Leeds")            # the shipped data, placed
>>> b = lsoa_base(p.area, i.frame)
>>> len(b.lsoa), int(b.residents), int(b.with_pop.sum())
(482, 751485, 482)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..engine.aggregate import decile_counts, deprivation_shares
from ..engine.choices import Choice
from ..study_area import StudyArea


@dataclass
class LsoaBase:
    """The district's LSOAs (``lsoa``: code, name, MSOA, geometry, population, IMD rank and
    decile) and the residents the rates are over."""

    lsoa: pd.DataFrame
    index: pd.Index
    population: pd.Series  # per district LSOA (NaN where none)
    decile: pd.Series
    with_pop: np.ndarray  # LSOAs with a population figure above 0
    residents: float  # over those LSOAs
    residents_by_decile: dict
    choices: list[Choice] = field(default_factory=list)
    deprivation: pd.DataFrame | None = None  # every rank and decile of the deprivation file, per district LSOA

    @property
    def residents_deprived(self) -> dict:
        return deprivation_shares(self.residents_by_decile)


def lsoa_base(area: StudyArea, frame: dict[str, pd.DataFrame]) -> LsoaBase:
    """Join the deprivation and population tables onto the district's LSOAs."""
    index = pd.Index(area.lsoas["lsoa_code"])
    imd = frame["deprivation"].set_index("lsoa_code")
    pop = frame["population"].set_index("lsoa_code")["population"].reindex(index)
    decile = imd["imd_decile"].reindex(index)
    lsoa = area.lsoas[["lsoa_code", "lsoa_name", "msoa_code", "msoa_name", "geometry"]].copy()
    lsoa["population"] = pop.to_numpy()
    lsoa["imd_rank"] = imd["imd_rank"].reindex(index).to_numpy()
    lsoa["imd_decile"] = decile.to_numpy()
    with_pop = (pop > 0).fillna(False).to_numpy()
    choices = []
    if not with_pop.all():
        choices.append(Choice(
            "LSOAs without a population figure", int((~with_pop).sum()),
            "their rates are left blank, and their crimes are left out of the district's "
            "rate per 1,000 residents (numerator and denominator cover the same LSOAs)",
        ))
    if decile.isna().any():
        choices.append(Choice(
            "LSOAs without an IMD decile", int(decile.isna().sum()),
            "counted in each theme's total but in no deprivation decile",
        ))
    if area.lsoas_without_boundary:
        choices.append(Choice(
            "LSOAs without a boundary", len(area.lsoas_without_boundary),
            "their crimes are counted (by LSOA code) but they are not drawn and not in the grid",
        ))
    residents = float(pop[with_pop].sum())
    by_decile = decile_counts(pop.fillna(0).astype("int64"), decile)
    return LsoaBase(lsoa, index, pop, decile, with_pop, residents, by_decile, choices,
                    imd.drop(columns=[c for c in imd.columns if not c.endswith(("_rank", "_decile"))]).reindex(index))
