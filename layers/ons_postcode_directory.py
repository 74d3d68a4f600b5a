"""ONS postcode directory style files: postcode -> LSOA code, terminated or not, and (where the
file has them) eastings and northings.

Accepts the ONS Postcode Directory / NSPL column names (``pcds`` or ``pcd``/``pcd7``/``pcd8``,
``doterm``, ``lsoa11``/``lsoa11cd``/``lsoa21cd``, ``oseast1m``/``osnrth1m``) and the ONS
"postcode to OA/LSOA/MSOA/LAD" best-fit lookups (``pcds``, ``doterm``, ``lsoa11cd``; no
coordinates). These files are Latin-1; the default encoding ("auto") reads them. A national
directory (2.6 million rows, 53 columns, every code in quotes) is read as its bytes, keeping
only the columns used: about 2.2 GB at the peak (``benchmarks/bench_postcodes.py``).

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
# The type a frame gives text columns ("str" since pandas 3, missing as NaN; object before):
# the output's, cast to without making a Python string of each of 2.6 million postcodes.
TEXT = pd.Series(["LS1 1UR"]).dtype


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
    e, n = metres(df["easting"]), metres(df["northing"])
    # The directories give 0/0 or blanks for postcodes without a grid reference.
    no_xy = ~(np.isfinite(e) & np.isfinite(n)) | ((e == 0) & (n == 0))
    e, n = np.where(no_xy, np.nan, e), np.where(no_xy, np.nan, n)
    out = pd.DataFrame(
        {
            "postcode": postcode[keep].astype(TEXT).reset_index(drop=True),
            "terminated": df.loc[keep, "doterm"].notna().to_numpy(),
            "lsoa_code": df.loc[keep, "lsoa_code"].astype(TEXT).reset_index(drop=True),
            "easting": e[keep],
            "northing": n[keep],
        }
    )
    acc.note("no coordinates in this file (LSOA and termination only)", int((keep & no_xy).sum()))
    acc.check(spec.adapter)
    return LayerData(out, acc, name_empty_files(empty, acc, {}))


def metres(values: pd.Series) -> np.ndarray:
    """Grid references written as text, as floats (NaN where not a number): what
    ``pd.to_numeric(values, errors="coerce")`` gives, by Arrow's integer cast when every value is
    whole metres (up to 15 digits, no sign), as the directories write them: the same numbers,
    exactly, several times faster on 2.6 million rows.

    >>> metres(pd.Series(["415589", "0801193", None], dtype="string")).tolist()
    [415589.0, 801193.0, nan]
    >>> metres(pd.Series(["4155.5", "n/a"], dtype="string")).tolist()
    [4155.5, nan]
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pa.array(values.astype("string").array)
    if pc.all(pc.match_substring_regex(text, r"^[0-9]{1,15}$"), skip_nulls=True).as_py() is not False:
        return pc.cast(text, pa.int64()).to_numpy(zero_copy_only=False).astype(float)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


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
