"""Stage 12, nominal prioritisation (force outputs only): the district's nominals (those placed
inside it) ranked by the catalog's risk matrix, with their reasons. Partner and public profiles
never read a nominal layer, so they have no such table.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.build import build_profile
>>> p = build_profile(demo_catalog_path(), "Leeds", audience="force")
>>> len(p.nominals) <= 20, int(p.nominals["rank"].iloc[0])
(True, 1)
"""

from __future__ import annotations

import geopandas as gpd
import pandas as pd

from ..catalog import Catalog
from ..engine.nominals import prioritise_nominals
from ..errors import InputError
from ..geo import BNG
from ..study_area import assign_to_lsoas
from .audience import AudiencePolicy


def nominal_priorities(catalog: Catalog, policy: AudiencePolicy, loaded: dict, placed, months: list[str]
                       ) -> pd.DataFrame | None:
    """The top nominals of the district for the force; None for any other audience or when the
    catalog has no nominal layer. A nominal is in the district as any point layer's row is: by
    the LSOA of its postcode, else by point in polygon (:func:`~localprofile.study_area.assign_to_lsoas`)."""
    names = [n for n in catalog.with_role("nominals") if n in loaded]
    if policy.audience != "force" or not names or not months:
        return None
    area = placed.area
    frame = gpd.GeoDataFrame(pd.concat([loaded[n].frame for n in names], ignore_index=True), crs=BNG)
    inside = assign_to_lsoas(frame, area, placed.boundaries, set(placed.lookup["lsoa_code"]),
                             code_source="the postcode's").in_district
    cfg = catalog.profile.nominals
    kept = pd.DataFrame(frame[inside].drop(columns="geometry"))
    later = kept["last_intelligence"].astype(str) > months[-1]
    if later.any():  # intelligence dated after the data: the extract and the crimes disagree
        raise InputError(f"{int(later.sum())} nominal(s) in {area.name} have last intelligence after "
                         f"{months[-1]}, the latest month of crime data (first: {kept.loc[later, 'nominal_id'].iloc[0]})",
                         file=catalog.paths(names[0])[0], column="Last intelligence")
    return prioritise_nominals(kept, months[-1], cfg.matrix, cfg.top)
