"""The study area: one local authority district (LAD), its LSOAs and its crimes.

Crimes belong to the district by the LSOA code police.uk gave them, because the generalised LSOA
polygons disagree with the snapped crime points about 15% of the time. Only where a row has no
LSOA code, or one the lookup does not know, is its point tested against the polygons.

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
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .errors import InputError


@dataclass
class StudyArea:
    """A district: code, name, its LSOAs (all those of the lookup; geometry None where the
    boundary file lacks one) and the union of their polygons."""

    code: str
    name: str
    lsoas: gpd.GeoDataFrame
    polygon: shapely.Geometry

    @property
    def lsoas_without_boundary(self) -> list[str]:
        return self.lsoas.loc[self.lsoas.geometry.isna(), "lsoa_code"].tolist()

    @property
    def lsoa_codes(self) -> set[str]:
        return set(self.lsoas["lsoa_code"])


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
    lsoas = members.merge(
        boundaries.rename(columns={"lsoa_name": "boundary_name"}), on="lsoa_code", how="left"
    ).sort_values("lsoa_code", ignore_index=True)
    lsoas["lsoa_name"] = lsoas["boundary_name"].fillna(lsoas["lsoa_name"])
    lsoas = gpd.GeoDataFrame(lsoas.drop(columns="boundary_name"), geometry="geometry", crs=boundaries.crs)
    drawn = lsoas.geometry.notna().to_numpy()
    if not drawn.any():
        raise InputError(
            f"none of the {len(members)} LSOAs of {name} is in the boundary file "
            "(LSOA 2011 codes on one side and 2021 on the other?)",
            file=lookup_file,
        )
    polygon = shapely.union_all(lsoas.geometry.to_numpy()[drawn])
    return StudyArea(str(code), str(name), lsoas, polygon)


@dataclass
class Assignment:
    """Which crimes belong to the district, and how that was decided.

    ``account`` partitions every crime row into exactly one of its lines.
    """

    lsoa_code: pd.Series  # police.uk code, or the polygon's code where that was needed
    in_district: np.ndarray
    account: dict[str, int]


def assign_to_lsoas(
    crimes: gpd.GeoDataFrame,
    area: StudyArea,
    boundaries: gpd.GeoDataFrame,
    known_codes: set[str],
    code_source: str = "police.uk",
) -> Assignment:
    """Assign rows (crimes, or any points with an ``lsoa_code`` column) to LSOAs and flag those
    in the district.

    The LSOA code the source gave (police.uk's, or a postcode's) decides. Rows with no code, or with a code the lookup does not
    know (``known_codes``), are placed by point-in-polygon where they have a point; a point on an
    edge shared by two LSOAs goes to the first in the boundary file.
    """
    code = crimes["lsoa_code"].copy()
    given = code.notna().to_numpy()
    unknown = given & ~code.isin(known_codes).to_numpy()
    located = crimes.geometry.notna().to_numpy()
    need = (~given | unknown) & located
    if need.any():
        pts = crimes.geometry.to_numpy()[need]
        tree = shapely.STRtree(boundaries.geometry.to_numpy())
        pt_idx, poly_idx = tree.query(pts, predicate="intersects")
        found = np.full(need.sum(), None, dtype=object)
        first = np.unique(pt_idx, return_index=True)[1]
        found[pt_idx[first]] = boundaries["lsoa_code"].to_numpy()[poly_idx[first]]
        code.iloc[np.flatnonzero(need)] = found
    code = code.where(~unknown | need, None)  # an unknown code with no point places nothing
    in_district = code.isin(area.lsoa_codes).to_numpy()
    placed = code.notna().to_numpy()
    account = {
        f"in the district by {code_source} LSOA code": int((in_district & given & ~unknown).sum()),
        "in the district by point-in-polygon (no LSOA code)": int((in_district & ~given).sum()),
        "in the district by point-in-polygon (LSOA code not in the lookup)": int(
            (in_district & unknown).sum()
        ),
        "outside the district": int((~in_district & placed).sum()),
        "not placed: no LSOA code and point outside every LSOA": int((~placed & ~given).sum()),
        "not placed: LSOA code not in the lookup, point outside every LSOA or none": int(
            (~placed & unknown).sum()
        ),
    }
    return Assignment(code, in_district, account)


def data_coverage(boundaries: gpd.GeoDataFrame, codes: pd.Series, area: StudyArea) -> shapely.Geometry:
    """Where crimes were loaded: the district plus every LSOA with at least one loaded crime,
    holes filled (an LSOA without a crime inside the covered area is still covered)."""
    used = boundaries["lsoa_code"].isin(codes.dropna().unique()).to_numpy()  # not set(): 50,000 strings one by one
    union = shapely.union_all(np.append(boundaries.geometry.to_numpy()[used], area.polygon))
    parts = shapely.get_parts(union)
    return shapely.union_all(shapely.polygons(shapely.get_exterior_ring(parts)))
