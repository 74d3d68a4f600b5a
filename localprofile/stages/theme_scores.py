"""Stage 11, the prioritised theme table, MoRiLE style: the force's scores per theme (the
catalog's ``profile.scoring`` file) beside each theme's data-driven indicators (volume, trend,
harm, concentration in hot cells), combined by :func:`localprofile.engine.theme_scoring.score_themes`.
Without a scoring file the table ranks on the data alone and every score reads as missing.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.build import build_profile
>>> p = build_profile(demo_catalog_path(), "Leeds", audience="public")
>>> p.theme_scores.example, p.theme_scores.table["rank"].tolist()
(True, [1, 2, 3, 4, 5, 6])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..catalog import Catalog
from ..engine.choices import Choice
from ..engine.theme_scoring import score_themes
from ..scoring import ScoringFile, load_scoring
from .theme import ThemeAnalysis


@dataclass
class ThemeScores:
    """The prioritised theme table (``score_themes``'s), its indicators, and where the scores
    came from (``example``: illustrative scores, labelled so wherever shown)."""

    table: pd.DataFrame
    indicators: pd.DataFrame
    file: str | None
    example: bool
    source: str | None
    choices: list[Choice]


def theme_indicators(analyses: dict[str, ThemeAnalysis]) -> pd.DataFrame:
    """Each theme's volume (crimes in the district), trend (percent change between the periods),
    harm (harm-weighted volume) and concentration (share of its located crimes in its Gi* hot
    cells); all crime is every theme together, not a theme to rank, and is left out."""
    rows = {}
    for slug, a in analyses.items():
        if slug == "all_crime":
            continue
        r = a.result
        g = r.hex if r.hex is not None else r
        located = float(g.count.sum())
        rows[slug] = {
            "volume": r.crimes,
            "trend": r.change["percent"] if r.change else np.nan,
            "harm": r.harm.total if r.harm is not None else np.nan,
            "concentration": float(g.count[g.hotspot == "hot"].sum()) / located if located else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def theme_scores(catalog: Catalog, analyses: dict[str, ThemeAnalysis]) -> ThemeScores:
    """The prioritised theme table of the catalog's scoring file (or of the data alone)."""
    path = catalog.profile.scoring
    scores = load_scoring(catalog.base_dir / path) if path else ScoringFile(version=1, themes={})
    indicators = theme_indicators(analyses)
    # scores of themes this profile does not have (a catalog that drops or renames a theme)
    # are not used, and the choices say which
    other = sorted(set(scores.scored_themes()) - set(indicators.index))
    choices = []
    if other:
        scores = scores.model_copy(update={"themes": {k: v for k, v in scores.themes.items() if k not in other}})
        choices.append(Choice("scored themes not in this profile", ", ".join(other),
                              f"{path} scores them, but the profile has no such theme: their scores are not used"))
    return ThemeScores(score_themes(scores, indicators), indicators, path, scores.example, scores.source, choices)
