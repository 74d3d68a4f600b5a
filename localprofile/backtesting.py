"""``localprofile backtest``: how well would each hotspot method have predicted the next months?

Crimes of the training months make each method's risk surface (grid count, KDE, Gi*, and
prospective near-repeat weighting); crimes of the test months score them by hit rate, PAI, PEI
and RRI at 1%, 5% and 10% of the district's area (:mod:`localprofile.engine.backtest`).

>>> from localprofile.demo import demo_catalog_path
>>> r = run_backtest(demo_catalog_path(), "Leeds", ["2016-07"], ["2017-07"], audience="force")
>>> sorted({m["method"] for m in r["metrics"]})
['count', 'gistar', 'kde', 'prospective', 'rtm']
>>> all(m["pai"] > 1 for m in r["metrics"] if m["coverage"] == 0.05)
True
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from .stages.audience import audience_policy
from .stages.inputs import load_inputs
from .stages.place import place_crimes
from .stages.scale import choose_scale
from .catalog import Catalog, load_catalog
from .engine.backtest import DEFAULT_COVERAGES, backtest
from .engine.choices import Choice
from .engine.rtm import risk_factors
from .stages.rtm import rtm_distances, rtm_points
from .errors import InputError
from .loading import Progress
from .themes import resolve_themes


def run_backtest(
    catalog: Catalog | str | Path,
    district: str,
    train_months: list[str],
    test_months: list[str],
    *,
    theme: str = "all_crime",
    coverages=DEFAULT_COVERAGES,
    cell_size: float | None = None,
    bandwidth: float | None = None,
    progress: Progress | None = None,
    audience: str | None = None,
) -> dict[str, Any]:
    """Train on ``train_months``, test on ``test_months``; the metrics and choices as plain data.

    ``audience`` must be given when the catalog holds restricted layers, as for a build (and
    only force may use a restricted crimes layer); the result carries its marking."""
    if not isinstance(catalog, Catalog):
        catalog = load_catalog(catalog)
    policy = audience_policy(catalog, audience)
    themes = resolve_themes(catalog.themes, catalog.source)
    if theme not in themes:
        raise InputError(f"no theme '{theme}' (themes: {', '.join(themes)})", key="theme")
    overlap = sorted(set(train_months) & set(test_months))
    if overlap:
        raise InputError(f"months {', '.join(overlap)} are both training and test months", key="months")
    roles = catalog.roles()
    # Scoring needs crimes, the district and the point layers of the risk terrain.
    needed = (set(roles.values()) | set(catalog.with_role("lsoa_vintage_lookup")) | set(catalog.with_role("points"))
              | set(catalog.with_role("postcodes")))
    inputs = load_inputs(catalog, policy, progress, skip=set(catalog.layers) - needed)
    placed = place_crimes(catalog, roles, inputs.loaded, district, inputs.lookup_file, progress)
    crimes, x, y = placed.crimes, placed.x, placed.y
    months = crimes["month"].to_numpy(dtype=str)
    available = sorted(set(months))
    missing = sorted((set(train_months) | set(test_months)) - set(available))
    if missing:
        raise InputError(
            f"no crimes for {', '.join(missing)} (the catalog's crimes cover {', '.join(available)})",
            file=catalog.source, key=f"layers.{roles['crimes']}.path",
        )
    mask = themes[theme].mask(crimes["crime_type"]) & placed.located
    train = mask & np.isin(months, train_months)
    test = mask & np.isin(months, test_months)
    if not (train & placed.in_district).any():
        raise InputError(f"no {theme} crimes in {placed.area.name} in the training months", key="theme")

    choices: list[Choice] = list(placed.choices)
    scale = choose_scale(catalog.profile, placed, {theme: train}, cell_size=cell_size, bandwidth=bandwidth,
                         cell_sel=train & placed.in_district, hexagons=False)
    choices += scale.choices
    cs, bw, grid, buffer, kernel = (scale.cell_size, scale.bandwidths[theme], scale.grid, scale.buffer,
                                    catalog.profile.kernel)
    points = rtm_points(catalog, policy, inputs.loaded)  # restricted layers for the force only
    factors = None
    if points:
        distances, choice = rtm_distances(catalog, cs)
        factors = risk_factors(points, grid, distances)
        choices.append(choice)
    table = backtest(
        np.column_stack([x[train], y[train]]), months[train], np.column_stack([x[test], y[test]]),
        grid, coverages, bandwidth=bw, kernel=kernel, factors=factors, folds=catalog.profile.rtm.folds,
    )
    choices += table.attrs.get("choices", [])
    records = [
        {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
        for row in table.to_dict("records")
    ]
    return {
        "audience": policy.audience,
        "marking": policy.marking,
        "district": {"code": placed.area.code, "name": placed.area.name},
        "theme": theme,
        "train_months": sorted(train_months),
        "test_months": sorted(test_months),
        "train_crimes_in_district": int((train & placed.in_district).sum()),
        "test_crimes_in_district": int((test & placed.in_district).sum()),
        "cell_size_m": cs,
        "bandwidth_m": bw,
        "kernel": kernel,
        "grid": {"cells_in_district": int(grid.in_area.sum()), "active_cells": int(grid.active.sum()),
                 "buffer_m": float(buffer)},
        "metrics": records,
        "choices": [c.to_dict() for c in choices],
    }
