"""The national run's files (:func:`localprofile.national_build.build_national`), for QGIS or
ArcGIS and for scripts; they hold open data only:

- ``national_grid.tif``: four float32 bands on the grid (EPSG:27700) — crimes per cell, Gi* z,
  hot (1) / cold (-1) / neither (0) at the run's q, and the KDE in crimes per km²; the Gi* bands
  are NaN outside the cells any LSOA touches, the counts and the KDE cover the whole grid;
- ``lsoa_crimes.csv``: every LSOA, its residents, crimes and crimes per 1,000 residents;
- ``national.json``: the record account of the crimes (rows read = used + dropped, by reason;
  of those used, how many fall on the grid and in an LSOA: police.uk places a few of a force's
  crimes beyond its area),
  months, crime types, the grid, the choices made, hot and cold cell counts, the 20 LSOAs with
  the most crimes, and the sources' attributions.

Written into a temporary folder and moved into place; the same inputs give the same bytes.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import rasterio

from ..geo import BNG
from . import staged

FILES = ("national_grid.tif", "lsoa_crimes.csv", "national.json")
BANDS = ("crimes per cell", "Gi* z", "hot spot (1 hot, -1 cold, 0 neither)", "KDE (crimes per km²)")


def lsoa_table(nat) -> pd.DataFrame:
    """The LSOAs with their crimes and rate per 1,000 residents (empty where residents are not
    known or 0)."""
    crimes = nat.run.lsoa_counts
    res = nat.lsoas["residents"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(res > 0, crimes / res * 1000.0, np.nan)
    return pd.DataFrame({"lsoa_code": nat.lsoas["code"].to_numpy(), "lsoa_name": nat.lsoas["name"].to_numpy(),
                         "residents": pd.array(np.where(np.isfinite(res), res, np.nan), dtype="Int64"),
                         "crimes": crimes, "crimes_per_1000_residents": np.round(rate, 3)})


def _write_grid(nat, path: Path) -> None:
    r, g = nat.run, nat.run.grid
    hot = np.where(r.hotspot == "hot", 1.0, np.where(r.hotspot == "cold", -1.0, 0.0))
    bands = [r.counts, r.gi_z, np.where(g.active, hot, np.nan), r.kde]
    with rasterio.open(path, "w", driver="GTiff", height=g.ny, width=g.nx, count=len(bands), dtype="float32",
                       crs=BNG, transform=g.transform, nodata=np.nan, compress="deflate", tiled=True) as dst:
        for i, (band, name) in enumerate(zip(bands, BANDS), start=1):
            dst.write(np.asarray(band, dtype="float32"), i)
            dst.set_band_description(i, name)
        dst.update_tags(cell_size_m=str(g.cell_size), bandwidth_m=str(r.bandwidth.value),
                        crimes=str(len(nat.points.x)), months=",".join(nat.points.months))


def national_summary(nat) -> dict:
    """What ``national.json`` holds, as a dict."""
    p, r, g = nat.points, nat.run, nat.run.grid
    table = lsoa_table(nat)
    top = table.sort_values(["crimes", "lsoa_code"], ascending=[False, True], kind="stable").head(20)
    return {
        "title": nat.title,
        "crimes": {"files": p.files, "read": p.read, "used": int(len(p.x)), "dropped": p.dropped,
                   "months": list(p.months), "crime_types": list(p.types),
                   "on_the_grid": int(r.counts.sum()),
                   "off_the_grid": int(len(p.x) - r.counts.sum()),  # beyond the LSOAs and the KDE margin
                   "in_an_lsoa": int((r.lsoa >= 0).sum())},
        "grid": {"cell_size_m": g.cell_size, "rows": g.ny, "cols": g.nx, "active_cells": int(g.active.sum()),
                 "in_area_cells": int(g.in_area.sum()), "crs": "EPSG:27700",
                 "origin": {"x0": g.x0, "y1": g.y1}},
        "choices": [c.to_dict() for c in nat.choices],
        "hot_cells": int((r.hotspot == "hot").sum()),
        "cold_cells": int((r.hotspot == "cold").sum()),
        "lsoas": int(len(table)),
        "top_lsoas": [{"lsoa_code": c, "lsoa_name": n, "crimes": int(k)}
                      for c, n, k in zip(top["lsoa_code"], top["lsoa_name"], top["crimes"])],
        "attributions": list(nat.attributions),
    }


def write_national(nat, out_dir: str | Path) -> dict[str, Path]:
    """Write :data:`FILES` into ``out_dir``; returns them by name."""
    written: dict[str, Path] = {}
    with staged(out_dir, written) as tmp:
        _write_grid(nat, tmp / "national_grid.tif")
        lsoa_table(nat).to_csv(tmp / "lsoa_crimes.csv", index=False, lineterminator="\n")
        (tmp / "national.json").write_text(json.dumps(national_summary(nat), indent=1, ensure_ascii=False) + "\n",
                                           encoding="utf-8")
    return written
