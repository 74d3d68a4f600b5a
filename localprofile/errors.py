"""Errors the user can fix, reported as one line by the CLI (exit code 2, no traceback).

>>> str(InputError("missing column 'Longitude'", file="crimes.csv", row=None, column="Longitude"))
"crimes.csv: column 'Longitude': missing column 'Longitude'"
>>> str(InputError("not a number", file="pop.csv", row=7, column="Persons"))
"pop.csv: row 7: column 'Persons': not a number"
"""

from __future__ import annotations

from pathlib import Path


class InputError(Exception):
    """Bad input: a missing file, a malformed catalog, a missing column, an unknown district.

    ``file``, ``row`` (1-based, counting the header as row 1, as a spreadsheet shows it),
    ``column`` and ``key`` (a catalog key) are joined into one line in that order.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.key = key

    def __str__(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.key:
            parts.append(f"key '{self.key}'")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column '{self.column}'")
        parts.append(self.message)
        # One line, always: messages quoting data must not break the line.
        return ": ".join(parts).replace("\r", " ").replace("\n", " ")


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines too) as one space: an error for one line."""
    return " ".join(str(text).split())
