"""police.uk stop and search: monthly CSVs, folders of them, or police.uk zip archives.

police.uk publishes one ``YYYY-MM-<force>-stop-and-search.csv`` per force and month, inside its
archive as ``YYYY-MM/YYYY-MM-<force>-stop-and-search.csv``. Columns: Type, Date, Part of a
policing operation, Policing operation, Latitude, Longitude, Gender, Age range, Self-defined
ethnicity, Officer-defined ethnicity, Legislation, Object of search, Outcome, Outcome linked to
object of search, Removal of more than just outer clothing. A stop and search has no LSOA code
and no ID; many have no location (that is normal, not an error in the file).

Output schema (GeoDataFrame, EPSG:27700, one row per located search; the point-layer schema of
:func:`localprofile.points.point_frame`):

============== ======== ==========================================================================
column         type     meaning
============== ======== ==========================================================================
id             string   made here: the file name without "-stop-and-search.csv", "#" and the
                        row in that file as a spreadsheet shows it (header = row 1), e.g.
                        ``2017-07-west-yorkshire#2``
name           string   "Type": Person search, Vehicle search, Person and Vehicle search
category       string   "Object of search", e.g. Controlled drugs, Offensive weapons (may be empty)
postcode       string   always empty
lsoa_code      string   always empty (stop and search rows carry no LSOA code)
month          string   ``YYYY-MM``, from "Date" (the local date as written)
outcome        string   "Outcome", e.g. "Nothing found - no further action", "Arrest"
legislation    string   "Legislation", e.g. "Misuse of Drugs Act 1971 (section 23)"
gender         string   "Gender" (empty for vehicle searches)
age_range      string   "Age range", e.g. "18-24", "over 34"
geometry       Point    EPSG:27700
============== ======== ==========================================================================

Record account: a second copy of the same month-and-force file (an archive and its unpacked
folder, say) is dropped whole; blank rows, rows whose Date is not a date, and rows that cannot be
placed are dropped with :func:`localprofile.points.locate`'s reasons ("no coordinates" is the
usual one: police.uk leaves searches without a location blank). Searches without an "Object of
search" are kept and noted.

>>> import tempfile
>>> from pathlib import Path
>>> from localprofile.catalog import LayerSpec
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "2017-07-west-yorkshire-stop-and-search.csv").write_text(
...     "Type,Date,Part of a policing operation,Policing operation,Latitude,Longitude,Gender,"
...     "Age range,Self-defined ethnicity,Officer-defined ethnicity,Legislation,Object of search,"
...     "Outcome,Outcome linked to object of search,Removal of more than just outer clothing\\n"
...     "Person search,2017-07-01T00:20:00+00:00,False,,53.797010,-1.545160,Male,18-24,,White,"
...     "Misuse of Drugs Act 1971 (section 23),Controlled drugs,Arrest,True,False\\n"
...     "Person search,2017-07-02T14:05:00+00:00,False,,,,Male,over 34,,Asian,"
...     "Misuse of Drugs Act 1971 (section 23),Controlled drugs,Nothing found - no further action,,\\n")
>>> spec = LayerSpec(adapter="police_uk_stop_search", path="x", vintage="2017-07",
...     licence="OGL v3.0", attribution="data.police.uk", sensitivity="open")
>>> data = load([folder], spec)
>>> data.account.read, data.account.used, data.account.dropped
(2, 1, {'no coordinates': 1})
>>> data.frame[["id", "name", "category", "month", "outcome"]].values.tolist()
[['2017-07-west-yorkshire#2', 'Person search', 'Controlled drugs', '2017-07', 'Arrest']]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..account import LayerData, RecordAccount
from ..points import locate, point_frame
from ..validate import name_empty_files
from ._police_uk import SAME_FILE, read_police_uk_tables, require_some_valid, truncated_reasons

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "points"
REQUIRED = False

MEMBER_PATTERN = r"\d{4}-\d{2}-.+-stop-and-search\.csv"

# normalised name -> (accepted headers, required). The columns not read (ethnicity, policing
# operation, "Outcome linked to object of search", "Removal of more than just outer clothing")
# are not carried into the profile.
COLUMNS: dict[str, tuple[list[str], bool]] = {
    "type": (["Type"], True),
    "date": (["Date"], True),
    "latitude": (["Latitude"], True),
    "longitude": (["Longitude"], True),
    "gender": (["Gender"], True),
    "age_range": (["Age range"], True),
    "legislation": (["Legislation"], True),
    "object_of_search": (["Object of search"], True),
    "outcome": (["Outcome"], True),
}

HINT = (
    "a police.uk stop-and-search CSV has Type, Date, Latitude, Longitude, Gender, Age range, "
    "Legislation, Object of search and Outcome"
)

def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read every police.uk stop-and-search CSV under ``paths`` into one point layer."""
    df, files = read_police_uk_tables(paths, spec, MEMBER_PATTERN, COLUMNS, HINT)
    empty_files = df.attrs.get("empty_files", [])
    when = pd.to_datetime(df["date"].astype("string").str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    require_some_valid(df, when.notna().to_numpy(), "date", "a date (YYYY-MM-DD...)")
    truncated = truncated_reasons(df)
    df.pop("truncated")
    acc = RecordAccount(read=len(df))
    date = df["date"].astype("string")
    day = pd.to_datetime(date.str.slice(0, 10), format="%Y-%m-%d", errors="coerce")
    label = df["source"].iloc[0] if len(df) else ""
    loc = locate(df, longitude="longitude", latitude="latitude", file=label)
    keep = acc.partition([
        (SAME_FILE, df["repeat_file"]),
        *truncated,
        ("blank row", df[list(COLUMNS)].isna().all(axis=1)),
        ("Date not a date (YYYY-MM-DD...)", day.isna()),
        *loc.reasons,
    ])
    acc.note("no Object of search", int((keep & df["object_of_search"].isna().to_numpy()).sum()))
    # Files with the same base name in different places but different contents (not police.uk
    # names) would give the same ids: number the second and later such files.
    stem = df["file"].str.replace(r"-stop-and-search$", "", case=False, regex=True)
    order = pd.Series(pd.factorize(df["source"])[0], index=df.index)
    copy = order.groupby(stem).rank(method="dense").astype(int)
    file_id = stem.where(copy == 1, stem + "~" + copy.astype(str))
    values = {
        "id": file_id + "#" + df["row"].astype(str),
        "name": df["type"],
        "category": df["object_of_search"],
        "month": date.str.slice(0, 7),
        "outcome": df["outcome"],
        "legislation": df["legislation"],
        "gender": df["gender"],
        "age_range": df["age_range"],
    }
    frame = point_frame(values, loc, keep)
    acc.check(spec.adapter)
    months = sorted(frame["month"].dropna().unique().tolist())
    return LayerData(frame, acc, name_empty_files(empty_files, acc,
                                                  {"months": months, "files": files}))
