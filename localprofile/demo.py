"""Where the shipped demo lives: the repository's ``data_catalog.yaml`` and ``data/``.

>>> demo_catalog_path().name
'data_catalog.yaml'
"""

from __future__ import annotations

from pathlib import Path

from .errors import InputError

DEMO_DISTRICT = "Leeds"


def demo_catalog_path() -> Path:
    """The demo catalog: in the current folder, else next to this source checkout."""
    here = Path(__file__).resolve().parent.parent / "data_catalog.yaml"
    for candidate in (Path.cwd() / "data_catalog.yaml", here):
        if candidate.is_file() and (candidate.parent / "data").is_dir():
            return candidate
    raise InputError(
        "the demo catalog ships with the source repository; run from a clone of localprofile "
        "or use `localprofile build --catalog FILE`",
        file="data_catalog.yaml",
    )
