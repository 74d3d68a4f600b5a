"""Reproducible builds: two builds of the same inputs write the same bytes.

Every output a build writes is a function of its inputs alone:

- The generation date is ``SOURCE_DATE_EPOCH`` (seconds since 1970-01-01 UTC, the convention of
  reproducible-builds.org) when it is set, else the last day of the last month of data loaded
  (:func:`generation_date`), recorded among the profile's choices. It is never the wall clock.
- HTML: folium names every map element from random hex ids; :func:`localprofile.render.maps.
  deterministic_ids` numbers them in drawing order instead, per document.
- GeoPackage: GDAL stamps ``gpkg_contents.last_change`` with the time of writing; it is set to
  the generation date (GDAL's ``OGR_CURRENT_DATE``) in
  :func:`localprofile.render.geo_files.write_geopackage`.
- GeoTIFF: no TIFFTAG_DATETIME is written; tags come from the profile.
- No output holds the path of the output folder, and none depends on Python's hash seed.

``tests/test_reproducible.py`` builds the demo twice, in two processes and into two folders, and
compares every file byte for byte.

>>> generation_date(["2016-07", "2017-07"], environ={}).value
'2017-07-31'
>>> generation_date(["2017-07"], environ={"SOURCE_DATE_EPOCH": "1500000000"}).value
'2017-07-14 02:40 UTC'
"""

from __future__ import annotations

import calendar
import os
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone

from .engine.choices import Choice
from .errors import InputError

ENV = "SOURCE_DATE_EPOCH"


def source_datetime(environ: Mapping[str, str] | None = None) -> datetime | None:
    """``SOURCE_DATE_EPOCH`` as a UTC datetime, or None when it is not set (an error naming it
    when it is not a whole number of seconds).

    >>> source_datetime({"SOURCE_DATE_EPOCH": "0"}).isoformat()
    '1970-01-01T00:00:00+00:00'
    >>> source_datetime({}) is None
    True
    """
    environ = os.environ if environ is None else environ
    raw = environ.get(ENV)
    if raw is None or raw.strip() == "":
        return None
    try:
        seconds = int(raw.strip())
    except ValueError:
        seconds = -1
    if seconds < 0:
        raise InputError(f"{ENV} must be a whole number of seconds since 1970-01-01 UTC, not '{raw}'",
                         key=ENV)
    return datetime.fromtimestamp(seconds, timezone.utc)


def generation_date(months: Sequence[str], environ: Mapping[str, str] | None = None) -> Choice:
    """The date a profile says it was generated, as a :class:`Choice` (``value`` is the text).

    Parameters
    ----------
    months : sequence of "YYYY-MM"
        The months of data loaded.
    environ : mapping, optional
        Where ``SOURCE_DATE_EPOCH`` is looked up (the process environment by default).

    Returns
    -------
    Choice
        ``value`` is "YYYY-MM-DD HH:MM UTC" from ``SOURCE_DATE_EPOCH``, else "YYYY-MM-DD", the
        last day of the latest month in ``months`` (an empty string when there is none).
    """
    when = source_datetime(environ)
    if when is not None:
        return Choice("generation date", when.strftime("%Y-%m-%d %H:%M UTC"),
                      f"from {ENV}={int(when.timestamp())}")
    if not months:
        return Choice("generation date", "", f"no month of data loaded and {ENV} is not set")
    last = max(months)
    year, month = map(int, last.split("-"))
    day = calendar.monthrange(year, month)[1]
    return Choice(
        "generation date", f"{year:04d}-{month:02d}-{day:02d}",
        f"the last day of the latest month loaded ({last}), not the clock, so that rebuilds of the "
        f"same data are identical; set {ENV} to date the build otherwise",
    )


def gdal_timestamp(generated: str) -> str:
    """``generated`` (either form :func:`generation_date` gives) as GDAL's ``OGR_CURRENT_DATE``
    wants it, "YYYY-MM-DDTHH:MM:SS.000Z"; midnight for a date alone.

    >>> gdal_timestamp("2017-07-31"), gdal_timestamp("2017-07-14 02:40 UTC")
    ('2017-07-31T00:00:00.000Z', '2017-07-14T02:40:00.000Z')
    """
    text = generated.removesuffix(" UTC").strip()
    if not text:
        text = "1970-01-01"
    fmt = "%Y-%m-%d %H:%M" if " " in text else "%Y-%m-%d"
    return datetime.strptime(text, fmt).strftime("%Y-%m-%dT%H:%M:%S.000Z")
