"""Stage 2, load inputs: every layer the audience may read, through its adapter, with the
record account the profile reports (withheld from partners for restricted layers).

>>> from localprofile.catalog import load_catalog
>>> from localprofile.demo import demo_catalog_path
>>> from localprofile.stages.audience import audience_policy
>>> cat = load_catalog(demo_catalog_path())
>>> i = load_inputs(cat, audience_policy(cat, "public"))
>>> sorted(i.roles), "ocg_members" in i.loaded
(['boundaries', 'crimes', 'deprivation', 'lookup', 'population'], False)
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..account import LayerData
from ..catalog import Catalog
from ..context_layers import WithheldAccount
from ..loading import Progress, load_layers, relative
from ..profile import LayerSummary
from .audience import AudiencePolicy


FORCE_DATA = "force data"  # what partners read for a restricted layer's free text


@dataclass
class Inputs:
    """The loaded layers, the frame behind each role, and how the profile reports each layer."""

    roles: dict[str, str]
    loaded: dict[str, LayerData]
    frame: dict[str, pd.DataFrame]
    summaries: dict[str, LayerSummary]

    @property
    def lookup_file(self) -> str:
        return self.summaries[self.roles["lookup"]].files[0]


def layer_summaries(catalog: Catalog, loaded: dict[str, LayerData]) -> dict[str, LayerSummary]:
    """How the profile reports each loaded layer: catalog entry, files, record account."""
    return {
        name: LayerSummary(
            name,
            catalog.layers[name],
            [relative(p, catalog.base_dir) for p in catalog.paths(name)],
            data.account,
            # what the profile reports of it: plain facts (the raster array stays in LayerData)
            {k: v for k, v in data.meta.items() if isinstance(v, (str, int, float, list, dict))},
        )
        for name, data in loaded.items()
    }


def load_inputs(catalog: Catalog, policy: AudiencePolicy, progress: Progress | None = None,
                skip: set[str] | None = None) -> Inputs:
    """Read every layer but those ``policy`` (and ``skip``) leave out."""
    roles = catalog.roles()
    loaded = load_layers(catalog, progress, skip=policy.skip | (skip or set()))
    summaries = layer_summaries(catalog, loaded)
    if policy.audience == "partner":
        for name in set(policy.restricted) & set(summaries):
            s = summaries[name]
            s.account = WithheldAccount()
            s.files = ["withheld"]
            s.meta = {}
            if not s.spec.partner_text:  # free text from a force file: only if the catalog says so
                s.spec = s.spec.model_copy(update={
                    "description": None, "vintage": FORCE_DATA, "licence": FORCE_DATA,
                    "attribution": FORCE_DATA, "options": {}})
    frame = {role: loaded[name].frame for role, name in roles.items() if name in loaded}
    return Inputs(roles, loaded, frame, summaries)
