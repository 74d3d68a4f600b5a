"""Postcode geocoding: OS Code-Point Open and ONS postcode directory files, combined.

Postcodes are normalised (upper case, one space before the three-character inward code) before
they are looked up. A postcode that is malformed, unknown, terminated, or known without
coordinates is a counted drop with that reason, never a silent loss.

>>> import pandas as pd
>>> normalise_postcode(pd.Series(["ls1 1ur", "LS11UR", " bd8  7dj ", "not a postcode", None])).tolist()
['LS1 1UR', 'LS1 1UR', 'BD8 7DJ', <NA>, <NA>]
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

# Outward code (area, district) and inward code (sector digit, unit letters), spaces removed.
_POSTCODE = r"[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}"

# Reasons, as the record accounts show them.
MALFORMED = "postcode malformed"
UNKNOWN = "postcode not found in the postcode files"
TERMINATED = "postcode terminated"
NO_COORDINATES = "postcode has no coordinates"
NO_POSTCODE = "no postcode"


# a postcode already in the standard form: outward code, one space, inward code
_STANDARD = r"[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][A-Z]{2}"


def normalise_postcode(values: pd.Series) -> pd.Series:
    """Postcodes in their standard form ("LS1 1UR"); missing where not a valid postcode."""
    text = values.astype("string")
    if len(text) and text.notna().all() and text.str.fullmatch(_STANDARD).all():
        return text  # every one already standard (as postcode files give them): one regex pass
    t = text.str.upper().str.replace(r"[^A-Z0-9]", "", regex=True)
    ok = t.str.fullmatch(_POSTCODE).fillna(False)
    return (t.str[:-3] + " " + t.str[-3:]).where(ok)


@dataclass
class Geocoder:
    """Postcode -> easting, northing (EPSG:27700), LSOA code and terminated flag.

    ``table`` is indexed by normalised postcode, with columns ``easting``, ``northing``
    (NaN where unknown), ``lsoa_code`` (may be missing) and ``terminated``.
    """

    table: pd.DataFrame

    @classmethod
    def combine(cls, frames: list[pd.DataFrame]) -> Geocoder:
        """Merge postcode files: for each postcode, the first known value of every column, live
        records before terminated ones (Code-Point gives coordinates, the ONS directory LSOA codes
        and terminations)."""
        cols = ["postcode", "easting", "northing", "lsoa_code", "terminated"]
        df = pd.concat([f.reindex(columns=cols) for f in frames], ignore_index=True)
        df["terminated"] = df["terminated"].fillna(False).astype(bool)
        df = df.dropna(subset=["postcode"]).sort_values("terminated", kind="stable")
        table = df.groupby("postcode", sort=False).first()
        # terminated only if every file that knows the postcode says so
        table["terminated"] = df.groupby("postcode", sort=False)["terminated"].all()
        return cls(table)

    @functools.cached_property
    def _by_postcode(self) -> pd.DataFrame:
        """``table`` indexed by its postcodes as Python strings: pandas then builds the index's
        hash table once and keeps it, where an Arrow-string index is converted on every lookup
        (each layer geocoded calls :meth:`locate`)."""
        return self.table.set_axis(pd.Index(self.table.index.to_numpy(dtype=object), dtype=object))

    def locate(self, postcodes: pd.Series) -> pd.DataFrame:
        """Look up ``postcodes``: columns easting, northing, lsoa_code, postcode (normalised)
        and status, which is "ok" or the reason the row cannot be placed."""
        norm = normalise_postcode(postcodes)
        hit = self._by_postcode.reindex(norm.fillna(""))
        out = pd.DataFrame(
            {
                "postcode": norm.to_numpy(),
                "easting": hit["easting"].to_numpy(dtype=float),
                "northing": hit["northing"].to_numpy(dtype=float),
                "lsoa_code": hit["lsoa_code"].to_numpy(),
            },
            index=postcodes.index,
        )
        found = hit["terminated"].notna().to_numpy()
        terminated = hit["terminated"].fillna(False).to_numpy(dtype=bool)
        has_xy = np.isfinite(out["easting"].to_numpy()) & np.isfinite(out["northing"].to_numpy())
        status = np.full(len(out), "ok", dtype=object)
        status[~has_xy] = NO_COORDINATES
        # A terminated postcode no longer names the place (it may be reused): a counted drop,
        # even where a directory still gives its last coordinates.
        status[found & terminated] = TERMINATED
        status[~found] = UNKNOWN
        status[norm.isna().to_numpy()] = MALFORMED
        status[postcodes.isna().to_numpy()] = NO_POSTCODE
        out["status"] = status
        return out
