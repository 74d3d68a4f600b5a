"""Does the overlay point the right way? Priority neighbourhoods trained on one month, scored on
a later one.

    .venv/bin/python benchmarks/bench_priority.py [--train 2016-07] [--test 2017-07]

For every West Yorkshire district, the profile is built from the training month's police.uk
crimes and the open layers only (no synthetic restricted layer), with LSOAs as the unit. Its
priority ranking (threat x vulnerability) picks the top 10% of the district's LSOAs; so do IMD
alone (the most deprived LSOAs) and past counts alone (the most SOC-indicator crimes in the
training month). Each row gives the share of the test month's SOC-indicator crimes (drugs,
weapons, robbery) that fall in each top 10%.
"""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from localprofile.build import build_profile
from localprofile.demo import demo_catalog_path, demo_stages
from localprofile.themes import resolve_themes

DISTRICTS = ("Bradford", "Calderdale", "Kirklees", "Leeds", "Wakefield")
THEME = "soc_indicators"
TOP = 0.10


def training_catalog(folder: Path, train: str) -> Path:
    """The demo catalog with the training month's crimes only and no restricted layer."""
    cat = demo_catalog_path()
    spec = yaml.safe_load(cat.read_text(encoding="utf-8"))
    spec["layers"] = {n: s for n, s in spec["layers"].items() if s["sensitivity"] != "restricted"}
    for s in spec["layers"].values():
        s["path"] = str(cat.parent / s["path"])
    spec["layers"]["crimes"]["path"] = str(cat.parent / "data" / "police_uk" / f"{train}.zip")
    spec.setdefault("profile", {})["overlay"] = {"unit": "lsoa"}
    spec["profile"].pop("scoring", None)  # the theme table plays no part here
    for key in ("plan", "harm_weights"):  # files named relative to the demo catalog
        if spec["profile"].get(key):
            spec["profile"][key] = str(cat.parent / spec["profile"][key])
    out = folder / "catalog.yaml"
    out.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return out


def _top(order: pd.Index, n: int) -> set:
    return set(order[:n])


def run(train: str = "2016-07", test: str = "2017-07") -> dict:
    catalog, _, _ = demo_stages(DISTRICTS[0], "public", core_only=True)
    soc = resolve_themes(catalog.themes, catalog.source)[THEME]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cat = training_catalog(Path(tmp), train)
        for district in DISTRICTS:
            profile = build_profile(cat, district)
            table = profile.overlay.table.set_index("lsoa_code")
            lsoa = profile.lsoa.set_index("lsoa_code")
            n = math.ceil(TOP * len(lsoa))
            # the test month's SOC-indicator crimes per LSOA of the district (all shipped months placed)
            _, _, placed = demo_stages(district, "public", core_only=True)
            sel = (soc.mask(placed.crimes["crime_type"]) & placed.in_district
                   & (placed.crimes["month"].to_numpy(dtype=str) == test))
            tested = placed.assignment.lsoa_code[sel].value_counts().reindex(lsoa.index, fill_value=0)
            codes = lsoa.index.to_numpy(dtype=str)
            by_imd = lsoa.index[np.lexsort((codes, lsoa["imd_rank"].to_numpy(dtype=float)))]
            past = lsoa[f"count_{THEME}"].to_numpy(dtype=float)
            by_past = lsoa.index[np.lexsort((codes, -past))]
            total = int(tested.sum())

            def share(top: set) -> float:
                return float(tested[list(top)].sum() / total) if total else float("nan")

            rows.append({"district": district, "lsoas": len(lsoa), "top_n": n, "test_crimes": total,
                         "priority": share(_top(table.index, n)), "imd": share(_top(by_imd, n)),
                         "past_counts": share(_top(by_past, n))})
    means = {k: float(np.mean([r[k] for r in rows])) for k in ("priority", "imd", "past_counts")}
    return {"rows": rows, "means": means, "train": train, "test": test}


def table_lines(r: dict) -> list[str]:
    """The result of :func:`run` as a Markdown table, with its title."""
    lines = [f"Share of {r['test']} SOC-indicator crimes in the top 10% of LSOAs, ranked on {r['train']}",
             "| district | LSOAs | top 10% | test crimes | priority (threat x vulnerability) | IMD alone | past counts alone |",
             "|---|---|---|---|---|---|---|"]
    for row in r["rows"]:
        lines.append(f"| {row['district']} | {row['lsoas']} | {row['top_n']} | {row['test_crimes']} | "
                     f"{row['priority']:.1%} | {row['imd']:.1%} | {row['past_counts']:.1%} |")
    m = r["means"]
    lines.append(f"| mean | | | | {m['priority']:.1%} | {m['imd']:.1%} | {m['past_counts']:.1%} |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", default="2016-07")
    ap.add_argument("--test", default="2017-07")
    a = ap.parse_args(argv)
    print("\n".join(table_lines(run(a.train, a.test))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
