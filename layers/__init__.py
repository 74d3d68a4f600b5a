"""Layer adapters: one module per source, each reading and normalising only.

Every adapter module has ``ROLE`` (what the profile uses it for) and
``load(paths, spec) -> LayerData``: a frame with a documented schema (GeoDataFrame in EPSG:27700
for spatial layers) and its record account (read = used + dropped by reason).

>>> sorted(ADAPTERS)
['census2011_population', 'imd2019', 'lsoa_boundaries', 'lsoa_lookup', 'police_uk_street']
"""

from __future__ import annotations

from types import ModuleType

from . import census2011_population, imd2019, lsoa_boundaries, lsoa_lookup, police_uk_street

ADAPTERS: dict[str, ModuleType] = {
    "police_uk_street": police_uk_street,
    "lsoa_boundaries": lsoa_boundaries,
    "lsoa_lookup": lsoa_lookup,
    "imd2019": imd2019,
    "census2011_population": census2011_population,
}
