"""Layer adapters: one module per source, each reading and normalising only.

Every adapter module has ``ROLE`` (what the profile uses it for), ``REQUIRED`` (whether every
catalog needs one layer in that role), optionally ``Options`` (a pydantic model of its
``options:`` in the catalog), and ``load(paths, spec, ctx) -> LayerData``: a frame with a documented schema (GeoDataFrame in EPSG:27700
for spatial layers) and its record account (read = used + dropped by reason).

>>> sorted(ADAPTERS)
['census2011_population', 'census2021_population', 'codepoint_open', 'imd2019', 'iod2025', 'lsoa11_lsoa21_lookup', 'lsoa_boundaries', 'lsoa_lookup', 'lsoa_table', 'nominals', 'ons_postcode_directory', 'points', 'police_uk_outcomes', 'police_uk_stop_search', 'police_uk_street', 'polygons', 'raster', 'roads', 'schools']
"""

from __future__ import annotations

from types import ModuleType

from . import (
    census2011_population,
    census2021_population,
    codepoint_open,
    imd2019,
    iod2025,
    lsoa11_lsoa21_lookup,
    lsoa_boundaries,
    lsoa_lookup,
    lsoa_table,
    nominals,
    ons_postcode_directory,
    points,
    police_uk_outcomes,
    police_uk_stop_search,
    police_uk_street,
    polygons,
    raster,
    roads,
    schools,
)

ADAPTERS: dict[str, ModuleType] = {
    "police_uk_street": police_uk_street,
    "lsoa_boundaries": lsoa_boundaries,
    "lsoa_lookup": lsoa_lookup,
    "imd2019": imd2019,
    "census2011_population": census2011_population,
    "iod2025": iod2025,
    "census2021_population": census2021_population,
    "lsoa11_lsoa21_lookup": lsoa11_lsoa21_lookup,
    "codepoint_open": codepoint_open,
    "ons_postcode_directory": ons_postcode_directory,
    "schools": schools,
    "points": points,
    "police_uk_stop_search": police_uk_stop_search,
    "police_uk_outcomes": police_uk_outcomes,
    "lsoa_table": lsoa_table,
    "raster": raster,
    "nominals": nominals,
    "polygons": polygons,
    "roads": roads,
}
