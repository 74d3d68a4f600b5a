"""``summary.json``: the profile's figures in machine-readable form.

Keys: ``district`` {code, name}; ``period`` {first_month, last_month, months}; ``crimes``
(records in the district); ``population``, ``residents_by_imd_decile``, ``residents_deprivation``
{most_deprived_10pc, most_deprived_20pc}; ``lsoas``; ``layers`` {name: {read, used, dropped
{reason: n}, notes, adapter, sensitivity, vintage, files, found}}; ``assignment``; ``grid``;
``hotspot_q``; ``themes`` {slug: {label, crime_types, crimes, crimes_located,
points_in_district_polygon (all loaded points inside the district's polygon: what the KDE
integrates to), rate_per_1000, hotspot_cells, coldspot_cells, cell_size_m, bandwidth_m,
kde_units, deprivation {most_deprived_10pc, most_deprived_20pc}, monthly}}; ``lsoa_tables`` {layer: {label,
columns {lsoa column: label}, district_totals, unmatched}}; ``rasters`` {layer: {label, statistic,
column, district_value, lsoas_without_value}}; ``choices`` [{what, value, why}]; ``audience``; ``marking``; ``context`` {layer: {label, sensitivity, synthetic,
detail, in_district, categories, by_neighbourhood {MSOA code: count}, assignment}} where
partners' restricted counts are text ("<5" when small); ``key_judgements`` [{topic, text, confidence, why, figures, restricted}] (the executive
summary); ``soc_themes`` [{slug, label, status, themes, layers, needs}]; ``action_plan`` {unit,
plan_file, example, source, plan_text_shown, neighbourhoods [{code, name, rank, why, rows [{theme,
p, prompts [{text, figures}], entries}]}]}; ``intelligence_gaps`` [{topic, text,
recommendation}]; ``recommendations``; ``generated`` ("YYYY-MM-DD HH:MM UTC"
from ``SOURCE_DATE_EPOCH``, else "YYYY-MM-DD", the last day of the latest month of data: see
:mod:`localprofile.reproducible`); ``tool``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np

from ..profile import Profile


def _plain(v: Any) -> Any:
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def summary_dict(profile: Profile) -> dict[str, Any]:
    """The summary as plain JSON-ready data."""
    themes = {}
    for slug, t in profile.themes.items():
        themes[slug] = {
            "label": t.theme.label,
            "crime_types": list(t.theme.crime_types) or "*",
            "crimes": t.crimes,
            "crimes_located": t.crimes_located,
            "points_in_district_polygon": t.crimes_in_area_points,
            "rate_per_1000": round(t.rate_per_1000, 3),
            "hotspot_cells": t.hot_cells,
            "coldspot_cells": t.cold_cells,
            "cell_size_m": profile.grid.cell_size,
            "cell_shape": "hexagon" if t.hex is not None else "square",
            "bandwidth_m": float(t.bandwidth),
            "kde_units": "crimes per km²",
            "deprivation": t.deprivation,
            "monthly": t.monthly,
            "repeat_locations": t.repeat_summary,
            "change": t.change,
            "lisa": t.lisa_counts,
            "emerging_hotspots": None if t.emerging_counts is None else {
                "cells": "hexagons" if t.hex is not None else "squares", **t.emerging_counts},
            "harm": None if t.harm is None else {"total": t.harm.total, "hotspot_cells": t.harm.hot_cells},
        }
    g = profile.grid
    return _plain(
        {
            "district": {"code": profile.district.code, "name": profile.district.name},
            "period": {
                "first_month": profile.period[0],
                "last_month": profile.period[1],
                "months": profile.months,
            },
            "crimes": profile.crimes,
            "population": profile.residents,
            "residents_by_imd_decile": profile.residents_by_decile,
            "residents_deprivation": profile.residents_deprived,
            "lsoas": len(profile.lsoa),
            "layers": {
                name: {
                    **l.account.to_dict(),
                    "adapter": l.spec.adapter,
                    "sensitivity": l.spec.sensitivity,
                    "synthetic": l.spec.synthetic,
                    "vintage": l.spec.vintage,
                    "files": l.files,
                    "found": l.meta,
                }
                for name, l in profile.layers.items()
            },
            "assignment": profile.assignment,
            "grid": {
                "crs": "EPSG:27700",
                "cell_size_m": g.cell_size,
                "buffer_m": g.buffer,
                "west": g.x0,
                "north": g.y1,
                "columns": g.nx,
                "rows": g.ny,
                "cells_in_gi_star": int(g.active.sum()),
                "cells_in_study_area": int(g.in_area.sum()),
            },
            "hotspot_q": profile.settings.hotspot_q,
            "themes": themes,
            "choices": [c.to_dict() for c in profile.choices],
            "lsoa_tables": {
                name: {"label": t.label, "columns": t.columns, "district_totals": t.totals,
                       "unmatched": t.unmatched}
                for name, t in profile.lsoa_tables.items()
            },
            "rasters": {
                name: {"label": r.label, "statistic": r.statistic, "column": r.column,
                       "district_value": r.district_value, "lsoas_without_value": r.lsoas_without_value}
                for name, r in profile.rasters.items()
            },
            "backtest": profile.backtest,
            "dual_kde": [
                {"numerator": d.numerator, "denominator": d.denominator, "kind": d.kind,
                 "min_denominator": d.min_denominator, "bandwidth_m": d.bandwidth,
                 "file": f"dual_{d.name}.tif"}
                for d in profile.duals
            ],
            "audience": profile.audience,
            "marking": profile.marking,
            "context": {
                name: {
                    "label": c.label,
                    "sensitivity": c.sensitivity,
                    "synthetic": c.synthetic,
                    "detail": c.detail,
                    "in_district": c.total,
                    "categories": c.categories,
                    "by_neighbourhood": dict(zip(profile.neighbourhoods.codes, c.neighbourhood_counts)),
                    "assignment": c.assignment,
                }
                for name, c in profile.context.items()
            },
            "theme_priorities": None if profile.theme_scores is None else {
                "scoring_file": profile.theme_scores.file,
                "example": profile.theme_scores.example,
                "source": profile.theme_scores.source,
                "themes": [{"theme": slug, **{k: (None if isinstance(v, float) and v != v else v)
                                              for k, v in row.items()}}
                           for slug, row in profile.theme_scores.table.iterrows()],
            },
            **({} if profile.nominals is None else {"nominals": [
                {"rank": int(r["rank"]), "nominal_id": r["nominal_id"], "ocg_id": r["ocg_id"], "role": r["role"],
                 "points": float(r["points"]), "reasons": r["reasons"]}
                for _, r in profile.nominals.iterrows()]}),
            "risk_terrain": {
                slug: {"file": f"rtm_{slug}.tif",
                       "factors": [{"factor": r.factor, "layer": r.layer, "operationalisation": r.operationalisation,
                                    "distance_m": r.distance_m, "cells": int(r.cells), "rrv": r.rrv,
                                    "selected": bool(r.selected)} for r in rt.factors.itertuples()]}
                for slug, rt in profile.rtm.items()
            },
            "priority_neighbourhoods": None if profile.overlay is None else {
                "unit": profile.overlay.unit,
                "indicators": profile.overlay.kinds,
                "top": [
                    {"rank": int(r["rank"]), "code": r.iloc[0], "name": r["name"],
                     "threat": r["threat"], "vulnerability": r["vulnerability"], "priority": r["priority"],
                     "class": r["bivariate"], "why": r["why"]}
                    for _, r in profile.overlay.table.head(profile.overlay.top).iterrows()
                ],
                "sensitivity": {k: {"halved": int(v["halved"]), "doubled": int(v["doubled"])}
                                for k, v in profile.overlay.sensitivity.iterrows()},
            },
            "key_judgements": [j.to_dict() for j in profile.judgements],
            "soc_themes": [t.to_dict() for t in profile.soc_themes],
            "action_plan": None if profile.action_plan is None else profile.action_plan.to_dict(),
            "intelligence_gaps": [g.to_dict() for g in profile.gaps],
            "recommendations": profile.recommendations,
            "generated": profile.generated,
            "tool": f"localprofile {profile.tool_version}",
        }
    )


def render_summary(profile: Profile) -> str:
    return json.dumps(summary_dict(profile), indent=2, ensure_ascii=False)
