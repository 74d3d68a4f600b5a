"""Run the catalog's layer adapters, sharing what several of them need (the postcode geocoder).

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> loaded = load_layers(load_catalog(demo_catalog_path()))
>>> loaded["crimes"].account.read
55713
"""

from __future__ import annotations

import copy
import functools
import hashlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from . import cache
from .account import LayerData
from .catalog import Catalog
from .errors import InputError
from .layers import ADAPTERS

Progress = Callable[[str], None]

# Layers already read in this process, by their adapter, catalog entry and the bytes of their
# files: a demo (three audiences), a batch of districts or a test run reads each source once.
# A layer whose adapter geocodes through the catalog's postcode layers (``USES_CONTEXT``) is
# kept by those layers' entries and bytes too; every use gets its own copy, so no build sees
# another's changes.
_CACHE: OrderedDict[tuple, LayerData] = OrderedDict()
_CACHE_SIZE = 32


def _fingerprint(paths: list[Path]) -> tuple | None:
    """The files behind ``paths`` (folders walked) with a SHA-256 of each one's bytes; None when
    a path is missing (the adapter will say so)."""
    out = []
    for p in paths:
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else None
        if files is None:
            return None
        out += [(str(f.resolve()), hashlib.sha256(f.read_bytes()).hexdigest()) for f in files]
    return tuple(out)


def _copy(data: LayerData) -> LayerData:
    return LayerData(data.frame.copy(), copy.deepcopy(data.account), copy.deepcopy(data.meta))


def relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it lies below it (how the profile names files)."""
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path)


class LoadContext:
    """What adapters may ask for while loading: layers they depend on, loaded once."""

    def __init__(
        self, catalog: Catalog, progress: Progress | None = None, skip: set[str] = frozenset(),
        *, memory: bool = True,
    ) -> None:
        self.catalog = catalog
        self.memory = memory  # False: skip this process's store of layers (the disk cache stays)
        self.progress = progress
        self.skip = set(skip)  # layers this build may not use (restricted, for its audience)
        self.loaded: dict[str, LayerData] = {}
        self._geocoder = None
        self._files: dict[str, tuple | None] = {}

    def _files_of(self, name: str) -> tuple | None:
        """:func:`_fingerprint` of layer ``name``'s files, worked out once in this context."""
        if name not in self._files:
            self._files[name] = _fingerprint(self.catalog.paths(name))
        return self._files[name]

    @functools.cached_property
    def _postcode_fingerprint(self) -> tuple | None:
        """What the geocoder is built from (:meth:`geocoder`): each postcode layer this build
        may use, by name, adapter, catalog entry and the bytes of its files; None when one of
        them is missing (its adapter will say so, uncached)."""
        out = []
        for name in self.catalog.with_role("postcodes"):
            if name in self.skip:
                continue
            try:
                files = self._files_of(name)
            except InputError:
                files = None
            if files is None:
                return None
            spec = self.catalog.layers[name]
            out.append((name, spec.adapter, spec.model_dump_json(), files))
        return tuple(out)

    def layer(self, name: str) -> LayerData:
        """Layer ``name``, read by its adapter the first time it is asked for."""
        if name not in self.loaded:
            spec = self.catalog.layers[name]
            if self.progress:
                self.progress(f"reading {name}")
            module = ADAPTERS[spec.adapter]
            paths = self.catalog.paths(name)
            files = self._files_of(name)
            if files is not None and getattr(module, "USES_CONTEXT", False):  # geocoded: the
                postcodes = self._postcode_fingerprint                         # postcodes too
                files = None if postcodes is None else (files, postcodes)
            key = None if files is None else (spec.adapter, spec.model_dump_json(), files)
            if self.memory and key is not None and key in _CACHE:
                _CACHE.move_to_end(key)
                self.loaded[name] = _copy(_CACHE[key])
            else:
                # on disk only open layers: restricted ones never leave the force's own folder
                disk = cache.key("layer", *key) if key is not None and spec.sensitivity == "open" else None
                self.loaded[name] = cache.cached_layer(disk, lambda: module.load(paths, spec, self))
                if key is not None and self.memory:
                    _CACHE[key] = _copy(self.loaded[name])
                    while len(_CACHE) > _CACHE_SIZE:
                        _CACHE.popitem(last=False)
        return self.loaded[name]

    def geocoder(self, needed_by: str):
        """The postcode geocoder built from every ``postcodes`` layer of the catalog."""
        if self._geocoder is None:
            from .geocode import Geocoder

            names = [n for n in self.catalog.with_role("postcodes") if n not in self.skip]
            if not names:
                raise InputError(
                    f"layer '{needed_by}' locates rows by postcode: add a postcodes layer "
                    "(adapter codepoint_open or ons_postcode_directory) that this audience may use",
                    file=self.catalog.source,
                    key="layers",
                )
            self._geocoder = Geocoder.combine([self.layer(n).frame for n in names])
        return self._geocoder


def load_layers(
    catalog: Catalog, progress: Progress | None = None, skip: set[str] = frozenset()
) -> dict[str, LayerData]:
    """Every catalog layer but those in ``skip``, read by its adapter: {name: LayerData}."""
    ctx = LoadContext(catalog, progress, skip)
    return {name: ctx.layer(name) for name in catalog.layers if name not in skip}
