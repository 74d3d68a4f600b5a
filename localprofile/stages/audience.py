"""Stage 1, audience policy: who the profile is for decides which layers are read at all.

>>> from localprofile.catalog import load_catalog
>>> from localprofile.demo import demo_catalog_path
>>> p = audience_policy(load_catalog(demo_catalog_path()), "public")
>>> p.marking, sorted(p.skip) == sorted(p.restricted), len(p.restricted)
('OFFICIAL', True, 5)
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import AUDIENCES, Catalog
from ..errors import InputError


@dataclass
class AudiencePolicy:
    """The audience, its marking, the restricted layers and those not to be read for it."""

    audience: str | None
    marking: str
    restricted: list[str]
    skip: set[str]


def check_audience(catalog: Catalog, audience: str | None, restricted: list[str], core: set[str]) -> None:
    """An audience must be named when restricted layers exist, and must be a known one; the core
    layers (crimes, boundaries ...) feed every output, so only force outputs may use restricted ones."""
    if audience is not None and audience not in AUDIENCES:
        raise InputError(f"unknown audience '{audience}' (choose {', '.join(AUDIENCES)})", key="audience")
    if restricted and audience is None:
        raise InputError(
            f"the catalog holds restricted layers ({', '.join(restricted)}): say who the profile "
            "is for with --audience force, partner or public",
            file=catalog.source,
        )
    core_restricted = sorted(core & set(restricted))
    if core_restricted and audience != "force":
        raise InputError(
            f"layer '{core_restricted[0]}' is restricted and feeds every part of the profile: "
            "it can only be built for --audience force",
            file=catalog.source,
            key=f"layers.{core_restricted[0]}.sensitivity",
        )


def audience_policy(catalog: Catalog, audience: str | None) -> AudiencePolicy:
    """Check ``audience`` against the catalog and say which layers it may not even read.

    Public outputs carry nothing of a restricted layer, partner outputs only what point layers
    give as suppressed counts: what they may not see is not read.
    """
    restricted = [n for n, s in catalog.layers.items() if s.sensitivity == "restricted"]
    check_audience(catalog, audience, restricted, set(catalog.roles().values()))
    points_role = set(catalog.with_role("points"))
    skip = {
        "force": set(), None: set(), "public": set(restricted),
        "partner": {n for n in restricted if n not in points_role},
    }[audience]
    return AudiencePolicy(audience, catalog.profile.marking_for(audience), restricted, skip)
