"""Any table keyed by LSOA code: Troubled Families counts, Action Fraud reports, council
indicators, Census tables.

Options (``options:`` in the catalog):

========== ======================================================================================
option     meaning
========== ======================================================================================
code       the LSOA code column; default: the first of LSOA11CD, LSOA21CD, "LSOA code"
           (``lsoa_code``), "geography code" (Nomis), LSOA<yy>CD found (case, spaces and
           punctuation ignored)
fields     the numeric columns to keep; default: every other column whose filled cells are all
           numbers (text columns and empty columns are left out, and listed in ``meta``)
labels     display labels, {column: label}; a field without one is labelled by its column name
========== ======================================================================================

Numbers may carry thousands separators ("1,563"); a blank cell is NaN. A cell of a listed (or
detected) field that is not a number is an error naming its file, row and column.

Output schema (DataFrame, one row per LSOA):

============== ======== ==========================================================================
column         type     meaning
============== ======== ==========================================================================
lsoa_code      string   LSOA code as written, upper-cased (``E01``/``W01`` and 6 digits)
<field> ...    float    each field, named as its column in the file; NaN where blank
============== ======== ==========================================================================

``meta``: ``fields`` (the field columns, in order), ``labels`` ({field: label}, every field),
``left_out`` (columns that are neither the code nor a field).

Record account: blank rows, rows without an LSOA code, rows whose code is malformed (a footnote
line, say) and rows repeating an earlier row's code (the first is kept) are dropped and counted.
Matching the codes to the district's LSOAs is the build's job, through :func:`join_to_lsoas`.

>>> from localprofile.catalog import LayerSpec
>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> census = load_catalog(demo_catalog_path()).paths("census_population")
>>> spec = LayerSpec(adapter="lsoa_table", path="x", vintage="2011",
...     licence="OGL v3.0", attribution="ONS", sensitivity="open",
...     options={"fields": ["Households", "Hectares"], "labels": {"Hectares": "Area (ha)"}})
>>> data = load(census, spec)
>>> data.account.read, data.account.used, data.meta["labels"]
(1388, 1388, {'Households': 'Households', 'Hectares': 'Area (ha)'})
>>> data.frame.head(2)
   lsoa_code  Households  Hectares
0  E01010646       623.0    1129.0
1  E01010647       509.0      89.0
>>> joined, unmatched = join_to_lsoas(data.frame, pd.Index(["E01010646", "E01099999"]))
>>> joined["Households"].tolist(), unmatched
([623.0, nan], {'table codes not in the area': 1387, 'area LSOAs without a row': 1})
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict

from ..account import LayerData, RecordAccount, repeats
from ..errors import InputError
from ..sources import iter_tables
from ..validate import combine_files, find_column, name_empty_files, read_csv, require_some_valid, to_number

if TYPE_CHECKING:
    from ..catalog import LayerSpec
    from ..loading import LoadContext

ROLE = "lsoa_table"
REQUIRED = False

CODE_COLUMNS = [
    "LSOA11CD", "LSOA21CD", "LSOA code", "geography code", r"re:lsoa\d{2}cd", r"re:lsoa\d{2,4}code",
]
CODE_PATTERN = r"[EW]01\d{6}"
_CODE = "\0lsoa_code"  # the code column, whatever its name, while the files are combined


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str | None = None
    fields: list[str] | None = None
    labels: dict[str, str] = {}


def _last_row(n: int, truncated: bool | None) -> np.ndarray:
    """A mask of the last of ``n`` rows when its file ends mid-row."""
    mask = np.zeros(n, dtype=bool)
    if truncated and n:
        mask[-1] = True
    return mask


def _numeric(values: pd.Series) -> bool:
    """Whether ``values`` has a filled cell and every filled cell is a number."""
    text = values.dropna().astype("string").str.replace(",", "", regex=False)
    nums = pd.to_numeric(text, errors="coerce").astype("Float64").to_numpy(float, na_value=np.nan)
    return len(nums) > 0 and bool(np.isfinite(nums).all())


def load(paths: list[Path], spec: LayerSpec, ctx: LoadContext | None = None) -> LayerData:
    """Read LSOA-keyed CSV tables (files, folders or zip archives of them) into one frame."""
    opts = spec.opts()
    parts: list[tuple[str, pd.DataFrame]] = []
    for table in iter_tables(paths, r".+\.csv"):
        df = read_csv(io.BytesIO(table.read_bytes()), file=table.label, encoding=spec.encoding)
        code = find_column(
            df.columns, [opts.code] if opts.code else CODE_COLUMNS, file=table.label,
            what=opts.code or "LSOA code",
            hint="" if opts.code else "name the code column in options.code",
        )
        parts.append((table.label, df.rename(columns={code: _CODE})))
        # no row with an LSOA code (another geography, or the wrong column): one line, not a
        # layer of drops; a truncated last row is no example
        whole = df[code].astype("string").where(~_last_row(len(df), df.attrs.get("truncated")))
        require_some_valid(whole, whole.str.upper().str.fullmatch(CODE_PATTERN).fillna(False).to_numpy(dtype=bool),
                           np.full(len(df), table.label, dtype=object), np.arange(2, len(df) + 2),
                           column=code, what="an LSOA code (E01 or W01 and 6 digits)")
    label = parts[0][0]
    df, truncated, empty = combine_files(parts, needs="an LSOA table needs at least one row")
    file_of_row = np.repeat(np.arange(len(parts)), [len(p) for _, p in parts])
    acc = RecordAccount(read=len(df))
    codes = df[_CODE].astype("string").str.upper()
    keep = acc.partition([
        *truncated,
        ("blank row", df.isna().all(axis=1)),
        ("no LSOA code", codes.isna()),
        ("LSOA code malformed (not E01 or W01 and 6 digits)", ~codes.fillna("").str.fullmatch(CODE_PATTERN)),
        ("duplicate LSOA code (the first row is kept)", lambda kept: repeats(codes, kept)),
    ])

    others = [c for c in df.columns if c != _CODE]
    if opts.fields is None:
        fields = [c for c in others if _numeric(df.loc[keep, c])]
        # {field: its column in each file}; a file without the column gives NaN
        columns = {f: [f if f in p.columns else None for _, p in parts] for f in fields}
    else:
        # every listed field must be in every file; it is named as in the first file
        columns = {}
        for f in opts.fields:
            found = [find_column(p.columns.drop(_CODE), [f], file=file, what=f) for file, p in parts]
            columns.setdefault(found[0], found)
        fields = list(columns)
    labels = {f: f for f in fields}
    for col, text in opts.labels.items():
        field = find_column(fields, [col], file=label, what=col, required=False)
        if field is None:
            raise InputError(
                f"options.labels names '{col}', which is not one of the fields "
                f"({', '.join(fields) or 'none'})", file=label, key="options.labels",
            )
        labels[field] = text

    out = {"lsoa_code": codes[keep].to_numpy()}
    for f in fields:
        # Parsed file by file, so an error names the file and its spreadsheet row; cells of
        # dropped rows (a footnote, a repeated code) are not parsed.
        values = np.full(len(df), np.nan)
        for i, ((file, part), col) in enumerate(zip(parts, columns[f])):
            rows = file_of_row == i
            if col is not None:
                values[rows] = to_number(
                    part[col].where(keep[rows]), file=file, column=col, allow_missing=True
                )
        out[f] = values[keep]
    frame = pd.DataFrame(out)
    frame["lsoa_code"] = frame["lsoa_code"].astype("string")
    acc.check(spec.adapter)
    left_out = [c for c in others if c not in fields]
    meta = {"fields": fields, "labels": labels, "left_out": left_out}
    name_empty_files(empty, acc, meta)  # header-only files among others: named in validate and the profile
    return LayerData(frame, acc, meta)


def join_to_lsoas(frame: pd.DataFrame, lsoa_codes: pd.Index) -> tuple[pd.DataFrame, dict[str, int]]:
    """The table's fields for the LSOAs ``lsoa_codes`` (in that order, NaN where the table has
    no row), and how far table and area fail to match: table codes that are not among
    ``lsoa_codes`` (other districts, or another vintage of codes), and area LSOAs that have no
    row in the table.

    >>> t = pd.DataFrame({"lsoa_code": ["E01000001", "E01000002", "E01000009"], "n": [1.0, 2.0, 9.0]})
    >>> joined, unmatched = join_to_lsoas(t, pd.Index(["E01000002", "E01000001", "E01000003"]))
    >>> joined
               n
    E01000002  2.0
    E01000001  1.0
    E01000003  NaN
    >>> unmatched
    {'table codes not in the area': 1, 'area LSOAs without a row': 1}
    """
    lsoa_codes = pd.Index(lsoa_codes)
    table = frame.set_index("lsoa_code")
    joined = table.reindex(lsoa_codes)
    joined.index.name = None
    return joined, {
        "table codes not in the area": int((~table.index.isin(lsoa_codes)).sum()),
        "area LSOAs without a row": int((~lsoa_codes.unique().isin(table.index)).sum()),
    }
