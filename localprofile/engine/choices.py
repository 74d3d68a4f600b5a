"""A recorded automatic choice: what was chosen, the value, and why.

>>> Choice("cell size", 500, "sfhotspot's rule").to_dict()
{'what': 'cell size', 'value': 500, 'why': "sfhotspot's rule"}
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Choice:
    what: str
    value: Any
    why: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
