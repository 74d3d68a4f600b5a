"""Stage 11, the prioritised theme table, MoRiLE style: the force's scores per theme (the
catalog's ``profile.scoring`` file) beside each theme's data-driven indicators (volume, trend,
harm, concentration in hot cells), combined by :func:`localprofile.engine.theme_scoring.score_themes`.
Without a scoring file the table ranks on the data alone and every score reads as missing.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.build import build_profile
>>> p = build_profile(demo_catalog_path(), "Leeds", audience="force")
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


INDICATORS = ["volume", "trend", "harm", "concentration"]


def theme_indicators(analyses: dict[str, ThemeAnalysis], scale) -> pd.DataFrame:
    """Each theme's volume (crimes in the district), trend (percent change between the periods),
    harm (harm-weighted volume) and concentration (share of its located crimes in the district's
    cells that lie in its Gi* hot cells); all crime is every theme together, not a theme to rank,
    and is left out (unless it is the only theme)."""
    rows = {}
    slugs = [s for s in analyses if s != "all_crime"] or list(analyses)
    for slug in slugs:
        r = analyses[slug].result
        g, area = (r.hex, scale.hexgrid.in_area) if r.hex is not None else (r, scale.grid.in_area)
        located = float(g.count[area].sum())  # the district's cells: hot cells lie only there
        rows[slug] = {
            "volume": r.crimes,
            "trend": r.change["percent"] if r.change else np.nan,
            "harm": r.harm.total if r.harm is not None else np.nan,
            "concentration": float(g.count[area & (g.hotspot == "hot")].sum()) / located if located else np.nan,
        }
    return pd.DataFrame.from_dict(rows, orient="index", columns=INDICATORS)


def theme_scores(catalog: Catalog, analyses: dict[str, ThemeAnalysis], scale, audience: str | None) -> ThemeScores:
    """The prioritised theme table of the catalog's scoring file (or of the data alone). The
    force's scores (its own assessment, organisational position included) reach only the
    audiences ``profile.scoring_for`` names (the force by default); others rank on the data."""
    path = catalog.profile.scoring
    choices = []
    if path and audience is not None and audience not in catalog.profile.scoring_for:
        choices.append(Choice("theme scores", "not shown",
                              f"the force's scores ({path}) are shown to "
                              f"{', '.join(catalog.profile.scoring_for)} only (profile.scoring_for); "
                              "themes rank on the data alone"))
        path = None
    scores = load_scoring(catalog.base_dir / path) if path else ScoringFile(version=1, themes={})
    indicators = theme_indicators(analyses, scale)
    # scores of themes this profile does not have (a catalog that drops or renames a theme)
    # are not used, and the choices say which
    other = sorted(set(scores.scored_themes()) - set(indicators.index))
    if other:
        scores = scores.model_copy(update={"themes": {k: v for k, v in scores.themes.items() if k not in other}})
        choices.append(Choice("scored themes not in this profile", ", ".join(other),
                              f"{path} scores them, but the profile has no such theme: their scores are not used"))
    return ThemeScores(score_themes(scores, indicators), indicators, path, scores.example, scores.source, choices)
