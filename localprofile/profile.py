"""The Profile: every result of a build, ready for the renderers (which compute nothing new).

:func:`localprofile.build.build_profile` makes one; ``localprofile.render`` writes it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from .account import RecordAccount
from .catalog import LayerSpec, ProfileSettings
from .context_layers import ContextLayer, Neighbourhoods, WithheldAccount
from .engine.choices import Choice
from .engine.grid import Grid
from .engine.hexgrid import HexGrid
from .study_area import StudyArea
from .themes import Theme


@dataclass
class LayerSummary:
    """A layer as the profile reports it: its catalog entry, files and record account."""

    name: str
    spec: LayerSpec
    files: list[str]
    account: RecordAccount | WithheldAccount
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class HarmResult:
    """A theme's volumes weighted by harm (present only when harm weighting is configured)."""

    total: float
    lsoa: np.ndarray  # harm per district LSOA
    grid: np.ndarray  # harm per cell
    kde: np.ndarray  # harm per km²
    gi_z: np.ndarray
    gi_p: np.ndarray
    gi_q: np.ndarray
    hotspot: np.ndarray

    @property
    def hot_cells(self) -> int:
        return int((self.hotspot == "hot").sum())


@dataclass
class HexResult:
    """Gi* on hexagons (``Profile.hexgrid``): counts, the KDE read at hexagon centres, z, p, q."""

    count: np.ndarray
    kde: np.ndarray
    gi_z: np.ndarray
    gi_p: np.ndarray
    gi_q: np.ndarray
    hotspot: np.ndarray
    emerging: np.ndarray | None = None  # per in-area hexagon, as ThemeResult.emerging
    emerging_sfhotspot: np.ndarray | None = None
    harm: np.ndarray | None = None  # harm per hexagon, when harm weights are set
    harm_gi_z: np.ndarray | None = None
    harm_gi_q: np.ndarray | None = None
    harm_hotspot: np.ndarray | None = None


@dataclass
class ThemeResult:
    """One theme's results: LSOA counts and rates, and grid surfaces (arrays in grid shape)."""

    theme: Theme
    crimes: int  # in the district (see study_area.assign_to_lsoas)
    rate_per_1000: float  # crimes per 1,000 residents, over the LSOAs with a population figure
    crimes_located: int  # of those, with a map point
    crimes_in_area_points: int  # all loaded points inside the district polygon
    bandwidth: float
    count: np.ndarray
    kde: np.ndarray  # crimes per km²
    gi_z: np.ndarray
    gi_p: np.ndarray
    gi_q: np.ndarray
    hotspot: np.ndarray  # "hot" / "cold" / "none"
    deprivation: dict[str, float | None]  # shares of crimes in the 10% / 20% most deprived LSOAs
    decile_counts: list[int]  # crimes by IMD decile 1..10
    top_locations: list[tuple[str, int, float, float]]  # map point: location, crimes, easting, northing
    monthly: dict[str, int]
    harm: HarmResult | None = None
    rate_surface: np.ndarray | None = None  # crimes per 1,000 residents, smoothed like the KDE
    repeats: gpd.GeoDataFrame | None = None  # repeat-location clusters of the district's crimes
    change: dict | None = None  # before/after counts, rates per month, percent change, exact p
    emerging: np.ndarray | None = None  # emerging hotspot pattern per cell (in-area cells), or None
    emerging_sfhotspot: np.ndarray | None = None
    lisa: np.ndarray | None = None  # LISA cluster per district LSOA (Profile.lsoa order)
    hex: HexResult | None = None  # Gi* on hexagons, when the profile's grid shape is hexagon
    kde_fine: np.ndarray | None = None  # the KDE raster, kde_factor times finer than the grid
    kde_factor: int = 1
    # the top map points (cell, location, crimes, x, y) of each Gi* hot or cold cell the profile
    # shows (hexagons when it uses them), for the cells' tooltips
    cell_locations: pd.DataFrame | None = None

    @property
    def hot_cells(self) -> int:
        """Gi* hot cells: hexagons when the profile uses them, else squares."""
        return int(((self.hex.hotspot if self.hex else self.hotspot) == "hot").sum())

    @property
    def cold_cells(self) -> int:
        return int(((self.hex.hotspot if self.hex else self.hotspot) == "cold").sum())

    @property
    def emerging_counts(self) -> dict[str, dict[str, int]] | None:
        """Cells per emerging hot spot pattern (``arcgis``) and sfhotspot class (``sfhotspot``),
        on the cells the profile shows, most cells first (None when not computed)."""
        arcgis, sf = self.shown_emerging
        if arcgis is None:
            return None

        def tally(labels):
            names, n = np.unique(np.asarray(labels).astype(str), return_counts=True)
            order = np.lexsort((names, -n))
            return {str(names[i]): int(n[i]) for i in order}

        return {"arcgis": tally(arcgis), "sfhotspot": tally(sf)}

    @property
    def lisa_counts(self) -> dict[str, int] | None:
        """LSOAs per LISA cluster label (None when LISA was not computed)."""
        if self.lisa is None:
            return None
        return {str(k): int(v) for k, v in pd.Series(self.lisa, dtype=object).dropna().value_counts().items()}

    @property
    def repeat_summary(self) -> dict | None:
        """Repeat locations in figures: how many, their crimes, the largest."""
        if self.repeats is None:
            return None
        r = self.repeats
        return {
            "clusters": len(r),
            "crimes_in_clusters": int(r["crimes"].sum()) if len(r) else 0,
            "largest": None if not len(r) else {"crimes": int(r["crimes"].iloc[0]), "top_location": r["location_1"].iloc[0]},
        }

    @property
    def shown_emerging(self) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Emerging hot spot patterns and sfhotspot classes of the cells the profile shows:
        hexagons when it uses them, else squares (None, None when not computed)."""
        src = self.hex if self.hex is not None and self.hex.emerging is not None else self
        return src.emerging, src.emerging_sfhotspot


@dataclass
class LsoaTableResult:
    """An LSOA-level table joined to the district: its fields are ``Profile.lsoa`` columns."""

    name: str
    label: str
    columns: dict[str, str]  # profile.lsoa column -> label
    totals: dict[str, float]  # district sum of each column
    unmatched: dict[str, int]


@dataclass
class RasterResult:
    """A raster summarised onto the district's LSOAs (a ``Profile.lsoa`` column) and the grid."""

    name: str
    label: str
    statistic: str  # "sum" or "mean"
    column: str
    district_value: float  # sum over the district's LSOAs, or their mean
    surface: np.ndarray  # on the analysis grid
    lsoas_without_value: int


@dataclass
class DualResult:
    """Two themes' KDE surfaces compared (``DualSpec``), at one bandwidth."""

    numerator: str
    denominator: str
    kind: str
    min_denominator: float
    bandwidth: float
    surface: np.ndarray

    @property
    def name(self) -> str:
        return f"{self.numerator}_{self.kind}_{self.denominator}"


@dataclass
class Profile:
    """All results of one district's build, for one audience."""

    audience: str | None  # force, partner, public, or None (no restricted layers in the catalog)
    marking: str  # the protective marking of this audience's outputs
    context: dict[str, ContextLayer]  # point layers overlaid on crime, at the audience's detail
    editions: dict[str, str]  # {"population": "Census 2011", "deprivation": "IMD 2019 (...)"}
    lsoa_tables: dict[str, LsoaTableResult]
    rasters: dict[str, RasterResult]
    duals: list[DualResult]
    neighbourhoods: Neighbourhoods
    overlay: Any  # priority neighbourhoods (localprofile.stages.overlay.Overlay)
    rtm: dict[str, Any]  # theme -> risk terrain (localprofile.engine.rtm.RiskTerrain)
    theme_scores: Any  # the prioritised theme table (localprofile.stages.theme_scores.ThemeScores)
    nominals: pd.DataFrame | None  # the top nominals by risk matrix: force outputs only
    settings: ProfileSettings
    catalog_file: str
    district: StudyArea
    months: list[str]
    crimes: int  # crime and ASB records in the district, every type
    layers: dict[str, LayerSummary]
    assignment: dict[str, int]
    grid: Grid
    hexgrid: HexGrid | None
    themes: dict[str, ThemeResult]
    lsoa: gpd.GeoDataFrame  # per LSOA: codes, names, population, IMD, count_/rate_<theme>
    residents: int  # usual residents of the district's LSOAs with a population figure
    residents_by_decile: list[int]  # residents by IMD decile 1..10
    residents_deprived: dict[str, float | None]  # shares in the 10% / 20% most deprived LSOAs
    choices: list[Choice]
    generated: str
    tool_version: str
    backtest: dict[str, list[dict]] = field(default_factory=dict)  # theme -> metric rows
    monthly_lsoa: pd.DataFrame | None = None  # lsoa_code, theme, month, crimes (long form)
    # the report's data-driven judgements, computed from the assembled profile
    # (localprofile.stages.soc_themes, .judgements, .action_plan)
    soc_themes: list[Any] = field(default_factory=list)  # SocTheme per SOC theme
    judgements: list[Any] = field(default_factory=list)  # Judgement: the executive summary
    action_plan: Any = None  # ActionPlan: the 4P plan of the priority neighbourhoods
    gaps: list[Any] = field(default_factory=list)  # Gap: intelligence gaps
    recommendations: list[str] = field(default_factory=list)
    # map labels and the offline basemap (localprofile.stages.orientation.Orientation)
    orientation: Any = None
    # the briefing sheets' units and lists (localprofile.stages.briefings.BriefingUnits)
    briefing: Any = None

    @property
    def period(self) -> tuple[str, str]:
        return (self.months[0], self.months[-1]) if self.months else ("", "")

    @property
    def change_periods(self) -> tuple[list[str], list[str]] | None:
        """The loaded months before and from the change's split (None: no change computed)."""
        first = next(iter(self.themes.values()), None)
        if first is None or not first.change:
            return None
        split = first.change["from"]
        return [m for m in self.months if m < split], [m for m in self.months if m >= split]

