"""Run the catalog's layer adapters, sharing what several of them need (the postcode geocoder).

>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.catalog import load_catalog
>>> loaded = load_layers(load_catalog(demo_catalog_path()))
>>> loaded["crimes"].account.read
55713
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .account import LayerData
from .catalog import Catalog
from .errors import InputError
from .layers import ADAPTERS

Progress = Callable[[str], None]


def relative(path: Path, base: Path) -> str:
    """``path`` relative to ``base`` when it lies below it (how the profile names files)."""
    try:
        return str(path.resolve().relative_to(base))
    except ValueError:
        return str(path)


class LoadContext:
    """What adapters may ask for while loading: layers they depend on, loaded once."""

    def __init__(
        self, catalog: Catalog, progress: Progress | None = None, skip: set[str] = frozenset()
    ) -> None:
        self.catalog = catalog
        self.progress = progress
        self.skip = set(skip)  # layers this build may not use (restricted, for its audience)
        self.loaded: dict[str, LayerData] = {}
        self._geocoder = None

    def layer(self, name: str) -> LayerData:
        """Layer ``name``, read by its adapter the first time it is asked for."""
        if name not in self.loaded:
            spec = self.catalog.layers[name]
            if self.progress:
                self.progress(f"reading {name}")
            self.loaded[name] = ADAPTERS[spec.adapter].load(self.catalog.paths(name), spec, self)
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
