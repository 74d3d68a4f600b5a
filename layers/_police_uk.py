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

from ..sources import iter_tables
from ..validate import read_csv, select_columns

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
    frames, seen = [], set()
    for table in iter_tables(paths, member_pattern):
        raw = table.read_bytes()
        frame = select_columns(
            read_csv(io.BytesIO(raw), file=table.label, encoding=spec.encoding),
            columns, file=table.label, hint=hint,
        )
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
    return pd.concat(frames, ignore_index=True), len(frames)


