"""KDE bandwidth backtest: is the automatic bandwidth as good as the best fixed one?

    .venv/bin/python benchmarks/bench_bandwidth.py [--train 2016-07] [--test 2017-07]

For Leeds, Bradford and Kirklees x all crime, anti-social behaviour and violence (the shipped
police.uk months), the KDE is trained on the training month's located crimes and scored on the
test month's: PAI at 5% of the district's area (the share of test crimes in the top 5% of
cells, over 5%), on the profile's automatic grid. Prints one row per district and theme with
the PAI of each fixed bandwidth (100, 200, 300, 400, 600, 1,000 m) and of the automatic one,
then the mean PAI of each and the automatic's ratio to the best fixed bandwidth's mean.
"""

from __future__ import annotations

import argparse

import numpy as np

from localprofile.catalog import load_catalog
from localprofile.demo import demo_catalog_path
from localprofile.engine.backtest import hit_metrics, kde_surface
from localprofile.stages.audience import audience_policy
from localprofile.stages.inputs import load_inputs
from localprofile.stages.place import place_crimes
from localprofile.stages.scale import choose_scale
from localprofile.themes import resolve_themes

DISTRICTS = ("Leeds", "Bradford", "Kirklees")
THEMES = ("all_crime", "anti_social_behaviour", "violence_and_sexual_offences")
FIXED = (100, 200, 300, 400, 600, 1000)


def run(train: str = "2016-07", test: str = "2017-07") -> dict:
    """The table as plain data: rows (district, theme, PAI per bandwidth, auto bandwidth and its
    PAI) and the means."""
    catalog = load_catalog(demo_catalog_path())
    roles = catalog.roles()
    needed = set(roles.values()) | set(catalog.with_role("lsoa_vintage_lookup"))
    inputs = load_inputs(catalog, audience_policy(catalog, "public"), skip=set(catalog.layers) - needed)
    themes = resolve_themes(catalog.themes, catalog.source)
    rows = []
    for district in DISTRICTS:
        placed = place_crimes(catalog, roles, inputs.loaded, district, inputs.lookup_file)
        month = placed.crimes["month"].to_numpy(dtype=str)
        for slug in THEMES:
            mask = themes[slug].mask(placed.crimes["crime_type"]) & placed.located
            tr, te = mask & (month == train), mask & (month == test)
            # the profile's own scale, trained on the training month: its cell size and its
            # automatic bandwidth; the grid's buffer covers the widest fixed bandwidth too
            auto = choose_scale(catalog.profile, placed, {slug: tr}, cell_sel=tr & placed.in_district,
                                hexagons=False)
            scale = choose_scale(catalog.profile, placed, {slug: tr}, cell_size=auto.cell_size,
                                 bandwidth=max(max(FIXED), auto.bandwidths[slug]), hexagons=False)
            grid = scale.grid
            test_counts = grid.bin(placed.x[te], placed.y[te])

            def pai(bw: float) -> float:
                s = kde_surface(grid, placed.x[tr], placed.y[tr], bw, catalog.profile.kernel)
                return float(hit_metrics(s, test_counts, grid.in_area, coverages=(0.05,))["pai"].iloc[0])

            bw_auto = auto.bandwidths[slug]
            # the cell size re-examined: the automatic KDE scored on 250 m cells as well
            fine = choose_scale(catalog.profile, placed, {slug: tr}, cell_size=250,
                                bandwidth=max(max(FIXED), bw_auto), hexagons=False).grid
            s250 = kde_surface(fine, placed.x[tr], placed.y[tr], bw_auto, catalog.profile.kernel)
            pai_250 = float(hit_metrics(s250, fine.bin(placed.x[te], placed.y[te]), fine.in_area,
                                        coverages=(0.05,))["pai"].iloc[0])
            rows.append({"district": district, "theme": slug, "cell_size_m": auto.cell_size,
                         "pai": {bw: pai(bw) for bw in FIXED}, "auto_bandwidth_m": bw_auto,
                         "auto_pai": pai(bw_auto), "auto_pai_250m_cells": pai_250,
                         "auto_why": next(c.why for c in auto.choices if c.what.startswith("bandwidth"))})
    means = {bw: float(np.mean([r["pai"][bw] for r in rows])) for bw in FIXED}
    auto_mean = float(np.mean([r["auto_pai"] for r in rows]))
    best = max(means, key=means.get)
    return {"rows": rows, "means": means, "auto_mean": auto_mean, "best_fixed": best,
            "ratio": auto_mean / means[best], "train": train, "test": test}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", default="2016-07")
    ap.add_argument("--test", default="2017-07")
    a = ap.parse_args(argv)
    r = run(a.train, a.test)
    head = ["district", "theme", "cell"] + [f"{bw} m" for bw in FIXED] + ["auto (m)", "auto"]
    print(f"PAI at 5% of the area: KDE trained on {r['train']}, tested on {r['test']}")
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for row in r["rows"]:
        cells = [row["district"], row["theme"], f"{row['cell_size_m']:g}"]
        cells += [f"{row['pai'][bw]:.2f}" for bw in FIXED]
        cells += [f"{row['auto_bandwidth_m']:,.0f}", f"{row['auto_pai']:.2f}"]
        print("| " + " | ".join(cells) + " |")
    mean = ["mean", "", ""] + [f"{r['means'][bw]:.2f}" for bw in FIXED] + ["", f"{r['auto_mean']:.2f}"]
    print("| " + " | ".join(mean) + " |")
    verdict = "within" if r["ratio"] >= 0.97 else "NOT within"
    print(f"automatic / best fixed ({r['best_fixed']} m) mean PAI at 5%: {r['ratio']:.3f} "
          f"({verdict} 3%)")
    print(f"automatic rule: {r['rows'][0]['auto_why']}")
    m250 = float(np.mean([row["auto_pai_250m_cells"] for row in r["rows"]]))
    print(f"cell size: the automatic KDE's mean PAI at 5% is {r['auto_mean']:.2f} on the automatic "
          f"cells and {m250:.2f} on 250 m cells (finer cells select a tighter 5%)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
