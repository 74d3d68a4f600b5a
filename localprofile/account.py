"""Record accounts: for every layer, rows read = rows used + rows dropped (by reason).

>>> acc = RecordAccount(read=10)
>>> acc.drop("no coordinates and no LSOA code", 2)
>>> acc.used = 8
>>> acc.check("crimes")
>>> acc.to_dict()
{'read': 10, 'used': 8, 'dropped': {'no coordinates and no LSOA code': 2}, 'notes': {}}
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass
class RecordAccount:
    """How many rows a layer read, used and dropped, with a reason for every drop.

    ``notes`` counts rows that were used with a caveat (e.g. "LSOA from point-in-polygon"); they
    are part of ``used`` and do not enter the balance.
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


@dataclass
class LayerData:
    """What an adapter returns: the normalised frame, its record account and facts about it.

    ``frame`` is a GeoDataFrame in EPSG:27700 for spatial layers and a DataFrame for tables keyed
    by LSOA code. ``meta`` holds facts found while reading (months covered, code vintage, ...).
    """

    frame: pd.DataFrame
    account: RecordAccount
    meta: dict[str, Any] = field(default_factory=dict)
