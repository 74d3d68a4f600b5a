"""The engine: pure functions on arrays and frames (no I/O) that aggregate, smooth and test.

Every automatic choice an engine function makes is returned as a :class:`Choice` with its reason.
"""

from .choices import Choice

__all__ = ["Choice"]
