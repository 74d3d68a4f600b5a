"""Record accounts: for every layer, rows read = rows used + rows dropped (by reason).

>>> acc = RecordAccount(read=10)
>>> acc.drop("no coordinates and no LSOA code", 2)
>>> acc.used = 8
>>> acc.check("crimes")
>>> acc.to_dict()
{'read': 10, 'used': 8, 'dropped': {'no coordinates and no LSOA code': 2}, 'notes': {}}
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

Mask = np.ndarray | pd.Series | Callable[[np.ndarray], np.ndarray]


@dataclass
class RecordAccount:
    """How many rows a layer read, used and dropped, with a reason for every drop.

    ``notes`` counts rows that were used with a caveat (e.g. "no coordinates: counted at LSOA
    level only"); they are part of ``used`` and do not enter the balance.
    """

    read: int = 0
    used: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    notes: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str, n: int) -> None:
        """Count ``n`` rows dropped for ``reason`` (zero counts are not recorded)."""
        if n:
            self.dropped[reason] = self.dropped.get(reason, 0) + int(n)

    def note(self, what: str, n: int) -> None:
        """Count ``n`` used rows that carry the caveat ``what``."""
        if n:
            self.notes[what] = self.notes.get(what, 0) + int(n)

    @property
    def n_dropped(self) -> int:
        return sum(self.dropped.values())

    def partition(self, reasons: list[tuple[str, Mask]]) -> np.ndarray:
        """Drop rows by reason, in order, and return the mask of rows kept (also sets ``used``).

        A row is dropped for the first reason that applies to it. A reason's mask may be a
        function of the rows still kept, e.g. :func:`repeats` to drop repeated codes among
        usable rows only, so an unusable first copy never hides a usable second one.

        >>> import pandas as pd
        >>> codes = pd.Series(["A", None, "A", "B"])
        >>> acc = RecordAccount(read=4)
        >>> acc.partition([("no code", codes.isna()),
        ...                ("duplicate code", lambda keep: repeats(codes, keep))]).tolist()
        [True, False, False, True]
        >>> acc.dropped, acc.used
        ({'no code': 1, 'duplicate code': 1}, 2)
        """
        keep = np.ones(self.read, dtype=bool)
        for reason, mask in reasons:
            hit = keep & np.asarray(mask(keep) if callable(mask) else mask, dtype=bool)
            self.drop(reason, int(hit.sum()))
            keep &= ~hit
        self.used = int(keep.sum())
        return keep

    def check(self, layer: str) -> None:
        """Raise if the account does not balance: a bug, never a user error."""
        if self.read != self.used + self.n_dropped:
            raise AssertionError(
                f"record account of layer '{layer}' does not balance: read {self.read} != "
                f"used {self.used} + dropped {self.n_dropped}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "read": int(self.read),
            "used": int(self.used),
            "dropped": {k: int(v) for k, v in self.dropped.items()},
            "notes": {k: int(v) for k, v in self.notes.items()},
        }


def repeats(values: pd.Series, keep: np.ndarray) -> np.ndarray:
    """Rows of ``keep`` whose (non-missing) value already appeared in an earlier kept row."""
    kept = values.where(keep)
    return (kept.notna() & kept.duplicated(keep="first")).to_numpy()


@dataclass
class LayerData:
    """What an adapter returns: the normalised frame, its record account and facts about it.

    ``frame`` is a GeoDataFrame in EPSG:27700 for spatial layers and a DataFrame for tables keyed
    by LSOA code. ``meta`` holds facts found while reading (months covered, code vintage, ...).
    """

    frame: pd.DataFrame
    account: RecordAccount
    meta: dict[str, Any] = field(default_factory=dict)
