"""Small-number suppression for restricted counts shown to partners.

Counts below the threshold are shown as "<N". When exactly one count in a table would be
suppressed, the next smallest is suppressed too (complementary suppression), so that the hidden
count cannot be worked out from the table's total.

>>> suppress([12, 3, 7, 0, 25], 5)
['12', '<5', '<5', '0', '25']
>>> suppress([12, 3, 2, 9], 5)
['12', '<5', '<5', '9']
"""

from __future__ import annotations

import numpy as np


def suppress(counts, threshold: int) -> list[str]:
    """Counts as text with those from 1 to ``threshold - 1`` replaced by "<threshold".

    Zero is not suppressed: that nothing was recorded reveals no one.
    """
    c = np.asarray(counts, dtype=np.int64)
    hide = (c > 0) & (c < threshold)
    if hide.sum() == 1 and (c[~hide] > 0).any():
        candidates = np.where(~hide & (c > 0), c, np.iinfo(np.int64).max)
        hide[int(np.argmin(candidates))] = True
    return [f"<{threshold}" if h else str(int(v)) for v, h in zip(c, hide)]


def suppress_one(count: int, threshold: int) -> str:
    """A single figure (a total, a record account line) as text, suppressed if small."""
    return f"<{threshold}" if 0 < count < threshold else str(int(count))
