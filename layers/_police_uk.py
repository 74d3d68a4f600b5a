"""Reading police.uk's CSVs (street crime, stop and search, outcomes), shared by their adapters.

police.uk files are named ``YYYY-MM-<force>-<kind>.csv``; a second copy of the same month and
force (an archive and its unpacked folder, say) would count every row twice, and stop-and-search
and anti-social behaviour rows have no ID to de-duplicate on, so the copy is dropped whole.
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import cache
from ..sources import iter_tables
from ..errors import InputError
from ..validate import read_csv, select_columns, truncated_reason
from ..validate import require_some_valid as shared_require_some_valid

if TYPE_CHECKING:
    from ..catalog import LayerSpec

SAME_FILE = "same police.uk file read twice (month and force already loaded)"


def read_police_uk_tables(
    paths: list[Path],
    spec: LayerSpec,
    member_pattern: str,
    columns: dict[str, tuple[list[str], bool]],
    hint: str,
) -> tuple[pd.DataFrame, int]:
    """Every police.uk table under ``paths`` (files, folders, zip archives) as one frame, and
    how many tables were read. Besides the ``columns``, the frame has ``file`` (the table's base
    name without ".csv"), ``row`` (the spreadsheet row in that file, header = 1), ``source``
    (file and zip member) and ``repeat_file`` (True for every row of a second copy of the same
    month-and-force file). Shared by the police.uk point adapters."""
    frames, seen, empty = [], set(), []
    for table in iter_tables(paths, member_pattern):
        raw = table.read_bytes()

        def parse(raw=raw, label=table.label) -> pd.DataFrame:
            parsed = read_csv(io.BytesIO(raw), file=label, encoding=spec.encoding)
            frame = select_columns(parsed, columns, file=label, hint=hint)
            # the last row of a file cut off mid-row (pandas padded it): dropped as "truncated row"
            frame["truncated"] = False
            if parsed.attrs.get("truncated"):
                frame.loc[frame.index[-1], "truncated"] = True
            return frame

        # each monthly table parsed once: a rebuild after adding a month parses only that month;
        # on disk only for an open layer (a force's own extract marked restricted stays in its folder)
        key = cache.key("police.uk table", table.label, hashlib.sha256(raw).hexdigest(), spec.encoding, columns, hint)
        frame = cache.cached_table(key if spec.sensitivity == "open" else None, parse)
        if not len(frame):
            empty.append(table.label)
        name = table.name.lower()
        # The same month and force loaded twice (an archive and its unpacked copy, say) would
        # count every row twice, and these rows have no ID to de-duplicate on.
        key = name if re.fullmatch(member_pattern, name) else hashlib.sha1(raw).hexdigest()
        frame["repeat_file"] = key in seen
        seen.add(key)
        frame["file"] = re.sub(r"\.csv$", "", table.name, flags=re.IGNORECASE)
        frame["row"] = np.arange(2, len(frame) + 2)
        frame["source"] = table.label
        frames.append(frame)
    out = pd.concat(frames, ignore_index=True)
    out.attrs["empty_files"] = empty
    return out, len(frames)


def require_rows(df: pd.DataFrame, what: str) -> None:
    """A layer that must have rows (crimes) and whose every file is only a header stops,
    naming the files."""
    empty = df.attrs.get("empty_files", [])
    if len(df) == 0 and empty:
        others = f" (and {len(empty) - 1} more file{'s' if len(empty) > 2 else ''} like it)" if len(empty) > 1 else ""
        raise InputError(f"no rows: only a header{others}; a profile needs {what}", file=empty[0])


def truncated_reasons(df: pd.DataFrame) -> list[tuple[str, np.ndarray]]:
    """A drop reason per file that ends mid-row, naming the file (for the data-quality table)."""
    cut = df["truncated"].to_numpy(dtype=bool)
    return [(truncated_reason(label), cut & (df["source"] == label).to_numpy())
            for label in pd.unique(df.loc[cut, "source"])]


def require_some_valid(df: pd.DataFrame, valid: np.ndarray, column: str, what: str) -> None:
    """A file in which no row has a valid ``column`` is an error naming the file, the column and
    an example value (``Month '07/2018' is not YYYY-MM``); some bad rows are counted drops. A
    truncated last row is neither an example nor a valid row."""
    counted = ~df["truncated"].to_numpy(dtype=bool)
    shared_require_some_valid(df[column].where(counted), valid & counted, df["source"], df["row"],
                              column=column_label(column), what=what)


_LABELS = {"month": "Month", "crime_type": "Crime type", "date": "Date"}


def column_label(column: str) -> str:
    return _LABELS.get(column, column)


