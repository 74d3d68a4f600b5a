#!/usr/bin/env python3
"""Time localprofile's engine (Gi* and quartic KDE) against reference implementations.

Runs on the real shipped West Yorkshire data, offline, in one process on one machine, and prints
speed ratios (reference time / our time; above 1 means ours is faster) as a table. With
``--json`` the same numbers go to stdout as JSON and the human-readable report goes to stderr.

    .venv/bin/python benchmarks/bench_engine.py
    .venv/bin/python benchmarks/bench_engine.py --json > bench.json

Benchmarks (see benchmarks/README.md for what each row means):

1. Gi* on the Leeds demo grid as ``build_profile`` makes it (default settings), all_crime counts:
   ``localprofile.engine.gistar.gi_star`` vs ``esda.getisord.G_Local(..., transform="B",
   star=True, permutations=0)`` with libpysal Queen contiguity over the active cells. Weights
   construction is timed separately. z-scores (every theme) and p-values are checked against esda.
2. The same on a whole-force West Yorkshire grid at 250 m cells, all located crimes.
3. KDE as the build makes it (``localprofile.engine.kde.kde_raster``: linear binning onto a
   raster finer than the Gi* cells, then the kernel sum, direct or by FFT), on the Leeds grid
   with the profile's all_crime bandwidth and on the West Yorkshire 250 m grid with the automatic
   bandwidth for all located crimes, vs scikit-learn ``KernelDensity`` (Epanechnikov: sklearn has
   no quartic kernel) and vs an exact quartic sum over every point
   (``scipy.spatial.cKDTree.sparse_distance_matrix``), both evaluated at the raster's cells inside
   the area.

Every measurement is preceded by one warm-up call and repeated (``--repeat``, default 5); fast
calls are looped so that one repeat lasts at least 20 ms. The KDE references, which take seconds
at hundreds of thousands of raster cells, get at most two calls and no warm-up. Ratios use the
best (minimum) time per call; the median is reported too.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
Z_TOLERANCE = 1e-6
WY_CELL_M = 250.0


# --------------------------------------------------------------------------------------------
# timing


@dataclass
class Timing:
    best: float  # seconds per call
    median: float
    repeat: int
    number: int  # calls per repeat

    def as_dict(self) -> dict:
        return {"best_s": self.best, "median_s": self.median, "repeat": self.repeat, "number": self.number}


def measure(fn, repeat: int, min_time: float = 0.02, max_number: int = 10_000) -> Timing:
    """Per-call time of ``fn()``: one warm-up call, then ``repeat`` timed loops of ``number`` calls."""
    fn()  # warm-up (imports, caches, first-touch allocations)
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # as timeit does: keep collector pauses out of the numbers
    try:
        return _measure(fn, repeat, min_time, max_number)
    finally:
        if gc_was_enabled:
            gc.enable()


def _measure(fn, repeat: int, min_time: float, max_number: int) -> Timing:
    number = 1
    while number < max_number:
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        dt = time.perf_counter() - t0
        if dt >= min_time:
            break
        number = min(max_number, number * 10 if dt < min_time / 10 else number * 2)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return Timing(min(times), statistics.median(times), repeat, number)


def fmt_time(s: float) -> str:
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


# --------------------------------------------------------------------------------------------
# machine facts


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts() -> dict:
    model = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": model or "unknown",
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "esda": _version("esda"),
        "libpysal": _version("libpysal"),
        "scikit-learn": _version("scikit-learn"),
        "shapely": _version("shapely"),
        "geopandas": _version("geopandas"),
        "localprofile": _version("localprofile"),
    }


# --------------------------------------------------------------------------------------------
# data


def load_inputs(catalog_path: Path):
    import shapely

    from localprofile.build import build_profile
    from localprofile.catalog import load_catalog
    from localprofile.layers import ADAPTERS

    cat = load_catalog(catalog_path)
    # an audience must be named when the catalog holds restricted layers; the benchmark uses only
    # the grid and the all-crime surfaces, which are the same for every audience, and "public"
    # reads no restricted layer
    profile = build_profile(cat, "Leeds", audience="public", cell_size=None, bandwidth=None)
    crimes = ADAPTERS["police_uk_street"].load(cat.paths("crimes"), cat.layers["crimes"]).frame
    lsoas = ADAPTERS["lsoa_boundaries"].load(
        cat.paths("lsoa_boundaries"), cat.layers["lsoa_boundaries"]
    ).frame
    located = crimes.geometry.notna().to_numpy()  # None where police.uk gave no coordinates
    xy = shapely.get_coordinates(crimes.geometry.to_numpy()[located])
    wy = shapely.union_all(lsoas.geometry.to_numpy())
    return profile, crimes, located, xy, wy, len(lsoas)


def queen_weights(grid, mask):
    """libpysal Queen contiguity over the cell polygons in ``mask`` (row-major), sparse built."""
    import geopandas as gpd
    from libpysal.weights import Queen

    cells = gpd.GeoDataFrame(geometry=grid.cells(mask), crs=27700)
    w = Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    w.sparse  # libpysal builds and caches the sparse matrix lazily; count it as construction
    return w


def star_weights(w):
    from libpysal.weights import fill_diagonal

    ws = fill_diagonal(w, 1)
    ws.sparse
    return ws


# --------------------------------------------------------------------------------------------
# benchmarks


def row(bid, label, size, ours, ref_name, ref, *, note="", ours_name="localprofile"):
    return {
        "id": bid,
        "benchmark": label,
        "size": size,
        "ours": ours_name,
        "ours_time": ours.as_dict() if ours else None,
        "reference": ref_name,
        "reference_time": ref.as_dict(),
        "ratio_best": (ref.best / ours.best) if ours else None,
        "ratio_median": (ref.median / ours.median) if ours else None,
        "note": note,
    }


def bench_gistar(tag, title, grid, counts, repeat, log, main_label, extra_counts=None):
    """Gi* rows for one grid; returns (rows, check)."""
    from esda.getisord import G_Local
    from scipy import stats

    from localprofile.engine.gistar import gi_star

    active = grid.active
    n = int(active.sum())
    size = f"{n:,} active cells"
    log(f"  {title}: weights ({n:,} cells) ...")
    t_w = measure(lambda: queen_weights(grid, active), repeat=max(2, min(repeat, 3)))
    w = queen_weights(grid, active)
    t_fill = measure(lambda: star_weights(w), repeat=max(2, min(repeat, 3)))
    ws = star_weights(w)
    y = counts[active].astype(float)

    log(f"  {title}: ours / esda ...")
    t_ours = measure(lambda: gi_star(counts, active), repeat)
    t_esda = measure(lambda: G_Local(y, w, transform="B", star=True, permutations=0), repeat)
    t_esda_pre = measure(lambda: G_Local(y, ws, transform="B", star=True, permutations=0), repeat)

    # agreement with esda
    z, p = gi_star(counts, active)
    g = G_Local(y, w, transform="B", star=True, permutations=0)
    zdiff = float(np.max(np.abs(z[active] - g.Zs)))
    pdiff = float(np.max(np.abs(p[active] - 2 * stats.norm.sf(np.abs(g.Zs)))))
    per_theme = {main_label: zdiff}
    for slug, c in (extra_counts or {}).items():
        zz, _ = gi_star(c, active)
        gg = G_Local(c[active].astype(float), w, transform="B", star=True, permutations=0)
        per_theme[slug] = float(np.max(np.abs(zz[active] - gg.Zs)))
    worst = max(per_theme.values())
    check = {
        "grid": title,
        "active_cells": n,
        "max_abs_z_diff": worst,
        "max_abs_z_diff_by_theme": per_theme,
        "max_abs_p_diff": pdiff,
        "nonfinite_z_ours": int((~np.isfinite(z[active])).sum()),
        "nonfinite_z_esda": int((~np.isfinite(g.Zs)).sum()),
        "tolerance": Z_TOLERANCE,
        "pass": bool(worst <= Z_TOLERANCE and np.isfinite(worst)),
    }
    rows = [
        row(f"gi_{tag}_esda", f"Gi* {title}", size, t_ours, "esda G_Local", t_esda),
        row(f"gi_{tag}_esda_prefilled", f"Gi* {title}", size, t_ours, "esda G_Local, self-weights pre-filled", t_esda_pre),
        row(
            f"gi_{tag}_weights",
            f"Gi* {title}",
            size,
            None,
            "libpysal Queen weights build",
            t_w,
            note="reference time only; ours needs no weights object",
        ),
        row(
            f"gi_{tag}_fill_diagonal",
            f"Gi* {title}",
            size,
            None,
            "libpysal fill_diagonal (self-weights)",
            t_fill,
            note="reference time only",
        ),
    ]
    # end-to-end: weights + esda (what a user of esda pays per grid) vs ours
    e2e = Timing(t_w.best + t_esda.best, t_w.median + t_esda.median, t_w.repeat, 1)
    rows.append(
        row(f"gi_{tag}_end_to_end", f"Gi* {title}", size, t_ours, "Queen weights build + esda G_Local", e2e)
    )
    return rows, check



def exact_quartic(xy, q, h):
    """Exact quartic KDE (crimes per km²) at points ``q`` from every point in ``xy``: every pair
    within ``h`` found by ``scipy.spatial.cKDTree.sparse_distance_matrix`` (two trees, all in C;
    several times faster than ``query_ball_point``'s lists of lists)."""
    from scipy.spatial import cKDTree

    pairs = cKDTree(q).sparse_distance_matrix(cKDTree(xy), h, output_type="ndarray")
    k = (1.0 - pairs["v"] ** 2 / h**2) ** 2
    dens = np.bincount(pairs["i"], weights=k, minlength=len(q))
    return dens * (3.0 / (math.pi * h**2)) * 1e6  # quartic normalisation, per m² -> per km²


def measure_slow(fn, repeat: int) -> Timing:
    """Per-call time of a reference call that takes seconds: at most 2 calls, no warm-up (best of
    the two), so the KDE references at hundreds of thousands of raster cells stay affordable."""
    times = []
    for _ in range(max(1, min(repeat, 2))):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return Timing(min(times), statistics.median(times), len(times), 1)


def bench_kde(tag, title, grid, xy, h, repeat, log, profile_kde=None):
    """KDE rows for one grid: ours (the build's raster, :func:`kde_raster`) against sklearn and the
    exact quartic sum at the same in-area raster cells; returns (rows, accuracy check)."""
    from sklearn.neighbors import KernelDensity

    from localprofile.engine.kde import block_mean, fine_grid, kde_raster

    x, y = xy[:, 0], xy[:, 1]

    def ours():
        return kde_raster(grid, x, y, h)

    surface, f = ours()
    fine = fine_grid(grid, f)
    xc, yc = fine.centres()
    q = np.column_stack([xc[fine.in_area], yc[fine.in_area]])
    nq = len(q)

    def sk():
        return KernelDensity(kernel="epanechnikov", bandwidth=h, algorithm="kd_tree").fit(xy).score_samples(q)

    log(f"  KDE {title}: ours / sklearn / exact quartic ({len(xy):,} points, raster {fine.shape[0]}x{fine.shape[1]} "
        f"of {fine.cell_size:.1f} m, {nq:,} in-area raster cells, h = {h:,.1f} m) ...")
    t_ours = measure(ours, repeat)
    t_sk = measure_slow(sk, repeat)
    t_exact = measure_slow(lambda: exact_quartic(xy, q, h), repeat)

    exact = exact_quartic(xy, q, h)
    mine = surface[fine.in_area]
    diff = np.abs(mine - exact)
    peak = float(exact.max())
    pos = exact > 0
    strong = exact >= 0.10 * peak
    skd = np.exp(sk())
    acc = {
        "grid": title,
        "cells_compared": nq,
        "grid_cells": int(surface.size),
        "raster_cell_m": float(fine.cell_size),
        "gi_star_cell_m": float(grid.cell_size),
        "factor": int(f),
        "bandwidth_m": h,
        "cell_size_m": float(fine.cell_size),
        "points": int(len(xy)),
        "reproduces_profile_kde": (bool(np.array_equal(block_mean(surface, f), profile_kde))
                                   if profile_kde is not None else None),
        "max_abs_diff_over_peak": float(diff.max() / peak),
        "sum_abs_diff_over_sum": float(diff.sum() / exact.sum()),
        "max_rel_diff_cells_ge_10pct_peak": float((diff[strong] / exact[strong]).max()),
        "max_rel_diff_all_cells_exact_gt_0": float((diff[pos] / exact[pos]).max()),
        "cells_exact_zero_ours_positive": int(((~pos) & (mine > 0)).sum()),
        "max_ours_where_exact_zero": float(mine[~pos].max()) if (~pos).any() else 0.0,
        "integral_ratio_ours_over_exact": float(mine.sum() / exact.sum()),
        "corr_sklearn_epanechnikov_vs_exact_quartic": float(np.corrcoef(skd, exact)[0, 1]),
    }
    size = f"{len(xy):,} pts -> {nq:,} raster cells"
    cells = (f"at {nq:,} in-area raster cells, ours binned + kernel sum over all {surface.size:,} "
             f"({fine.cell_size:.1f} m, {f}x{f} per {grid.cell_size:.0f} m cell)")
    rows = [
        row(
            f"kde_{tag}sklearn",
            f"KDE {title} all_crime",
            size,
            t_ours,
            "sklearn KernelDensity, Epanechnikov (*)",
            t_sk,
            note=("NOT like for like: sklearn has no quartic kernel, Epanechnikov instead (same support h); "
                  f"sklearn exact {cells}"),
        ),
        row(
            f"kde_{tag}exact_quartic",
            f"KDE {title} all_crime",
            size,
            t_ours,
            "exact quartic sum, cKDTree",
            t_exact,
            note=f"same kernel; exact sum {cells}, within {acc['max_abs_diff_over_peak']:.1%} of peak",
        ),
    ]
    return rows, acc


# --------------------------------------------------------------------------------------------
# report


def table(rows) -> str:
    head = ["benchmark", "size", "reference", "ours", "reference time", "ratio best", "ratio median"]
    body = []
    for r in rows:
        ours = r["ours_time"]
        body.append(
            [
                r["benchmark"],
                r["size"],
                r["reference"],
                fmt_time(ours["best_s"]) if ours else "-",
                fmt_time(r["reference_time"]["best_s"]),
                f"{r['ratio_best']:,.0f}x" if r["ratio_best"] is not None and r["ratio_best"] >= 10
                else (f"{r['ratio_best']:.1f}x" if r["ratio_best"] is not None else "-"),
                f"{r['ratio_median']:,.0f}x" if r["ratio_median"] is not None and r["ratio_median"] >= 10
                else (f"{r['ratio_median']:.1f}x" if r["ratio_median"] is not None else "-"),
            ]
        )
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    right = {3, 4, 5, 6}

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(head), sep, *(line(b) for b in body)])


def run(catalog=None, repeat: int = 5, log=lambda msg="": None) -> dict:
    """Run every engine benchmark; progress goes to ``log``. Returns the JSON document of
    ``--json`` (rows under ``benchmarks``, agreement checks under ``checks``) and, under ``pass``,
    whether both Gi* agreement checks passed."""
    repeat = max(1, repeat)
    t_start = time.perf_counter()
    from localprofile.demo import demo_catalog_path
    from localprofile.engine.grid import make_grid
    from localprofile.engine.kde import auto_bandwidth

    catalog = catalog or demo_catalog_path()
    facts = machine_facts()
    log("localprofile engine benchmark")
    log(
        f"machine: {facts['cpu_count']} CPUs ({facts['cpus_usable']} usable), {facts['cpu_model']}; "
        f"{facts['platform']}"
    )
    log(
        f"python {facts['python']}; numpy {facts['numpy']}, scipy {facts['scipy']}, esda {facts['esda']}, "
        f"libpysal {facts['libpysal']}, scikit-learn {facts['scikit-learn']}, shapely {facts['shapely']}, "
        f"localprofile {facts['localprofile']}"
    )
    log(f"catalog: {catalog}; timings: best of {repeat} repeats (after a warm-up, garbage collector off), per call")
    log()
    log("loading data (not timed) ...")
    profile, crimes, located, xy, wy, n_lsoa = load_inputs(catalog)
    g = profile.grid
    wy_grid = make_grid(wy, WY_CELL_M, WY_CELL_M)
    wy_counts = wy_grid.bin(xy[:, 0], xy[:, 1])
    log(
        f"  Leeds grid: {g.shape[0]}x{g.shape[1]} cells of {g.cell_size:.0f} m, {int(g.active.sum()):,} active, "
        f"{int(g.in_area.sum()):,} in area; West Yorkshire grid ({n_lsoa:,} LSOAs): {wy_grid.shape[0]}x"
        f"{wy_grid.shape[1]} cells of {WY_CELL_M:.0f} m, {int(wy_grid.active.sum()):,} active; "
        f"{len(xy):,} located crimes ({int(wy_counts.sum()):,} on the WY grid)"
    )

    rows: list[dict] = []
    checks: dict = {}
    leeds_title = f"Leeds {g.cell_size:.0f} m"
    r, c = bench_gistar(
        "leeds",
        leeds_title,
        g,
        profile.themes["all_crime"].count,
        repeat,
        log,
        "all_crime",
        extra_counts={s: t.count for s, t in profile.themes.items() if s != "all_crime"},
    )
    rows += r
    checks["gi_star_leeds"] = c
    r, c = bench_gistar("wy", f"West Yorkshire {WY_CELL_M:.0f} m", wy_grid, wy_counts, repeat, log, "all located crimes")
    rows += r
    checks["gi_star_west_yorkshire"] = c
    theme = profile.themes["all_crime"]
    r, acc = bench_kde("", f"Leeds {g.cell_size:.0f} m", g, xy, float(theme.bandwidth), repeat, log,
                       profile_kde=theme.kde)
    rows += r
    checks["kde_accuracy"] = acc
    # West Yorkshire: the bandwidth the build's rule gives for all located crimes on 250 m cells
    h_wy = float(auto_bandwidth(xy[:, 0], xy[:, 1], WY_CELL_M).value)
    r, acc = bench_kde("wy_", f"West Yorkshire {WY_CELL_M:.0f} m", wy_grid, xy, h_wy, repeat, log)
    rows += r
    checks["kde_accuracy_west_yorkshire"] = acc
    total = time.perf_counter() - t_start
    return {
        "generated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": facts,
        "catalog": str(catalog),
        "repeat": repeat,
        "ratio_definition": "reference time / localprofile time (best and median per-call times)",
        "benchmarks": rows,
        "checks": checks,
        "pass": bool(checks["gi_star_leeds"]["pass"] and checks["gi_star_west_yorkshire"]["pass"]),
        "total_run_s": total,
    }


def script_args(doc: str, default_repeat: int, argv=None):
    """The command line shared by the benchmark scripts (--json, --repeat, --catalog), and a log
    function writing the report to stdout, or to stderr when the JSON goes to stdout."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="write results as JSON to stdout (report to stderr)")
    ap.add_argument("--repeat", type=int, default=default_repeat,
                    help=f"timed repeats per measurement (default {default_repeat})")
    ap.add_argument("--catalog", type=Path, default=None, help="catalog (default: the shipped demo catalog)")
    args = ap.parse_args(argv)
    out = sys.stderr if args.json else sys.stdout

    def log(msg=""):
        print(msg, file=out, flush=True)

    return args, log


def main(argv=None) -> int:
    args, log = script_args(__doc__, 5, argv)

    doc = run(args.catalog, args.repeat, log)
    rows, checks, total = doc["benchmarks"], doc["checks"], doc["total_run_s"]

    log()
    log("speed ratio = reference time / our time (above 1: ours is faster); times are best per call")
    log(table(rows))
    log()
    log("checks")
    for key in ("gi_star_leeds", "gi_star_west_yorkshire"):
        c = checks[key]
        themes = ", ".join(f"{k} {v:.1e}" for k, v in c["max_abs_z_diff_by_theme"].items())
        log(
            f"  Gi* {c['grid']} vs esda: max |z diff| {c['max_abs_z_diff']:.1e} (tolerance {Z_TOLERANCE:g}) "
            f"-> {'PASS' if c['pass'] else 'FAIL'}; max |p diff| {c['max_abs_p_diff']:.1e}; "
            f"non-finite z: ours {c['nonfinite_z_ours']}, esda {c['nonfinite_z_esda']}"
        )
        if len(c["max_abs_z_diff_by_theme"]) > 1:
            log(f"    by theme: {themes}")
    for a in (checks["kde_accuracy"], checks["kde_accuracy_west_yorkshire"]):
        log(
            f"  KDE {a['grid']} vs exact quartic sum at {a['cells_compared']:,} in-area raster cell centres "
            f"(h = {a['bandwidth_m']:,.1f} m, {a['raster_cell_m']:.1f} m raster cells, {a['factor']}x{a['factor']} "
            f"to each {a['gi_star_cell_m']:.0f} m cell): max |diff| / peak {a['max_abs_diff_over_peak']:.2%}; "
            f"sum |diff| / sum {a['sum_abs_diff_over_sum']:.2%}; max relative diff where exact >= 10% of peak "
            f"{a['max_rel_diff_cells_ge_10pct_peak']:.1%}"
        )
        log(
            f"    max relative diff over every cell with exact > 0: {a['max_rel_diff_all_cells_exact_gt_0']:.3g} "
            f"(fringe cells where the exact density is near 0); {a['cells_exact_zero_ours_positive']:,} cells exact 0 "
            f"but ours > 0 (at most {a['max_ours_where_exact_zero']:.3g} per km²); integral ratio ours/exact "
            f"{a['integral_ratio_ours_over_exact']:.4f}"
            + ("" if a["reproduces_profile_kde"] is None else
               f"; timed KDE reproduces the profile's all_crime KDE: {a['reproduces_profile_kde']}")
        )
        log(
            f"    ours computes every raster cell ({a['grid_cells']:,}); the KDE references only the "
            f"{a['cells_compared']:,} in-area raster cells; sklearn Epanechnikov vs exact quartic correlation "
            f"{a['corr_sklearn_epanechnikov_vs_exact_quartic']:.4f}"
        )
    log(
        "  (*) sklearn has no quartic kernel: its rows are a speed comparison with the nearest compact kernel "
        "(Epanechnikov, same support h); esda computes only the active cells"
    )
    log(f"total run time {total:.1f} s")

    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0 if doc["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
