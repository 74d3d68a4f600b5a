"""The study area: one local authority district (LAD), its LSOAs and its crimes.

Crimes belong to the district by the LSOA code police.uk gave them, because the generalised LSOA
polygons disagree with the snapped crime points about 15% of the time. Only where a row has no
LSOA code is its point tested against the polygons.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> from localprofile.layers import ADAPTERS
>>> cat = load_catalog(demo_catalog_path())
>>> load = lambda n: ADAPTERS[cat.layers[n].adapter].load(cat.paths(n), cat.layers[n]).frame
>>> area = select_district(load("lsoa_lookup"), load("lsoa_boundaries"), "leeds")
>>> area.code, area.name, len(area.lsoas), round(area.polygon.area / 1e6)
('E08000035', 'Leeds', 482, 552)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import InputError


@dataclass
class StudyArea:
    """A district: code, name, its LSOAs (with boundaries) and their union."""

    code: str
    name: str
    lsoas: gpd.GeoDataFrame
    polygon: shapely.Geometry
    lsoas_without_boundary: list[str] = field(default_factory=list)

    @property
    def lsoa_codes(self) -> set[str]:
        return set(self.lsoas["lsoa_code"]) | set(self.lsoas_without_boundary)


def select_district(
    lookup: pd.DataFrame,
    boundaries: gpd.GeoDataFrame,
    query: str,
    *,
    lookup_file: str | Path = "LSOA lookup",
) -> StudyArea:
    """Pick the district named or coded ``query`` (case-insensitive) from the LSOA lookup."""
    q = query.strip().casefold()
    districts = lookup[["lad_code", "lad_name"]].drop_duplicates()
    hit = districts[
        (districts["lad_code"].str.casefold() == q) | (districts["lad_name"].str.casefold() == q)
    ]
    if hit.empty:
        names = sorted(districts["lad_name"].dropna().unique())
        close = difflib.get_close_matches(query, names, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'? " if close else ""
        shown = ", ".join(names[:12]) + (" ..." if len(names) > 12 else "")
        raise InputError(
            f"no district '{query}' in the LSOA lookup; {hint}districts: {shown}", file=lookup_file
        )
    if len(hit) > 1:
        raise InputError(f"'{query}' names {len(hit)} districts; give its code", file=lookup_file)
    code, name = hit.iloc[0]["lad_code"], hit.iloc[0]["lad_name"]
    members = lookup.loc[lookup["lad_code"] == code]
    lsoas = boundaries.merge(
        members.drop(columns=["lsoa_name"]), on="lsoa_code", how="inner"
    ).sort_values("lsoa_code", ignore_index=True)
    if lsoas.empty:
        raise InputError(
            f"none of the {len(members)} LSOAs of {name} is in the boundary file "
            "(LSOA 2011 codes on one side and 2021 on the other?)",
            file=lookup_file,
        )
    missing = sorted(set(members["lsoa_code"]) - set(lsoas["lsoa_code"]))
    polygon = shapely.union_all(lsoas.geometry.to_numpy())
    return StudyArea(str(code), str(name), gpd.GeoDataFrame(lsoas, crs=boundaries.crs), polygon, missing)


@dataclass
class Assignment:
    """Which crimes belong to the district, and how that was decided."""

    lsoa_code: pd.Series  # police.uk code, or the polygon's code where police.uk gave none
    in_district: np.ndarray
    account: dict[str, int]


def assign_crimes(crimes: gpd.GeoDataFrame, area: StudyArea, boundaries: gpd.GeoDataFrame) -> Assignment:
    """Assign crimes to LSOAs (by code, else point-in-polygon) and flag those in the district."""
    code = crimes["lsoa_code"].copy()
    need = code.isna().to_numpy() & crimes.geometry.notna().to_numpy()
    if need.any():
        pts = crimes.geometry.to_numpy()[need]
        tree = shapely.STRtree(boundaries.geometry.to_numpy())
        pt_idx, poly_idx = tree.query(pts, predicate="within")
        found = np.full(need.sum(), None, dtype=object)
        # A point on a shared edge may fall in two polygons: keep the first.
        first = np.unique(pt_idx, return_index=True)[1]
        found[pt_idx[first]] = boundaries["lsoa_code"].to_numpy()[poly_idx[first]]
        code.iloc[np.flatnonzero(need)] = found
    in_district = code.isin(area.lsoa_codes).to_numpy()
    no_lsoa = code.isna().to_numpy()
    account = {
        "in the district by police.uk LSOA code": int((in_district & ~need).sum()),
        "in the district by point-in-polygon (no LSOA code)": int((in_district & need).sum()),
        "outside the district": int((~in_district & ~no_lsoa).sum()),
        "no LSOA code and point outside every LSOA": int(no_lsoa.sum()),
    }
    return Assignment(code, in_district, account)
