"""Expand a layer's paths into the tables inside them: plain files, folders and zip archives.

police.uk serves its archive as a zip holding ``YYYY-MM/YYYY-MM-<force>-street.csv`` files; an
analyst may equally unpack it into folders or pick single CSVs. This module lets adapters treat
all three alike.

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> cat = load_catalog(demo_catalog_path())
>>> [t.member for t in iter_tables(cat.paths("crimes"), r".*-street\\.csv")]
['2016-07/2016-07-west-yorkshire-street.csv', '2017-07/2017-07-west-yorkshire-street.csv']
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError


@dataclass(frozen=True)
class Table:
    """One readable table: a file on disk or a member of a zip archive.

    A member is read through the archive that :func:`iter_tables` holds open while it yields
    the archive's members, so an archive of many files is opened once, not once per member.
    """

    path: Path
    member: str | None = None
    archive: zipfile.ZipFile | None = field(default=None, compare=False, repr=False)

    @property
    def label(self) -> str:
        """How error messages and the data-quality section name this table."""
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @property
    def name(self) -> str:
        """The table's own file name, without folders."""
        return self.member.rsplit("/", 1)[-1] if self.member else self.path.name

    def read_bytes(self) -> bytes:
        if self.member is None:
            return self.path.read_bytes()
        try:
            return self.archive.read(self.member)
        except (zipfile.BadZipFile, NotImplementedError, EOFError, zlib.error) as exc:
            raise InputError(f"cannot unpack this archive member ({exc})", file=self.label) from None


# Folders of documentation inside downloads (Code-Point Open's Doc/, the ONS directories'
# Documents/ and User Guide/): their CSVs are not data.
DOC_FOLDERS = {"doc", "docs", "documents", "user guide", "userguide", "metadata"}


def iter_tables(paths: list[Path], member_pattern: str) -> Iterator[Table]:
    """Yield every table under ``paths``; read each before asking for the next.

    A file is taken as it is, unless it is a zip archive: then its members whose name matches
    ``member_pattern`` (a regular expression on the base name) are taken. Folders are searched
    recursively for matching files and zip archives.
    """
    rx = re.compile(member_pattern, re.IGNORECASE)
    for path in paths:
        found = False
        if path.is_dir():
            for p in sorted(path.rglob("*")):
                if {part.lower() for part in p.relative_to(path).parts[:-1]} & DOC_FOLDERS:
                    continue
                if p.is_file() and (rx.fullmatch(p.name) or p.suffix.lower() == ".zip"):
                    for table in _expand(p, rx):
                        found = True
                        yield table
            if not found:
                raise InputError(f"no file matching {member_pattern} in this folder", file=path)
        elif path.is_file():
            for table in _expand(path, rx, explicit=True):
                found = True
                yield table
            if not found:
                raise InputError(f"no member matching {member_pattern} in this archive", file=path)
        else:
            raise InputError("file not found", file=path)


def _expand(path: Path, rx: re.Pattern[str], explicit: bool = False) -> Iterator[Table]:
    if path.suffix.lower() == ".zip":
        try:
            zf = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise InputError("not a readable zip archive", file=path) from None
        with zf:
            names = sorted(
                n for n in zf.namelist()
                if rx.fullmatch(n.rsplit("/", 1)[-1])
                and not {part.lower() for part in n.split("/")[:-1]} & DOC_FOLDERS
            )
            for name in names:
                yield Table(path, name, zf)
    elif explicit or rx.fullmatch(path.name):
        yield Table(path)
