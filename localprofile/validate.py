"""Input validation shared by every adapter: files, tables, columns and values.

Every check raises :class:`~localprofile.errors.InputError` with the file, row and column, so the
CLI can print one line and exit with code 2.

>>> import pandas as pd
>>> find_column(["LSOA Code", "Persons"], ["lsoa11cd", "lsoa code"], file="x.csv", what="LSOA code")
'LSOA Code'
>>> to_number(pd.Series(["1,563", "46"]), file="x.csv", column="Persons").tolist()
[1563.0, 46.0]
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

from .errors import InputError


def require_file(path: Path) -> Path:
    """Return ``path`` if it is a readable file, else raise a one-line error naming it."""
    path = Path(path)
    if not path.exists():
        raise InputError("file not found", file=path)
    if not path.is_file():
        raise InputError("not a file", file=path)
    return path


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", str(name).lower())


def _matches(candidate: str, normed: str) -> bool:
    """Whether a normalised column name matches a candidate (a name, or ``re:`` a pattern)."""
    if candidate.startswith("re:"):
        return re.fullmatch(candidate[3:], normed) is not None
    return _norm(candidate) == normed


def find_column(
    columns: Iterable[str],
    candidates: Iterable[str],
    *,
    file: str | Path,
    what: str,
    required: bool = True,
    hint: str = "",
) -> str | None:
    """Find the column matching one of ``candidates``.

    Matching ignores case, spaces and punctuation; a candidate starting with ``re:`` is a regular
    expression on that normalised name. Returns the real column name, or None (``required=False``).
    A missing required column is an error naming ``what`` as the column, with ``hint`` appended.
    """
    columns = list(columns)
    normed = {_norm(c): c for c in columns}
    for cand in candidates:
        for n, c in normed.items():
            if _matches(cand, n):
                return c
    if not required:
        return None
    others = [f"'{c}'" for c in candidates if not c.startswith("re:") and c != what]
    alt = f" (or {', '.join(others)})" if others else ""
    raise InputError(
        f"missing column '{what}'{alt}" + (f"; {hint}" if hint else ""), file=file, column=what
    )


def select_columns(
    raw: pd.DataFrame,
    wanted: dict[str, tuple[list[str], bool]],
    *,
    file: str | Path,
    hint: str = "",
) -> pd.DataFrame:
    """The columns ``wanted`` ({name: (accepted headers, required)}) as text, renamed to their
    normalised names; an optional column that is absent comes back all missing. The headers
    found are kept in ``attrs["headers"]`` ({name: header}), for messages naming the column."""
    out, headers = {}, {}
    for name, (cands, required) in wanted.items():
        col = find_column(raw.columns, cands, file=file, what=cands[0], required=required, hint=hint)
        out[name] = raw[col] if col else pd.Series(pd.NA, index=raw.index, dtype="string")
        headers[name] = col
    frame = pd.DataFrame(out, index=raw.index)
    frame.attrs["headers"] = headers
    return frame


def read_columns(
    source: str | Path | IO[bytes],
    wanted: dict[str, tuple[list[str], bool]],
    *,
    file: str | Path,
    encoding: str = "auto",
    hint: str = "",
) -> pd.DataFrame:
    """:func:`select_columns` of :func:`read_csv`, parsing only the columns that can match
    ``wanted``: a national ONS postcode directory (2.6 million rows, some 50 columns) or GIAS
    extract (130 columns) is then held as its five or ten useful columns, not all of them.

    >>> import io
    >>> src = io.BytesIO(b"PCDS,doterm,lsoa11cd,other\\nLS1 1AA,,E01011698,x\\n")
    >>> read_columns(src, {"postcode": (["pcds"], True), "lsoa": (["lsoa11cd"], False)}, file="f.csv")
      postcode       lsoa
    0  LS1 1AA  E01011698
    """
    cands = [c for names, _ in wanted.values() for c in names]

    def keep(column: str) -> bool:
        n = _norm(column)
        return any(_matches(c, n) for c in cands)

    parsed = read_csv(source, file=file, encoding=encoding, usecols=keep)
    out = select_columns(parsed, wanted, file=file, hint=hint)
    out.attrs["truncated"] = parsed.attrs["truncated"]  # whether the file ends mid-row
    return out


def _decode(raw: bytes, encoding: str) -> str:
    """Decode ``raw``; "auto" is UTF-8 (BOM or not), else Windows-1252, the encoding of Excel's
    and GIAS's CSV exports. A Windows-1252 file with accented names almost never decodes as
    UTF-8 by accident, so the order is safe."""
    if encoding != "auto":
        return raw.decode(encoding)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252")


def _gunzip(raw: bytes, file) -> bytes:
    """The CSV inside a gzip file's bytes; a damaged file is an InputError naming it."""
    import gzip
    import zlib

    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(f"not a readable gzip file ({exc})", file=file) from None


def _reads_ascii_as_ascii(encoding: str) -> bool:
    """Whether ``encoding`` decodes every ASCII byte to that character, statelessly: "auto" (both
    its decodings do), UTF-8, ASCII and the single-byte ISO 8859 and Windows code pages.
    ``LookupError`` for an unknown codec, as decoding would raise."""
    if encoding == "auto":
        return True
    name = codecs.lookup(encoding).name
    return name in ("ascii", "utf-8", "utf-8-sig") or name.startswith(("iso8859-", "cp125"))


def _bytes_or_text(raw: bytes, encoding: str) -> bytes | str:
    """``raw`` itself when its text would be the same characters (an ASCII file, in an encoding
    that reads ASCII as ASCII: a national postcode directory of codes is one), else the decoded
    text. Parsing the bytes then gives what parsing the text gave, without a second (and, for
    pandas's reading, a third) copy of the file in memory."""
    if raw.isascii() and _reads_ascii_as_ascii(encoding):
        return raw
    return _decode(raw, encoding)


def _line_ends(data: str | bytes) -> tuple:
    """``\\n`` and ``\\r`` as ``data``'s type (text, or a file's ASCII bytes)."""
    return ("\n", "\r") if isinstance(data, str) else (b"\n", b"\r")


# Anything str.strip() keeps: for bytes, the ASCII characters that str.isspace() rejects.
_NOT_SPACE = {str: re.compile(r"\S"), bytes: re.compile(rb"[^ \t\n\r\x0b\x0c\x1c-\x1f]")}


def read_csv(
    source: str | Path | IO[bytes],
    *,
    file: str | Path,
    encoding: str = "auto",
    header: int | None = 0,
    usecols=None,
) -> pd.DataFrame:
    """Read a CSV as text columns (no type guessing), with one-line errors; ``usecols`` as
    pandas' (only those columns are parsed).

    Empty cells become missing values; everything else stays a string, so codes such as
    ``E01011698`` and months such as ``2016-07`` are never mangled. An ASCII file is parsed as
    the bytes it is (no decoded copy): a national ONS postcode directory (2.6 million rows) is
    then held as its bytes and the columns used, well under 4 GB.
    """
    try:
        if isinstance(source, (str, Path)):
            require_file(Path(source))
            raw = Path(source).read_bytes()
        else:
            raw = source.read()
        if raw[:2] == b"\x1f\x8b":  # gzip (a .csv.gz download): the CSV inside it
            raw = _gunzip(raw, file)
        data = _bytes_or_text(raw, encoding)
        del raw  # (decoded, the bytes are not kept beside the text)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"not valid {'UTF-8 or Windows-1252' if encoding == 'auto' else encoding} text "
            f"(byte {exc.start}); give the layer its encoding in the catalog, beside its path "
            "(not under options), e.g. encoding: cp1252",
            file=file,
        ) from None
    except LookupError:
        raise InputError(f"unknown encoding '{encoding}'", file=file) from None
    if _NOT_SPACE[type(data)].search(data) is None:
        raise InputError("file is empty", file=file)
    # Bytes only when they are ASCII: pandas's parser then sees the very bytes it would have
    # read from the text (it reads text by encoding it to UTF-8), so it gives the same table and
    # the same errors.
    nl, cr = _line_ends(data)

    def parse(end: int | None = None) -> pd.DataFrame:
        """The table of ``data`` up to ``end`` (all of it by default)."""
        d = data
        if isinstance(d, str) and end is not None:
            d, end = d[:end], None
        fast = _parse_plain(d, header, usecols, end)
        if fast is not None:
            return fast
        return pd.read_csv(
            io.StringIO(d) if isinstance(d, str) else io.BytesIO(d if end is None else d[:end]),
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            header=header,
            skipinitialspace=True,
            # keep blank lines as (empty) rows, so row numbers match what a spreadsheet shows
            skip_blank_lines=False,
            usecols=usecols,
        )

    # A download cut off inside a quoted last field ("On or near Br): the rows before it are
    # whole, and the cut row is kept, empty, to be dropped as a truncated row. pandas's parser
    # stops at the end of such a file ("EOF inside string") and the whole rows are read again;
    # ASCII bytes whose whole rows Arrow reads (so the last line starts a row) are told from
    # their last line, and their whole rows read once, without a copy.
    whole = data.rfind(nl) + 1  # where the last line starts
    df = None
    if isinstance(data, bytes) and _ends_inside_quotes(data, whole) and _more_lines(data, header or 0, whole):
        df = _parse_plain(data, header, usecols, whole)
    cut_in_quotes = df is not None
    if df is None:
        try:
            df = parse()
        except pd.errors.ParserError as exc:
            msg = str(exc).strip().splitlines()[-1]
            if ("EOF inside string" in msg and not data.endswith((nl, cr))
                    and _more_lines(data, header or 0, whole)):
                try:
                    df = parse(whole)
                except pd.errors.ParserError:
                    df = None
                cut_in_quotes = df is not None
            if df is None:
                m = re.search(r"line (\d+)", msg)
                raise InputError(
                    f"not a well-formed CSV ({msg})", file=file, row=int(m.group(1)) if m else None
                ) from None
    if cut_in_quotes:  # the cut row, empty (in each column's own type: no conversion of the rest)
        cut = pd.DataFrame({c: pd.Series([pd.NA], dtype=df[c].dtype) for c in df.columns},
                           index=pd.RangeIndex(1), columns=df.columns)
        df = pd.concat([df, cut], ignore_index=True)
    # Text, trimmed; a cell of only spaces is as missing as an empty one.
    for col in df.columns:
        df[col] = df[col].astype("string").str.strip().replace("", pd.NA)
    # A download cut off mid-row: no final newline, and the last row shorter than the header
    # (or, without a header, than the first row; pandas pads it with missing values, so it
    # would pass for a complete row).
    df.attrs["truncated"] = cut_in_quotes or (
        bool(len(df)) and _short_last_row(data, df.shape[1] if usecols is None else None))
    return df


_FIRST_LINE = re.compile(rb"[^\r\n]*")


def _unquote(name: str) -> str | None:
    """A header field as pandas reads it, where that is plain: ``"pcd"`` is ``pcd``; None for a
    quote anywhere else (a quoted comma splits the line differently, a doubled quote, ...)."""
    if '"' not in name:
        return name
    if len(name) >= 2 and name[0] == name[-1] == '"' and '"' not in name[1:-1]:
        return name[1:-1]
    return None


def _more_lines(data: str | bytes, n: int, end: int) -> bool:
    """Whether ``data`` holds more than ``n`` newlines before ``end`` (found one by one, not
    counted through the file: ``n`` is the header's rows)."""
    nl, pos = _line_ends(data)[0], 0
    for _ in range(n + 1):
        pos = data.find(nl, pos, end) + 1
        if not pos:
            return False
    return True


def _breaks_and_space_quote(buf: bytes, end: int) -> tuple[int, bool]:
    """The line breaks in ``buf`` before ``end`` (``\\n``, ``\\r\\n`` or a lone ``\\r``, each
    one break, as both parsers count them) and whether a space stands right before a quote
    anywhere (the count then stops: it is not needed); in 4 MB slices of the bytes (views, no
    copy), one step each."""
    a = np.frombuffer(buf, dtype=np.uint8, count=end)
    has_cr = buf.find(b"\r", 0, end) >= 0
    step = 1 << 22
    breaks = 0
    for i in range(0, len(a), step):
        c = a[i:i + step + 1]  # one byte more: the pairs that straddle two slices
        if np.any(c[np.flatnonzero(c[:-1] == 32) + 1] == 34):
            return breaks, True
        breaks += int(np.count_nonzero(c[:step] == 10))
        if has_cr:
            cr = c == 13
            breaks += int(np.count_nonzero(cr[:step])) - int(np.count_nonzero(cr[:-1] & (c[1:] == 10)))
    return breaks, False


# One line that is a whole CSV record as both parsers read it (no space before a quote): fields
# plain (not starting with a quote) or quoted, doubled quotes inside, any text after the close.
_FIELD = rb'(?:"(?:[^"]|"")*"(?:[^,"][^,]*)?|[^,"][^,]*|)'
_RECORD = re.compile(_FIELD + rb"(?:," + _FIELD + rb")*")


def _ends_inside_quotes(buf: bytes, start: int) -> bool:
    """Whether ``buf``'s last line (from ``start``, no line break after it) leaves a quoted field
    open at the end of the file: reached at the start of a row, pandas's parser stops there with
    "EOF inside string". False where that cannot be told from the line alone (a ``\\r`` in it,
    a space before a quote)."""
    return (not buf.endswith((b"\n", b"\r")) and buf.find(b"\r", start) < 0
            and buf.find(b' "', start) < 0 and _RECORD.fullmatch(buf, start) is None)


def _parse_plain(data: str | bytes, header: int | None, usecols,
                 end: int | None = None) -> pd.DataFrame | None:
    """The table :func:`read_csv`'s pandas parser would give, read by Arrow's CSV reader (several
    times faster, and only the wanted columns kept), for the files where the two cannot differ;
    None for any other file, which pandas then reads (with its handling of ragged and cut-off
    rows, and its error messages). ``data`` is the file's ASCII bytes, or its text (given to
    Arrow as UTF-8, the bytes pandas's parser reads too).

    The files: no BOM or NUL, a header of unique names without leading spaces (each plain or
    wholly in quotes), and every row with exactly the header's number of fields (Arrow refuses
    any other row). Where there are quotes (an ONS postcode directory quotes every code), also:
    no space just before a quote (pandas skips it and reads a quoted field, Arrow reads the space
    and the quote as text), a line break at the end (a file cut inside a quoted field has pandas
    recover its whole rows; Arrow would take the cut text as a value), and one row per line
    break, so no quoted value holds a line break: the two parsers then read quotes alike (a
    quoted field, doubled quotes inside it, text after its closing quote, a quote inside an
    unquoted field kept as text). ``end``: read only the bytes before it (no copy)."""
    buf = data if isinstance(data, bytes) else data.encode("utf-8")
    end = len(buf) if end is None else end
    if buf.find(b"\x00", 0, end) >= 0 or buf.startswith(codecs.BOM_UTF8):
        return None
    quoted = buf.find(b'"', 0, end) >= 0
    if quoted and not buf.endswith((b"\n", b"\r"), 0, end):
        return None
    try:
        import pyarrow as pa
        from pyarrow import csv as pacsv
    except ImportError:
        return None
    first = [_unquote(f) for f in _FIRST_LINE.match(buf, 0, end).group().decode("utf-8").split(",")]
    if len(first) < 2 or None in first:
        return None  # one column: a blank line would be a row here, and is one for pandas too,
        # but a file of one column is small anyway
    if header is None:
        names: list = list(range(len(first)))
    elif header == 0:
        names = first
        if len(set(names)) != len(names) or any(n == "" or n != n.lstrip() for n in names):
            return None  # pandas would rename (X.1, Unnamed: 3) or strip these
    else:
        return None
    keep = [i for i, n in enumerate(names) if usecols is None or usecols(n)]
    if not keep:
        return None
    if quoted:
        breaks, space_quote = _breaks_and_space_quote(buf, end)
        if space_quote:
            return None
    internal = [f"c{i}" for i in range(len(names))]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(buf).slice(0, end)),
            # One thread: with more, Arrow parses blocks ahead and holds them (1 GB more at the
            # peak for a national postcode directory), for little gain on two cores.
            read_options=pacsv.ReadOptions(column_names=internal, skip_rows=0 if header is None else 1,
                                           use_threads=False),
            parse_options=pacsv.ParseOptions(quote_char='"' if quoted else False, double_quote=True,
                                             newlines_in_values=quoted, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in internal}, include_columns=[internal[i] for i in keep],
                strings_can_be_null=True, null_values=[""]),
        )
    except pa.ArrowInvalid:
        return None  # a row of another length, a blank line: pandas's reading (and messages)
    if quoted:
        # A line break inside quotes: a row fewer than line breaks; or as many, and the last
        # one inside quotes left open at the end of the file (pandas: "EOF inside string").
        stop = end - (2 if buf.endswith(b"\r\n", 0, end) else 1)
        start = max(buf.rfind(b"\n", 0, stop), buf.rfind(b"\r", 0, stop)) + 1
        if table.num_rows + (header is not None) != breaks or _RECORD.fullmatch(buf, start, stop) is None:
            return None
    frame = pd.DataFrame({names[i]: pd.Series(pd.arrays.ArrowStringArray(table.column(j).combine_chunks()))
                          for j, i in enumerate(keep)})
    if header is None:
        frame.columns = pd.Index([names[i] for i in keep], dtype="int64")
    return frame


def truncated_reason(file) -> str:
    """The drop reason of the short last row of a file cut off mid-row, naming the file (so the
    data-quality section of the profile names it)."""
    return f"truncated row: {file} ends mid-row (a download cut off?)"


def empty_file_note(file) -> str:
    """The record-account note naming a file with only a header, among files that give rows."""
    return f"file with only a header (0 rows): {file}"


LSOA_CODE = r"[EW]01\d{6}"  # an LSOA code, 2011 or 2021: E01 (England) or W01 (Wales), 6 digits
LSOA_CODE_WHAT = "an LSOA code (E01 or W01 and 6 digits)"
LAD_CODE = r"[EW]0[6-9]\d{6}"  # a local authority district: E06-E09 (England), W06 (Wales)
LAD_CODE_WHAT = "a district code (E06 to E09 or W06 and 6 digits)"


def whole_rows(frame: pd.DataFrame) -> np.ndarray:
    """Which rows of a table read by :func:`read_csv` are whole: all but the short last row of a
    file cut off mid-row (dropped as "truncated row", and no example of a bad value).

    >>> import io
    >>> whole_rows(read_csv(io.BytesIO(b"x,y\\n1,2\\n3"), file="a.csv")).tolist()
    [True, False]
    """
    whole = np.ones(len(frame), dtype=bool)
    if frame.attrs.get("truncated") and len(frame):
        whole[-1] = False
    return whole


def require_pattern(values: pd.Series, pattern: str, *, file, column: str, what: str,
                    whole: np.ndarray | None = None, first_row: int = 2) -> np.ndarray:
    """Which of one file's ``values`` match ``pattern`` (case-insensitive); if none of its whole
    rows does, one error naming the file, the column and the first value written (see
    :func:`require_some_valid`). ``first_row`` is the spreadsheet row of the first value.

    >>> require_pattern(pd.Series(["E01011698", "x"]), LSOA_CODE, file="f.csv", column="c", what="a code").tolist()
    [True, False]
    >>> require_pattern(pd.Series(["Leeds 001A"]), LSOA_CODE, file="f.csv", column="LSOA Code", what=LSOA_CODE_WHAT)
    Traceback (most recent call last):
    localprofile.errors.InputError: f.csv: row 2: column 'LSOA Code': LSOA Code 'Leeds 001A' is not an LSOA code (E01 or W01 and 6 digits) (nor is any other row's)
    """
    values = values.reset_index(drop=True).astype("string")
    ok = values.str.upper().str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
    whole = np.ones(len(values), dtype=bool) if whole is None else whole
    require_some_valid(values.where(whole), ok & whole, np.full(len(values), str(file), dtype=object),
                       np.arange(first_row, len(values) + first_row), column=column, what=what)
    return ok


def combine_files(parts: list[tuple[str, pd.DataFrame]], *, needs: str
                  ) -> tuple[pd.DataFrame, list[tuple[str, np.ndarray]], list[str]]:
    """The tables read from each file (``(label, frame)``, in order) as one frame, with a drop
    reason and row mask per file that ends mid-row and the files with only a header (see
    :func:`file_problems`). When no file has a row, one error naming the first file and what the
    layer ``needs``.

    >>> import io
    >>> combine_files([("a.csv", read_csv(io.BytesIO(b"x\\n"), file="a.csv"))], needs="a lookup needs rows")
    Traceback (most recent call last):
    localprofile.errors.InputError: a.csv: no rows: only a header; a lookup needs rows
    """
    cut, empty = file_problems([(frame, label) for label, frame in parts])
    df = pd.concat([frame for _, frame in parts], ignore_index=True)
    if not len(df):
        more = f" (and {len(empty) - 1} more file{'s' if len(empty) > 2 else ''} like it)" if len(empty) > 1 else ""
        raise InputError(f"no rows: only a header{more}; {needs}", file=parts[0][0])
    return df, cut, empty


def name_empty_files(empty: list[str], acc, meta: dict) -> dict:
    """Header-only files among files that give rows: listed in ``meta`` (``validate`` warns of
    them) and as notes of the record account (the profile's data-quality section names them).
    A layer whose every file is only a header (an optional layer: stop and search, outcomes) is
    an empty layer; ``validate`` warns of its 0 rows, naming the files."""
    if empty and acc.read:
        meta["empty_files"] = list(empty)
        for label in empty:
            acc.notes[empty_file_note(label)] = 0
    return meta


def file_problems(frames: list[tuple[pd.DataFrame, str]]) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """For tables read by :func:`read_csv` and then concatenated in order: a drop reason and row
    mask for each file that ends mid-row (its last row), and the files with only a header.

    >>> import io
    >>> a = read_csv(io.BytesIO(b"x,y\\n1,2\\n3"), file="a.csv")
    >>> b = read_csv(io.BytesIO(b"x,y\\n"), file="b.csv")
    >>> cut, empty = file_problems([(a, "a.csv"), (b, "b.csv")])
    >>> [(r, m.tolist()) for r, m in cut], empty
    ([('truncated row: a.csv ends mid-row (a download cut off?)', [False, True])], ['b.csv'])
    """
    sizes = np.array([len(f) for f, _ in frames], dtype=int)
    ends = np.cumsum(sizes)
    cut = []
    for (frame, label), end in zip(frames, ends):  # one step per file, not per row
        if frame.attrs.get("truncated"):
            mask = np.zeros(int(ends[-1]) if len(ends) else 0, dtype=bool)
            mask[end - 1] = True
            cut.append((truncated_reason(label), mask))
    return cut, [label for (frame, label) in frames if not len(frame)]


def require_some_valid(values: pd.Series, valid, files, rows, *, column: str, what: str) -> None:
    """A file in which no row has a valid ``column`` is one error naming the file, the column and
    the first value written (``Month '07/2018' is not YYYY-MM``): a whole column re-saved by Excel
    or mapped to the wrong field, not rows to drop. A file where only some rows are bad is left to
    the counted drops. ``values``, ``valid``, ``files`` (each row's file) and ``rows`` (each row's
    spreadsheet row) run over the same rows; a missing value in ``values`` is no example.

    >>> v = pd.Series(["07/2018", "08/2018", "2018-09"])
    >>> ok = v.str.fullmatch(r"\\d{4}-\\d{2}").to_numpy()
    >>> require_some_valid(v, ok, ["a.csv", "a.csv", "b.csv"], [2, 3, 2], column="Month", what="YYYY-MM")
    Traceback (most recent call last):
    localprofile.errors.InputError: a.csv: row 2: column 'Month': Month '07/2018' is not YYYY-MM (nor is any other row's)
    """
    values = values.reset_index(drop=True)
    files = np.asarray(files, dtype=object)
    good = pd.Series(np.asarray(valid, dtype=bool)).groupby(files).any()
    for label in good.index[~good.to_numpy()]:
        written = values[files == label].dropna()
        if not len(written):
            raise InputError(f"{column} is empty in every row", file=label, column=column)
        raise InputError(f"{column} '{written.iloc[0]}' is not {what} (nor is any other row's)",
                         file=label, row=int(np.asarray(rows)[written.index[0]]), column=column)


def _short_last_row(data: str | bytes, width: int | None) -> bool:
    """Whether ``data`` (a file's text, or its ASCII bytes) ends without a newline in a row of
    fewer fields than the header; only the first and last lines are looked at (and decoded)."""
    nl, cr = _line_ends(data)
    if data.endswith((nl, cr)):
        return False
    end = data.find(nl)
    first, last = data[: len(data) if end < 0 else end], data[data.rfind(nl) + 1:]
    if isinstance(data, bytes):
        first, last = first.decode("ascii"), last.decode("ascii")
    head = next(csv.reader([first]), [])
    fields = next(csv.reader([last]), [])
    return len(fields) < (width or len(head))


# A plain decimal as police.uk, Code-Point Open and ONS files write their numbers: an optional
# minus sign, digits, a point and digits (no exponent, spaces, thousands separators, "inf" or
# "nan"). A whole "-0" is left to pandas, whose sign of zero there depends on the other cells.
_PLAIN_DECIMAL = r"^-?[0-9]+(\.[0-9]+)?$"
_MINUS_ZERO = r"^-0+$"


def numbers(text: pd.Series) -> np.ndarray:
    """``pd.to_numeric(text, errors="coerce")`` as float64: NaN where a cell is empty or not a
    number.

    A text column held by Arrow (as :func:`read_csv` gives them) whose every filled cell is a
    plain decimal is cast by Arrow's own parser. Written here, not left to ``pd.to_numeric``,
    because pandas parses Arrow text one Python string at a time: 20 ms against 0.6 ms for
    64,000 eastings, 0.11 s of a Leeds build over its coordinate columns. Both parsers round
    correctly, so the doubles are the same (tests/test_fast_paths.py checks 600,000
    strings); any other column, or a cell that is not a plain decimal, goes to pandas.

    >>> numbers(pd.Series(["431234", "-1.5", None, "12 m"], dtype="string")).tolist()
    [431234.0, -1.5, nan, nan]
    """
    if isinstance(text.dtype, pd.StringDtype) and text.dtype.storage == "pyarrow":
        import pyarrow as pa
        import pyarrow.compute as pc

        arr = pa.array(text.array)  # the column's own Arrow data, not a copy
        plain = pc.match_substring_regex(arr, _PLAIN_DECIMAL)
        if arr.null_count == len(arr) or (pc.all(plain).as_py()  # all() and any() skip empty cells
                                          and not pc.any(pc.match_substring_regex(arr, _MINUS_ZERO)).as_py()):
            return pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    return pd.to_numeric(text, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def to_number(
    values: pd.Series,
    *,
    file: str | Path,
    column: str,
    allow_missing: bool = False,
) -> np.ndarray:
    """Parse numbers written as text, accepting thousands separators ("1,563").

    A value that is not a finite number raises an error naming its spreadsheet row (row 1 being
    the header).
    """
    text = values.astype("string").str.replace(",", "", regex=False).str.strip()
    nums = pd.to_numeric(text, errors="coerce")
    bad = (nums.isna() & (text.notna() if allow_missing else True)) | np.isinf(nums.astype(float))
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        shown = values.iloc[pos]
        shown = "an empty cell" if pd.isna(shown) else f"'{shown}'"
        raise InputError(
            f"expected a number, found {shown}", file=file, row=pos + 2, column=column
        )
    return nums.to_numpy(dtype=float, na_value=np.nan)

