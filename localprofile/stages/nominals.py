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

import pandas as pd
import shapely

from ..catalog import Catalog
from ..engine.nominals import prioritise_nominals
from ..errors import InputError
from .audience import AudiencePolicy


def nominal_priorities(catalog: Catalog, policy: AudiencePolicy, loaded: dict, area, months: list[str]
                       ) -> pd.DataFrame | None:
    """The top nominals of the district for the force; None for any other audience or when the
    catalog has no nominal layer."""
    names = [n for n in catalog.with_role("nominals") if n in loaded]
    if policy.audience != "force" or not names or not months:
        return None
    frame = pd.concat([loaded[n].frame for n in names], ignore_index=True)
    g = frame.geometry.to_numpy()
    inside = shapely.contains_xy(area.polygon, shapely.get_x(g), shapely.get_y(g))
    cfg = catalog.profile.nominals
    kept = pd.DataFrame(frame[inside].drop(columns="geometry"))
    later = kept["last_intelligence"].astype(str) > months[-1]
    if later.any():  # intelligence dated after the data: the extract and the crimes disagree
        raise InputError(f"{int(later.sum())} nominal(s) in {area.name} have last intelligence after "
                         f"{months[-1]}, the latest month of crime data (first: {kept.loc[later, 'nominal_id'].iloc[0]})",
                         file=catalog.paths(names[0])[0], column="Last intelligence")
    return prioritise_nominals(kept, months[-1], cfg.matrix, cfg.top)
