"""Parsed inputs kept on disk as GeoParquet, so a rebuild reads each source file's bytes once.

A layer's parsed frame is stored under a key made of the adapter's code, the catalog entry and
the content hash (SHA-256) of every file behind it; a police.uk monthly table is also stored on
its own, keyed by its bytes, so a rebuild after adding one month parses only that month. Any
change to a file, to the catalog entry or to localprofile's code gives a new key: a stale entry
is never used, it is just left behind (delete the folder to reclaim the space).

Only open layers are cached: restricted force layers (OCG members, CSE locations, ...) are never
copied out of the folder the force keeps them in. A frame that would not come back from Parquet
exactly (every dtype, every missing-value kind) is not cached at all, so a cached build writes the
same bytes as an uncached one.

The cache is off unless a folder is given (``build --cache``; ``build-all`` has one unless
``--no-cache``).

>>> import tempfile
>>> from localprofile.catalog import load_catalog
>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.loading import LoadContext
>>> with tempfile.TemporaryDirectory() as tmp:
...     use_cache(tmp)
...     first = LoadContext(load_catalog(demo_catalog_path()), memory=False).layer("imd2019")
...     again = LoadContext(load_catalog(demo_catalog_path()), memory=False).layer("imd2019")
...     use_cache(None)
...     first.frame.equals(again.frame), STATS["layer_hits"] >= 1
(True, True)
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd

from .account import LayerData, RecordAccount

FORMAT = 1  # bump when the stored layout changes

_DIR: Path | None = None
# what this process found in the cache: layer/table hits and misses, frames not cacheable
STATS: Counter = Counter()


def use_cache(folder: str | Path | None) -> None:
    """Cache parsed inputs in ``folder`` from now on in this process (None: no cache)."""
    global _DIR
    _DIR = Path(folder) if folder else None


def cache_dir() -> Path | None:
    """The cache folder given to :func:`use_cache` (None: no cache)."""
    return _DIR


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """A hash of localprofile's own source (package and layer adapters): new code, new keys."""
    import localprofile
    import localprofile.layers

    h = hashlib.sha256(f"format {FORMAT}".encode())
    for root in sorted({Path(localprofile.__file__).parent, Path(localprofile.layers.__file__).parent}):
        for f in sorted(root.rglob("*.py")):
            h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def key(*parts: Any) -> str:
    """The cache key of ``parts`` (JSON-able) under the current code version."""
    text = json.dumps([code_version(), *parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _exact(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether ``b`` is ``a`` to the last dtype and missing-value kind (None, NaN, pd.NA)."""
    if type(a) is not type(b) or list(a.columns) != list(b.columns) or not a.index.equals(b.index):
        return False
    if getattr(a, "crs", None) != getattr(b, "crs", None):
        return False
    for c in a.columns:
        x, y = a[c], b[c]
        if x.dtype != y.dtype:
            return False
        if x.dtype == object and not x.map(type).equals(y.map(type)):
            return False
    try:
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    except AssertionError:
        return False
    return True


def _paths(kind: str, k: str) -> tuple[Path, Path]:
    folder = cache_dir() / kind / k[:2]
    return folder / f"{k}.parquet", folder / f"{k}.json"


def _read_frame(path: Path, geo: bool) -> pd.DataFrame:
    if geo:
        import geopandas as gpd

        return gpd.read_parquet(path)
    return pd.read_parquet(path)


def _write(kind: str, k: str, frame: pd.DataFrame, extra: dict) -> None:
    """Store ``frame`` (GeoParquet when it has geometry) and ``extra`` (JSON) under ``k``,
    written to temporary names and moved into place, so concurrent workers never see half a
    file; a frame that would not read back exactly is recorded as not cacheable."""
    import geopandas as gpd

    data, meta = _paths(kind, k)
    data.parent.mkdir(parents=True, exist_ok=True)
    geo = isinstance(frame, gpd.GeoDataFrame)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".parquet", dir=data.parent)
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=True)
        if not _exact(frame, _read_frame(Path(tmp), geo)):
            STATS[f"{kind}_not_cacheable"] += 1
            return
        extra = {**extra, "geo": geo, "attrs": frame.attrs}
        fd, tmp_meta = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=data.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(extra, f)  # keys in their order: the drop reasons are listed as the adapter counted them
        os.replace(tmp, data)
        os.replace(tmp_meta, meta)  # the JSON last: an entry counts only once both are there
    except (TypeError, ValueError, OSError, ImportError):  # not JSON/Parquet-able, or disk full:
        STATS[f"{kind}_not_cacheable"] += 1                # the build goes on uncached
    finally:
        Path(tmp).unlink(missing_ok=True)


def _read(kind: str, k: str) -> tuple[pd.DataFrame, dict] | None:
    data, meta = _paths(kind, k)
    try:
        extra = json.loads(meta.read_text(encoding="utf-8"))
        frame = _read_frame(data, extra["geo"])
    except (OSError, ValueError, KeyError):  # absent, or left broken by a crash: read afresh
        STATS[f"{kind}_misses"] += 1
        return None
    frame.attrs = extra.pop("attrs")
    STATS[f"{kind}_hits"] += 1
    return frame, extra


def cached_layer(k: str | None, read) -> LayerData:
    """The layer stored under ``k``, or ``read()`` stored there (``k`` None: no caching)."""
    if k is None or cache_dir() is None:
        return read()
    hit = _read("layer", k)
    if hit is not None:
        frame, extra = hit
        return LayerData(frame, RecordAccount(**extra["account"]), extra["meta"])
    data = read()
    try:
        same = json.loads(json.dumps(data.meta)) == data.meta  # no tuple that comes back a list
    except (TypeError, ValueError):
        same = False
    if same:
        _write("layer", k, data.frame, {"account": data.account.to_dict(), "meta": data.meta})
    else:
        STATS["layer_not_cacheable"] += 1
    return data


def cached_table(k: str | None, parse) -> pd.DataFrame:
    """The parsed table stored under ``k``, or ``parse()`` stored there (``k`` None: no caching)."""
    if k is None or cache_dir() is None:
        return parse()
    hit = _read("table", k)
    if hit is not None:
        return hit[0]
    frame = parse()
    _write("table", k, frame, {})
    return frame
