"""police.uk outcomes: monthly CSVs, folders of them, or police.uk zip archives.

police.uk publishes one ``YYYY-MM-<force>-outcomes.csv`` per force and month (inside its archive
as ``YYYY-MM/YYYY-MM-<force>-outcomes.csv``): the outcomes recorded that month for crimes of
that and earlier months. Columns: Crime ID, Month, Reported by, Falls within, Longitude,
Latitude, Location, LSOA code, LSOA name, Outcome type.

Output schema (GeoDataFrame, EPSG:27700, one row per located outcome; the point-layer schema of
:func:`localprofile.points.point_frame`):

============== ======== ==========================================================================
column         type     meaning
============== ======== ==========================================================================
id             string   police.uk "Crime ID" (a crime may have several outcomes, so ids repeat)
name           string   "Location": "On or near ..." anonymised map point description
category       string   "Outcome type", e.g. "Suspect charged", "Investigation complete; no
                        suspect identified"
postcode       string   always empty
lsoa_code      string   "LSOA code" police.uk assigned (2011 codes before 2023)
month          string   ``YYYY-MM``, the month the outcome was recorded
geometry       Point    EPSG:27700
============== ======== ==========================================================================

Record account: a second copy of the same month-and-force file is dropped whole; blank rows,
rows without a Crime ID, Outcome type or ``YYYY-MM`` Month are dropped; a point layer needs a
point, so rows without usable coordinates are dropped with :func:`localprofile.points.locate`'s
reasons, even when they carry an LSOA code ("No Location" rows have neither); a row repeating
an earlier row's Crime ID, Month and Outcome type (the same outcome in two files) is dropped.

>>> import tempfile
>>> from pathlib import Path
>>> from localprofile.catalog import LayerSpec
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "2017-07-west-yorkshire-outcomes.csv").write_text(
...     "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
...     "LSOA name,Outcome type\\n"
...     "882f19,2017-07,West Yorkshire Police,West Yorkshire Police,-1.863910,53.725591,"
...     "On or near Pedestrian Subway,E01010994,Calderdale 008E,Suspect charged\\n"
...     "01b37f,2017-07,West Yorkshire Police,West Yorkshire Police,,,No Location,,,"
...     "Unable to prosecute suspect\\n")
>>> spec = LayerSpec(adapter="police_uk_outcomes", path="x", vintage="2017-07",
...     licence="OGL v3.0", attribution="data.police.uk", sensitivity="open")
>>> data = load([folder], spec)
>>> data.account.read, data.account.used, data.account.dropped
(2, 1, {'no coordinates': 1})
>>> data.frame[["id", "name", "category", "lsoa_code", "month"]].values.tolist()
[['882f19', 'On or near Pedestrian Subway', 'Suspect charged', 'E01010994', '2017-07']]
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..account import LayerData, RecordAccount, repeats
from ..points import locate, point_frame
from ..validate import name_empty_files
from ._police_uk import SAME_FILE, read_police_uk_tables, require_some_valid, truncated_reasons

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "points"
REQUIRED = False
CODE_SOURCE = "police.uk"  # whose LSOA codes the rows carry

MEMBER_PATTERN = r"\d{4}-\d{2}-.+-outcomes\.csv"

# normalised name -> (accepted headers, required)
COLUMNS: dict[str, tuple[list[str], bool]] = {
    "crime_id": (["Crime ID"], True),
    "month": (["Month"], True),
    "longitude": (["Longitude"], True),
    "latitude": (["Latitude"], True),
    "location": (["Location"], False),
    "lsoa_code": (["LSOA code"], True),
    "outcome_type": (["Outcome type"], True),
}

HINT = (
    "a police.uk outcomes CSV has Crime ID, Month, Longitude, Latitude, LSOA code and Outcome type"
)

_MONTH = r"\d{4}-(0[1-9]|1[0-2])"


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read every police.uk outcomes CSV under ``paths`` into one point layer."""
    df, files = read_police_uk_tables(paths, spec, MEMBER_PATTERN, COLUMNS, HINT)
    empty_files = df.attrs.get("empty_files", [])
    require_some_valid(df, df["month"].fillna("").str.fullmatch(_MONTH).to_numpy(dtype=bool), "month", "YYYY-MM")
    truncated = truncated_reasons(df)
    df.pop("truncated")
    acc = RecordAccount(read=len(df))
    label = df["source"].iloc[0] if len(df) else ""
    loc = locate(df, longitude="longitude", latitude="latitude", file=label)
    outcome_key = df["crime_id"] + "|" + df["month"] + "|" + df["outcome_type"]
    keep = acc.partition([
        (SAME_FILE, df["repeat_file"]),
        *truncated,
        ("blank row", df[list(COLUMNS)].isna().all(axis=1)),
        ("no Crime ID", df["crime_id"].isna()),
        ("Month not YYYY-MM", ~df["month"].fillna("").str.fullmatch(_MONTH)),
        ("no Outcome type", df["outcome_type"].isna()),
        *loc.reasons,
        ("same outcome twice (Crime ID, Month and Outcome type of an earlier row)",
         lambda kept: repeats(outcome_key, kept)),
    ])
    values = {
        "id": df["crime_id"],
        "name": df["location"],
        "category": df["outcome_type"],
        "lsoa_code": df["lsoa_code"],
        "month": df["month"],
    }
    frame = point_frame(values, loc, keep)
    acc.check(spec.adapter)
    months = sorted(frame["month"].dropna().unique().tolist())
    return LayerData(frame, acc, name_empty_files(empty_files, acc,
                                                  {"months": months, "files": files}))
