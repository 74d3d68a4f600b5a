"""Coordinate reference systems used throughout: British National Grid for analysis.

Everything is analysed in EPSG:27700 (metres); maps for the browser are drawn in WGS84.
PROJ's network access (for downloading transformation grids) is switched off: a build makes no
network connection, so WGS84 -> OSGB36 uses PROJ's default Helmert transformation (about 2-5 m,
far finer than police.uk's anonymised map points).

>>> x, y = lonlat_to_bng([-1.5491], [53.7997])   # Leeds city centre
>>> round(float(x[0]), -2), round(float(y[0]), -2)
(429800.0, 433800.0)
"""

from __future__ import annotations

import os

import numpy as np
import pyproj
from pyproj import Transformer

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

# A build makes no network connection: PROJ (pyproj's, and GDAL's, which reads the environment)
# must not fetch transformation grids.
os.environ["PROJ_NETWORK"] = "OFF"
pyproj.network.set_network_enabled(False)

_TO_BNG = Transformer.from_crs(WGS84, BNG, always_xy=True)
_MERCATOR_TO_LL = Transformer.from_crs("EPSG:3857", WGS84, always_xy=True)

# The British National Grid's extent (metres): all of Great Britain lies inside it.
BNG_EXTENT = (-10_000.0, -10_000.0, 700_000.0, 1_300_000.0)

# Great Britain, generously: anything outside is not a British police.uk point.
GB_LON = (-8.7, 2.0)
GB_LAT = (49.8, 60.95)


def mercator_to_lonlat(x: float, y: float) -> tuple[float, float]:
    """Web Mercator (EPSG:3857) metres to WGS84 longitude/latitude, for placing map images."""
    return _MERCATOR_TO_LL.transform(x, y)


def lonlat_to_bng(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised WGS84 longitude/latitude to British National Grid easting/northing."""
    x, y = _TO_BNG.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)
