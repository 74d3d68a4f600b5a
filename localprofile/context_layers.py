"""Context layers: the point layers a profile overlays on crime (schools, partner data, restricted
force layers), summarised for one district and one audience.

What each audience gets from a layer:

=========== ===================================== =============================================
audience    open layer                            restricted layer
=========== ===================================== =============================================
force       points, LSOA and neighbourhood counts points, LSOA and neighbourhood counts
partner     points, LSOA and neighbourhood counts neighbourhood counts only, small ones "<N"
public      points, LSOA and neighbourhood counts nothing (the layer is not even read)
=========== ===================================== =============================================

Neighbourhoods are MSOAs (about 7,000 residents), from the LSOA lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd

from .account import LayerData
from .catalog import LayerSpec
from .engine.aggregate import count_by_lsoa
from .engine.suppress import suppress, total_shown
from .layers import ADAPTERS
from .study_area import StudyArea, assign_to_lsoas

POINT_DETAIL = "points"
NEIGHBOURHOOD_DETAIL = "neighbourhood counts"


@dataclass
class ContextLayer:
    """One context layer in the district. Counts are ints, or text ("<5") where suppressed."""

    name: str
    label: str
    sensitivity: str
    synthetic: bool
    detail: str  # POINT_DETAIL or NEIGHBOURHOOD_DETAIL
    total: int | str
    categories: dict[str, int | str]
    neighbourhood_counts: list[int | str]  # aligned with Neighbourhoods.codes
    points: gpd.GeoDataFrame | None  # rows in the district, when detail is POINT_DETAIL
    lsoa_counts: pd.Series | None  # per district LSOA, when detail is POINT_DETAIL
    assignment: dict[str, int]


@dataclass
class Neighbourhoods:
    """The district's neighbourhoods (MSOAs): codes, names, and polygons (union of LSOAs)."""

    codes: list[str]
    names: list[str]
    geometry: np.ndarray
    lsoa_to_code: pd.Series  # district LSOA code -> neighbourhood code


def neighbourhoods(area: StudyArea) -> Neighbourhoods:
    """MSOAs of the district from the lookup's MSOA columns (LSOAs themselves if it has none)."""
    lsoas = area.lsoas
    key = lsoas["msoa_code"].fillna(lsoas["lsoa_code"])
    name = lsoas["msoa_name"].fillna(lsoas["lsoa_name"]).fillna(key)
    codes = sorted(key.unique())
    drawn = lsoas.geometry.notna().to_numpy()
    polygons = lsoas[drawn].assign(hood=key[drawn].to_numpy()).dissolve(by="hood").geometry
    geoms = polygons.reindex(codes).to_numpy()  # None for a neighbourhood with no drawn LSOA
    names = name.groupby(key).first().reindex(codes).tolist()
    return Neighbourhoods(codes, names, geoms, pd.Series(key.to_numpy(), index=lsoas["lsoa_code"]))


def summarise(
    name: str,
    spec: LayerSpec,
    data: LayerData,
    area: StudyArea,
    boundaries: gpd.GeoDataFrame,
    known_codes: set[str],
    hoods: Neighbourhoods,
    audience: str | None,
    threshold: int,
) -> ContextLayer:
    """One point layer in the district, at the detail ``audience`` may see."""
    frame = data.frame
    code_source = getattr(ADAPTERS[spec.adapter], "CODE_SOURCE", "the postcode's")
    assigned = assign_to_lsoas(frame, area, boundaries, known_codes, code_source=code_source)
    inside = assigned.in_district
    lsoa_index = pd.Index(area.lsoas["lsoa_code"])
    lsoa_counts = count_by_lsoa(assigned.lsoa_code[inside], lsoa_index)
    by_hood = lsoa_counts.groupby(hoods.lsoa_to_code.reindex(lsoa_index).to_numpy()).sum()
    hood_counts = [int(v) for v in by_hood.reindex(hoods.codes, fill_value=0)]
    categories = frame.loc[inside, "category"].fillna("(none)").value_counts()
    total = int(inside.sum())
    withheld = spec.sensitivity == "restricted" and audience != "force"
    if withheld:
        # Partner: neighbourhood counts only, small ones suppressed; the total only where it
        # reveals nothing more. Categories (free text from a restricted file) and the
        # assignment detail are withheld: either could be differenced against the cells.
        shown = suppress(hood_counts, threshold)
        return ContextLayer(
            name, spec.label or name, spec.sensitivity, spec.synthetic, NEIGHBOURHOOD_DETAIL,
            total_shown(hood_counts, shown, threshold), {}, shown, None, None, {},
        )
    points = frame.loc[inside].copy()
    points["lsoa_code"] = assigned.lsoa_code[inside].to_numpy()
    return ContextLayer(
        name, spec.label or name, spec.sensitivity, spec.synthetic, POINT_DETAIL, total,
        {str(k): int(v) for k, v in categories.items()}, hood_counts,
        gpd.GeoDataFrame(points, geometry=frame.geometry.name, crs=frame.crs).reset_index(drop=True),
        lsoa_counts, assigned.account,
    )


@dataclass
class WithheldAccount:
    """A restricted layer's record account as partners see it: withheld, since its figures
    could be differenced against the suppressed neighbourhood counts."""

    read: str = "withheld"
    used: str = "withheld"
    n_dropped: str = "withheld"
    dropped: dict[str, str] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"read": self.read, "used": self.used, "dropped": self.dropped, "notes": self.notes}
