"""Small-number suppression for restricted counts shown to partners.

Counts from 1 to ``threshold - 1`` are shown as "<N" (primary suppression). When exactly one
count in a table is so hidden, the next smallest is hidden too and shown as "*" (complementary
suppression: withheld to protect another, whatever its size), so the hidden count cannot be
worked out from the others and a total. A table's total is given exactly only when nothing in it
is hidden; otherwise as the visible sum followed by "+" (nothing the visible cells do not say).

>>> suppress([12, 3, 7, 0, 25], 5)
['12', '<5', '*', '0', '25']
>>> suppress([12, 3, 2, 9], 5)
['12', '<5', '<5', '9']
>>> total_shown([12, 3, 7, 0, 25], suppress([12, 3, 7, 0, 25], 5), 5)
'37+'
>>> total_shown([12, 9], ["12", "9"], 5)
'21'
"""

from __future__ import annotations

import numpy as np

HIDDEN = "*"  # withheld to protect a small count elsewhere in the same table


def suppress(counts, threshold: int) -> list[str]:
    """Counts as text, small ones "<threshold", one complementary cell "*" where needed.

    Zero is not suppressed: that nothing was recorded reveals no one.
    """
    c = np.asarray(counts, dtype=np.int64)
    primary = (c > 0) & (c < threshold)
    secondary = np.zeros_like(primary)
    if primary.sum() == 1 and (c[~primary] > 0).any():
        candidates = np.where(~primary & (c > 0), c, np.iinfo(np.int64).max)
        secondary[int(np.argmin(candidates))] = True
    return [f"<{threshold}" if p else HIDDEN if s else str(int(v)) for v, p, s in zip(c, primary, secondary)]


def total_shown(counts, shown: list[str], threshold: int) -> str:
    """The total of ``counts`` as a partner may see it next to the ``shown`` cells."""
    total = int(np.sum(counts))
    if 0 < total < threshold:
        return f"<{threshold}"
    hidden = [s == HIDDEN or s.startswith("<") for s in shown]
    if not any(hidden):
        return str(total)
    visible = sum(int(s) for s, h in zip(shown, hidden) if not h)
    return f"{visible}+"
