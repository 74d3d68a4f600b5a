"""Placing the rows of a point layer: easting/northing, longitude/latitude, or postcode.

Shared by every adapter whose rows are places (schools, partner data, restricted force layers,
stop and search). Coordinates are used where they are usable; otherwise the postcode, through
the catalog's postcode geocoder. A row that cannot be placed is dropped with its reason. A file
whose coordinate columns are plainly the wrong way round, or hold degrees where metres belong,
is an error naming the columns.

>>> import pandas as pd
>>> df = pd.DataFrame({"lon": ["-1.55", "53.8", "x", None], "lat": ["53.80", "-1.55", "53.8", None]})
>>> loc = locate(df, longitude="lon", latitude="lat", file="f.csv")
>>> [r for r, m in loc.reasons if m.any()]
['coordinates not numbers', 'longitude and latitude swapped', 'no coordinates']
>>> loc.placed.tolist()
[True, False, False, False]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import InputError
from .geo import BNG_EXTENT, GB_LAT, GB_LON, lonlat_to_bng
from .geocode import NO_POSTCODE

if TYPE_CHECKING:
    from .loading import LoadContext


@dataclass
class Located:
    """Where each row is: ``x``/``y`` in EPSG:27700 (NaN where not placed), the postcode's LSOA
    code where a postcode file gave one, and the drop reasons (masks) of the unplaced rows."""

    x: np.ndarray
    y: np.ndarray
    postcode: pd.Series
    lsoa_code: pd.Series
    reasons: list[tuple[str, np.ndarray]] = field(default_factory=list)
    by_postcode: np.ndarray | None = None

    @property
    def placed(self) -> np.ndarray:
        return np.isfinite(self.x) & np.isfinite(self.y)


def _numbers(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Parsed numbers (NaN where not a number) and where text was written at all."""
    nums = pd.to_numeric(values.astype("string").str.replace(",", "", regex=False), errors="coerce")
    return nums.to_numpy(dtype=float, na_value=np.nan), values.notna().to_numpy()


def swapped_lonlat(lon: np.ndarray, lat: np.ndarray, *, file, longitude: str, latitude: str) -> np.ndarray:
    """Rows whose longitude and latitude are the wrong way round (a latitude of Great Britain
    in the longitude column and vice versa); when most finite rows are, the whole file has its
    columns swapped: a one-line error naming the file and column."""
    finite = np.isfinite(lon) & np.isfinite(lat)
    in_gb = finite & (lon >= GB_LON[0]) & (lon <= GB_LON[1]) & (lat >= GB_LAT[0]) & (lat <= GB_LAT[1])
    swapped = finite & ~in_gb & (lat >= GB_LON[0]) & (lat <= GB_LON[1]) & (lon >= GB_LAT[0]) & (lon <= GB_LAT[1])
    if finite.any() and swapped.sum() > 0.5 * finite.sum():
        raise InputError(
            f"columns '{longitude}' and '{latitude}' look swapped: '{longitude}' holds "
            "latitudes", file=file, column=longitude,
        )
    return swapped


def locate(
    df: pd.DataFrame,
    *,
    easting: str | None = None,
    northing: str | None = None,
    longitude: str | None = None,
    latitude: str | None = None,
    postcode: str | None = None,
    file: str | Path,
    ctx: LoadContext | None = None,
    layer: str = "",
) -> Located:
    """Place every row of ``df`` from the named columns (any of the three ways)."""
    n = len(df)
    x, y = np.full(n, np.nan), np.full(n, np.nan)
    written = np.zeros(n, dtype=bool)
    reasons: list[tuple[str, np.ndarray]] = []
    bad_numbers = np.zeros(n, dtype=bool)
    outside = np.zeros(n, dtype=bool)
    swapped = np.zeros(n, dtype=bool)

    if easting and northing:
        e, we = _numbers(df[easting])
        nn, wn = _numbers(df[northing])
        written |= we | wn
        finite = np.isfinite(e) & np.isfinite(nn)
        degrees = finite & (np.abs(e) <= 180) & (np.abs(nn) <= 90)
        if finite.any() and degrees.sum() > 0.5 * finite.sum():
            raise InputError(
                f"columns '{easting}' and '{northing}' hold degrees, not metres: map them as "
                "longitude and latitude", file=file, column=easting,
            )
        bad_numbers |= (we | wn) & ~finite
        ok = finite & (e >= BNG_EXTENT[0]) & (e <= BNG_EXTENT[2]) & (nn >= BNG_EXTENT[1]) & (nn <= BNG_EXTENT[3])
        outside |= finite & ~ok
        x[ok], y[ok] = e[ok], nn[ok]
    elif longitude and latitude:
        lon, wlon = _numbers(df[longitude])
        lat, wlat = _numbers(df[latitude])
        written |= wlon | wlat
        finite = np.isfinite(lon) & np.isfinite(lat)
        in_gb = finite & (lon >= GB_LON[0]) & (lon <= GB_LON[1]) & (lat >= GB_LAT[0]) & (lat <= GB_LAT[1])
        swapped = swapped_lonlat(lon, lat, file=file, longitude=longitude, latitude=latitude)
        bad_numbers |= (wlon | wlat) & ~finite
        outside |= finite & ~in_gb & ~swapped
        x[in_gb], y[in_gb] = lonlat_to_bng(lon[in_gb], lat[in_gb])

    pc = pd.Series(pd.NA, index=df.index, dtype="string")
    lsoa = pd.Series(pd.NA, index=df.index, dtype="string")
    by_postcode = np.zeros(n, dtype=bool)
    unplaced = ~(np.isfinite(x) & np.isfinite(y))
    status = np.full(n, "", dtype=object)
    if postcode:
        found = ctx.geocoder(layer).locate(df[postcode]) if ctx else None
        if found is None:
            raise InputError("rows located by postcode need the catalog's postcode files", file=file)
        pc = found["postcode"].astype("string")
        use = unplaced & (found["status"] == "ok").to_numpy()
        # The postcode's LSOA belongs to rows the postcode placed; a row placed by its own
        # coordinates is put in an LSOA by those coordinates.
        lsoa = found["lsoa_code"].astype("string").where(use)
        x[use], y[use] = found["easting"].to_numpy()[use], found["northing"].to_numpy()[use]
        by_postcode = use & written  # coordinates were written but unusable
        status = found["status"].to_numpy(dtype=object)
    unplaced = ~(np.isfinite(x) & np.isfinite(y))
    reasons += [
        ("coordinates not numbers", unplaced & bad_numbers),
        ("longitude and latitude swapped", unplaced & swapped),
        ("coordinates outside Great Britain", unplaced & outside),
    ]
    rest = unplaced & ~(bad_numbers | swapped | outside)
    if postcode:
        for reason in pd.unique(status[rest]):
            if reason and reason != "ok":
                no_pc = reason == NO_POSTCODE and (easting or longitude)
                reasons.append(("no coordinates and no postcode" if no_pc else reason,
                                rest & (status == reason)))
    else:
        reasons.append(("no coordinates", rest))
    return Located(x, y, pc, lsoa, reasons, by_postcode)


# The columns every point layer has, before any fields carried through from the source.
POINT_COLUMNS = ["id", "name", "category", "postcode", "lsoa_code"]


def point_frame(values: dict[str, pd.Series], located: Located, keep: np.ndarray):
    """The kept rows as a point-layer GeoDataFrame (EPSG:27700): ``POINT_COLUMNS`` first (missing
    ones empty), then any other ``values`` (fields carried through), then the geometry."""
    import geopandas as gpd
    import shapely

    from .geo import BNG

    cols = {"postcode": located.postcode, "lsoa_code": located.lsoa_code, **values}
    index = next(iter(cols.values())).index
    data = {
        name: (cols[name] if name in cols else pd.Series(pd.NA, index=index, dtype="string"))
        .astype("string")[keep]
        .to_numpy()
        for name in dict.fromkeys(POINT_COLUMNS + list(values))
    }
    return gpd.GeoDataFrame(
        data, geometry=shapely.points(located.x[keep], located.y[keep]), crs=BNG
    )
