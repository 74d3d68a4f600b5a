"""Stage 9, assemble the profile: every stage's results and choices into the one
:class:`~localprofile.profile.Profile` the renderers write (they compute nothing themselves).
Also the profile's own backtest table (``build --test-months``) and monthly LSOA counts.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd

from .. import __version__
from ..catalog import Catalog
from ..engine.backtest import backtest
from ..engine.choices import Choice
from ..errors import InputError
from ..layers import ADAPTERS
from ..profile import DualResult, Profile
from ..reproducible import generation_date
from .audience import AudiencePolicy
from .context import Context
from .inputs import Inputs
from .lsoa_base import LsoaBase
from .methods import Methods
from .overlay import Overlay
from .place import PlacedCrimes
from .scale import Scale
from .theme import ThemeAnalysis


def assemble_profile(catalog: Catalog, policy: AudiencePolicy, inputs: Inputs, placed: PlacedCrimes,
                     scale: Scale, base: LsoaBase, methods: Methods, themes: dict[str, ThemeAnalysis],
                     masks: dict[str, np.ndarray], context: Context, overlay: Overlay, rtm: tuple, scores, nominals, duals: list[DualResult],
                     backtest_table: dict, backtest_choices: list[Choice], orientation=None) -> Profile:
    """The Profile of the stages' results; its choices in the order the stages made them."""
    lsoa = base.lsoa.copy()
    for t in themes.values():
        for col, values in t.columns.items():
            lsoa[col] = values
    for col, values in context.columns.items():
        lsoa[col] = values
    choices = [*placed.choices, *scale.choices, *base.choices, *methods.choices,
               *(c for t in themes.values() for c in t.choices), *context.choices, *overlay.choices, *rtm[1], *(scores.choices if scores else []),
               *backtest_choices, *(orientation.choices if orientation is not None else [])]
    generated = generation_date(methods.months)  # SOURCE_DATE_EPOCH, else the data: never the clock
    roles = inputs.roles
    return Profile(
        editions={r: ADAPTERS[catalog.layers[roles[r]].adapter].EDITION for r in ("population", "deprivation")},
        lsoa_tables=context.tables,
        duals=duals,
        rasters=context.rasters,
        audience=policy.audience,
        marking=policy.marking,
        context=context.layers,
        neighbourhoods=context.neighbourhoods,
        overlay=overlay,
        rtm=rtm[0],
        theme_scores=scores,
        nominals=nominals,
        settings=catalog.profile,
        catalog_file=str(catalog.source),
        district=placed.area,
        months=methods.months,
        crimes=int(placed.in_district.sum()),
        layers=inputs.summaries,
        assignment=placed.assignment.account,
        grid=scale.grid,
        hexgrid=scale.hexgrid,
        monthly_lsoa=monthly_by_lsoa(placed.crimes, placed.assignment.lsoa_code, placed.in_district, masks),
        backtest=backtest_table,
        themes={slug: t.result for slug, t in themes.items()},
        lsoa=gpd.GeoDataFrame(lsoa, geometry="geometry", crs=placed.area.lsoas.crs),
        residents=int(base.residents),
        residents_by_decile=base.residents_by_decile,
        residents_deprived=base.residents_deprived,
        choices=[*choices, generated],
        generated=generated.value,
        tool_version=__version__,
        orientation=orientation,
    )


def monthly_by_lsoa(crimes, codes: pd.Series, in_district: np.ndarray, masks: dict) -> pd.DataFrame:
    """Crimes per district LSOA, theme and month, in long form (months and LSOAs with crimes)."""
    parts = []
    for slug, mask in masks.items():
        sel = mask & in_district
        counts = pd.DataFrame({"lsoa_code": codes[sel].to_numpy(), "month": crimes.loc[sel, "month"].to_numpy()})
        counts = counts.value_counts().rename("crimes").reset_index()
        parts.append(counts.assign(theme=slug))
    out = pd.concat(parts, ignore_index=True)[["lsoa_code", "theme", "month", "crimes"]]
    return out.sort_values(["theme", "lsoa_code", "month"], ignore_index=True)


def profile_backtest(test_months, crimes, masks, located, x, y, grid, bandwidths, catalog) -> tuple[dict, list[Choice]]:
    """Each theme's methods trained on the loaded months outside ``test_months``, scored on them."""
    if not test_months:
        return {}, []
    months = crimes["month"].to_numpy(dtype=str)
    loaded = sorted(set(months))
    missing = sorted(set(test_months) - set(loaded))
    train_months = [m for m in loaded if m not in test_months]
    if missing or not train_months:
        raise InputError(
            f"test months {', '.join(missing or test_months)} leave "
            + ("no training month" if not missing else "no crimes to test on")
            + f" (loaded: {', '.join(loaded)})", key="--test-months")
    test, out = np.isin(months, test_months), {}
    for slug, mask in masks.items():
        tr, te = mask & located & ~test, mask & located & test
        table = backtest(np.column_stack([x[tr], y[tr]]), months[tr], np.column_stack([x[te], y[te]]),
                         grid, bandwidth=bandwidths[slug], kernel=catalog.profile.kernel)
        out[slug] = [{k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in r.items()}
                     for r in table.to_dict("records")]
    return out, [Choice(
        "backtest", f"trained on {', '.join(train_months)}, tested on {', '.join(sorted(test_months))}",
        "each method's surface from the training months, scored by hit rate, PAI, PEI and RRI on "
        "the test months at 1%, 5% and 10% of the district",
    )]
