"""Stage 3, place crimes: select the district and put every loaded crime on its LSOAs, with
LSOA codes on the boundaries' vintage (the steps a profile and a backtest share).

>>> from localprofile.catalog import load_catalog
>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.stages.audience import audience_policy
>>> from localprofile.stages.inputs import load_inputs
>>> cat = load_catalog(demo_catalog_path())
>>> i = load_inputs(cat, audience_policy(cat, "public"))
>>> p = place_crimes(cat, i.roles, i.loaded, "Leeds", i.lookup_file)
>>> p.area.code, int(p.in_district.sum())
('E08000035', 18914)
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..account import LayerData
from ..catalog import Catalog
from ..engine.choices import Choice
from ..errors import InputError
from ..loading import Progress
from ..study_area import Assignment, StudyArea, assign_to_lsoas, select_district
from ..vintage import convert_codes, month_vintages


def reconcile_vintages(
    catalog: Catalog,
    roles: dict[str, str],
    loaded: dict[str, LayerData],
    crimes: gpd.GeoDataFrame,
    boundaries: gpd.GeoDataFrame,
    choices: list[Choice],
) -> gpd.GeoDataFrame:
    """Put every LSOA code on the boundaries' vintage (2011 or 2021), or stop naming both.

    Deprivation and population tables must already be on it (ranks and counts do not convert);
    crimes are converted month by month with the ONS 2011 to 2021 lookup when one is given."""
    geo = loaded[roles["boundaries"]].meta["vintage"]
    for role in ("deprivation", "population"):
        v = loaded[roles[role]].meta.get("vintage")
        if v and v != geo:
            raise InputError(
                f"layer '{roles[role]}' is on LSOA {v} codes but the boundaries "
                f"('{roles['boundaries']}') are LSOA {geo}: use tables and boundaries of one vintage",
                file=catalog.source, key=f"layers.{roles[role]}",
            )
    by_month = month_vintages(crimes["month"], crimes["lsoa_code"])
    other = sorted(m for m, v in by_month.items() if v != geo)
    if not other:
        return crimes
    names = [n for n in catalog.with_role("lsoa_vintage_lookup") if n in loaded]
    theirs = "2021" if geo == "2011" else "2011"
    ours = sorted(m for m, v in by_month.items() if v == geo)
    if not names:
        raise InputError(
            f"crimes carry LSOA {theirs} codes ({_months(other)})"
            + (f" as well as LSOA {geo} codes ({_months(ours)})" if ours else "")
            + f" and the boundaries are LSOA {geo}: add the ONS LSOA 2011 to 2021 lookup "
            "(adapter lsoa11_lsoa21_lookup, open: every audience's profile uses it) to profile "
            "them on one geography",
            file=catalog.source, key=f"layers.{roles['crimes']}",
        )
    lookup = pd.concat([loaded[n].frame for n in names], ignore_index=True)
    convert = crimes["month"].isin(other).to_numpy()
    conv = convert_codes(crimes["lsoa_code"], convert, geo, lookup, crimes.geometry.to_numpy(), boundaries)
    detail = "; ".join(f"{k}: {v:,}" for k, v in conv.account.items() if v)
    choices.append(Choice(
        "LSOA codes converted",
        f"{int(convert.sum()):,} crimes of {_months(other)} from LSOA {theirs} to {geo}",
        f"the boundaries are LSOA {geo}; converted with the ONS lookup ({', '.join(names)}): {detail}",
    ))
    return crimes.assign(lsoa_code=conv.codes)


def _months(months: list[str]) -> str:
    return ", ".join(months) if len(months) <= 4 else f"{months[0]} to {months[-1]}, {len(months)} months"



@dataclass
class PlacedCrimes:
    """The district, and every loaded crime placed on its LSOAs (codes on one vintage)."""

    area: StudyArea
    crimes: gpd.GeoDataFrame
    boundaries: gpd.GeoDataFrame
    lookup: pd.DataFrame
    assignment: Assignment
    in_district: np.ndarray
    located: np.ndarray
    x: np.ndarray  # eastings, NaN where a crime has no point
    y: np.ndarray
    choices: list[Choice]
    in_polygon: np.ndarray  # located crimes whose point lies inside the district polygon


def place_crimes(
    catalog: Catalog, roles: dict[str, str], loaded: dict[str, LayerData], district: str,
    lookup_file: str, progress: Progress | None = None,
) -> PlacedCrimes:
    """Select the district and place every loaded crime: the steps a profile and a backtest share."""
    crimes, boundaries, lookup = (loaded[roles[r]].frame for r in ("crimes", "boundaries", "lookup"))
    if progress:
        progress(f"selecting district {district}")
    area = select_district(lookup, boundaries, district, lookup_file=lookup_file)
    choices: list[Choice] = []
    crimes = reconcile_vintages(catalog, roles, loaded, crimes, boundaries, choices)
    assignment = assign_to_lsoas(crimes, area, boundaries, set(lookup["lsoa_code"]))
    if not assignment.in_district.any():
        raise InputError(
            f"no crime in the loaded police.uk data lies in {area.name} ({area.code}); are the "
            "crime files for this district's force, with LSOA codes of the lookup's vintage?",
            file=catalog.source,
            key=f"layers.{roles['crimes']}.path",
        )
    located = crimes.geometry.notna().to_numpy()
    xy = np.full((len(crimes), 2), np.nan)
    xy[located] = shapely.get_coordinates(crimes.geometry.to_numpy()[located])
    shapely.prepare(area.polygon)
    in_polygon = located & shapely.contains_xy(area.polygon, np.nan_to_num(xy[:, 0]), np.nan_to_num(xy[:, 1]))
    return PlacedCrimes(area, crimes, boundaries, lookup, assignment, assignment.in_district,
                        located, xy[:, 0], xy[:, 1], choices, in_polygon)
