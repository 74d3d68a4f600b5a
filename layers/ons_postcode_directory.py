"""ONS postcode directory style files: postcode -> LSOA code, terminated or not, and (where the
file has them) eastings and northings.

Accepts the ONS Postcode Directory / NSPL column names (``pcds`` or ``pcd``/``pcd7``/``pcd8``,
``doterm``, ``lsoa11``/``lsoa11cd``/``lsoa21cd``, ``oseast1m``/``osnrth1m``) and the ONS
"postcode to OA/LSOA/MSOA/LAD" best-fit lookups (``pcds``, ``doterm``, ``lsoa11cd``; no
coordinates). These files are Latin-1; the default encoding ("auto") reads them.

Output schema (DataFrame, one row per postcode):

============ ======= =========================================================
column       type    meaning
============ ======= =========================================================
postcode     string  normalised ("LS1 1UR")
terminated   bool    the postcode has a date of termination (``doterm``)
lsoa_code    string  LSOA code (2011 or 2021, whichever the file gives)
easting      float   metres, NaN where the file has no coordinates
northing     float   metres, NaN where the file has no coordinates
============ ======= =========================================================

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> cat = load_catalog(demo_catalog_path())
>>> data = load(cat.paths("ons_postcodes"), cat.layers["ons_postcodes"])
>>> data.account.read, int(data.frame["terminated"].sum()) > 20000
(88877, True)
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..account import LayerData, RecordAccount, repeats
from ..geocode import normalise_postcode
from ..sources import iter_tables
from ..validate import combine_files, name_empty_files, read_columns, require_some_valid, whole_rows

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "postcodes"
REQUIRED = False

COLUMNS = {
    "postcode": (["pcds", "pcd", "pcd7", "pcd8", "postcode"], True),
    "doterm": (["doterm"], False),
    "lsoa_code": (["lsoa11cd", "lsoa11", "lsoa21cd", "lsoa21", r"re:lsoa\d\dcd"], False),
    "easting": (["oseast1m", "east1m", "easting", "eastings"], False),
    "northing": (["osnrth1m", "north1m", "northing", "northings"], False),
}
HINT = "an ONS postcode file has pcds (or pcd), and usually doterm and lsoa11cd"


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read ONS postcode directory CSV(s), loose or zipped, into one row per postcode."""
    parts = []
    for t in iter_tables(paths, r".+\.csv"):
        part = read_columns(io.BytesIO(t.read_bytes()), COLUMNS, file=t.label, encoding=spec.encoding, hint=HINT)
        require_postcodes(part["postcode"], t.label, part.attrs["headers"]["postcode"], whole_rows(part))
        parts.append((t.label, part))
    df, truncated, empty = combine_files(parts, needs="a postcode file needs a row per postcode")
    acc = RecordAccount(read=len(df))
    postcode = normalise_postcode(df["postcode"])
    keep = acc.partition([
        *truncated,
        ("postcode malformed", postcode.isna()),
        ("duplicate postcode", lambda kept: repeats(postcode, kept)),
    ])
    e = pd.to_numeric(df["easting"], errors="coerce").to_numpy(dtype=float)
    n = pd.to_numeric(df["northing"], errors="coerce").to_numpy(dtype=float)
    # The directories give 0/0 or blanks for postcodes without a grid reference.
    no_xy = ~(np.isfinite(e) & np.isfinite(n)) | ((e == 0) & (n == 0))
    e, n = np.where(no_xy, np.nan, e), np.where(no_xy, np.nan, n)
    out = pd.DataFrame(
        {
            "postcode": postcode[keep].to_numpy(),
            "terminated": df.loc[keep, "doterm"].notna().to_numpy(),
            "lsoa_code": df.loc[keep, "lsoa_code"].to_numpy(),
            "easting": e[keep],
            "northing": n[keep],
        }
    )
    acc.note("no coordinates in this file (LSOA and termination only)", int((keep & no_xy).sum()))
    acc.check(spec.adapter)
    return LayerData(out, acc, name_empty_files(empty, acc, {}))


def require_postcodes(values: pd.Series, file: str, column: str, whole: np.ndarray, first_row: int = 2) -> None:
    """A file in which no whole row has a postcode (the wrong column, say) is one error naming the
    file, the column and the first value; some malformed postcodes are counted drops.

    >>> require_postcodes(pd.Series(["E00176110", "E00176111"]), "pc.csv", "pcds", np.ones(2, bool))
    Traceback (most recent call last):
    localprofile.errors.InputError: pc.csv: row 2: column 'pcds': pcds 'E00176110' is not a postcode (nor is any other row's)
    """
    values = values.reset_index(drop=True)
    require_some_valid(values.where(whole), normalise_postcode(values).notna().to_numpy() & whole,
                       np.full(len(values), file, dtype=object), np.arange(first_row, len(values) + first_row),
                       column=column, what="a postcode")
