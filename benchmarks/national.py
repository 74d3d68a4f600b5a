#!/usr/bin/env python3
"""National scale: SYNTHETIC crimes over the 34,753 LSOAs of England and Wales (by population),
binned to a 250 m grid, Gi* and KDE on it, and counted per LSOA, at 60,000, 600,000 and
6,000,000 crimes.

    .venv/bin/python benchmarks/national.py [--sizes 60000,600000,6000000] [--repeat 3] [--json]

Each size runs in a fresh interpreter, so its peak memory (VmHWM) is its own. In it:
the shipped boundaries and populations are read (``localprofile.national.read_national``), the
crimes generated (seeded), the grid and LSOA lookup made once (they depend on the boundaries
only), then ``national_run`` is called ``--repeat`` times and each part's best time kept (wall
clock, and CPU time of the process, which the other work on a shared machine disturbs less).
Peak memory is taken after those runs; then the crimes are counted per LSOA once more by a
plain STRtree query of every point (what ``geopandas.sjoin`` does), timed, and checked to give
the same LSOA for every crime.

Targets (issue 11): at 6 million crimes, bin + Gi* + KDE under 10 s on 2 cores, peak memory
under 4 GB, and time growing no faster than linearly from 60,000 to 6 million (a ratio at most
100). The exit status is 1 if a target is missed or a check fails.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BOUNDARIES = ROOT / "data/boundaries/lsoa11_bsc_england_wales.parquet"
POPULATION = ROOT / "data/census/census2011_usual_residents_lsoa11_england_wales.csv.gz"
SIZES = (60_000, 600_000, 6_000_000)
SEED = 20261203
CELL_SIZE = 250.0
BANDWIDTH = 1000.0
TARGET_SECONDS = 10.0  # bin + Gi* + KDE at 6 million crimes
TARGET_PEAK_GB = 4.0
PARTS = ("generate", "bin", "gi_star", "kde", "lsoa")
CORE = ("bin", "gi_star", "kde")


def _peak_mb() -> float:
    """This process's peak resident memory: VmHWM of /proc/self/status, the high-water mark of
    this program's own memory. Not ru_maxrss: Linux carries that over an exec from the forked
    parent, so a child started by a big parent (run_all.py) would report the parent's size."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # not Linux: kilobytes on most


def measure(n: int, repeat: int = 3, seed: int = SEED) -> dict:
    """One size in this process: best wall and CPU seconds per part, peak memory, checks."""
    import numpy as np

    from localprofile.national import assign_lsoa, lsoa_lookup, national_crimes, national_grid, national_run, read_national

    def clock(fn):
        t, c = time.perf_counter(), time.process_time()
        out = fn()
        return out, time.perf_counter() - t, time.process_time() - c

    lsoas, t_read, c_read = clock(lambda: read_national(BOUNDARIES, POPULATION))
    wall = {p: float("inf") for p in PARTS}
    cpu = {p: float("inf") for p in PARTS}
    for _ in range(repeat):
        crimes, w, c = clock(lambda: national_crimes(lsoas.geometry, lsoas["residents"], n, seed))
        wall["generate"], cpu["generate"] = min(wall["generate"], w), min(cpu["generate"], c)
    grid, t_grid, c_grid = clock(lambda: national_grid(lsoas.geometry, CELL_SIZE, margin=BANDWIDTH))
    lookup, t_lookup, c_lookup = clock(lambda: lsoa_lookup(lsoas))
    r = None
    for _ in range(repeat):
        r = None  # the previous run's surfaces are freed first: peak memory is one run's
        r = national_run(crimes.x, crimes.y, lsoas, CELL_SIZE, BANDWIDTH, grid=grid, lookup=lookup)
        for p in PARTS[1:]:
            wall[p], cpu[p] = min(wall[p], r.seconds[p]), min(cpu[p], r.cpu_seconds[p])
    peak = _peak_mb()
    ref, t_ref, c_ref = clock(lambda: assign_lsoa(crimes.x, crimes.y, lsoas, method="strtree"))
    in_area = grid.in_area
    return {
        "n": n,
        "seed": seed,
        "repeat": repeat,
        "seconds": wall,
        "cpu_seconds": cpu,
        "core_seconds": sum(wall[p] for p in CORE),
        "core_cpu_seconds": sum(cpu[p] for p in CORE),
        "setup_seconds": {"read": t_read, "grid": t_grid, "lsoa_lookup": t_lookup},
        "setup_cpu_seconds": {"read": c_read, "grid": c_grid, "lsoa_lookup": c_lookup},
        "peak_memory_mb": peak,
        "strtree_lsoa_seconds": t_ref,
        "strtree_lsoa_cpu_seconds": c_ref,
        "peak_memory_mb_with_strtree": _peak_mb(),
        "grid": {"rows": grid.ny, "cols": grid.nx, "cells": grid.ny * grid.nx,
                 "active": int(grid.active.sum()), "in_area": int(in_area.sum())},
        "bandwidth": r.bandwidth.to_dict(),
        "checks": {
            "grid_counts_sum_to_n": bool(r.counts.sum() == n),
            "lsoa_raster_equals_strtree": bool(np.array_equal(r.lsoa, ref)),
            "lsoa_equals_generated_lsoa": int((r.lsoa == crimes.lsoa).sum()),
            "kde_mass_over_n": float(r.kde.sum() * grid.cell_area_km2 / n),
            "hot_cells": int((r.hotspot == "hot").sum()),
            "cold_cells": int((r.hotspot == "cold").sum()),
        },
    }


def _child(n: int, repeat: int, seed: int) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(n), "--repeat", str(repeat),
           "--seed", str(seed)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"national benchmark at n={n:,} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(sizes=SIZES, repeat: int = 3, seed: int = SEED, log=lambda msg="": None) -> dict:
    """Every size in its own subprocess; returns the per-size results, growth ratios and targets.

    ``log`` gets a line as each size finishes. Returns a dict with ``sizes`` (one dict per size,
    as :func:`measure` gives), ``growth`` (time at the largest size / time at the smallest, per
    part, beside the linear ratio of the sizes), ``targets`` (each with its value and whether
    it is met; only where the sizes include 6,000,000 and 60,000) and ``machine``.
    """
    results = []
    for n in sizes:
        t = time.perf_counter()
        results.append(_child(n, repeat, seed))
        log(f"  n={n:,}: done in {time.perf_counter() - t:.0f} s")
    lo, hi = results[0], results[-1]
    linear = hi["n"] / lo["n"]
    growth = {p: hi["seconds"][p] / lo["seconds"][p] for p in PARTS}
    growth["bin+gi_star+kde"] = hi["core_seconds"] / lo["core_seconds"]
    growth_cpu = {p: hi["cpu_seconds"][p] / max(lo["cpu_seconds"][p], 1e-9) for p in PARTS}
    growth_cpu["bin+gi_star+kde"] = hi["core_cpu_seconds"] / lo["core_cpu_seconds"]
    targets = {}
    by_n = {r["n"]: r for r in results}
    if 6_000_000 in by_n:
        big = by_n[6_000_000]
        targets["core_under_10_s_at_6m"] = {"value": big["core_seconds"], "met": big["core_seconds"] < TARGET_SECONDS}
        targets["peak_under_4_gb_at_6m"] = {"value": big["peak_memory_mb"] / 1024,
                                            "met": big["peak_memory_mb"] / 1024 < TARGET_PEAK_GB}
        if 60_000 in by_n:
            g = big["core_seconds"] / by_n[60_000]["core_seconds"]
            targets["core_growth_at_most_linear"] = {"value": g, "met": g <= 100}
    checks_ok = all(r["checks"]["grid_counts_sum_to_n"] and r["checks"]["lsoa_raster_equals_strtree"]
                    and abs(r["checks"]["kde_mass_over_n"] - 1) < 1e-9 for r in results)
    return {"sizes": results, "linear_ratio": linear, "growth": growth, "growth_cpu": growth_cpu,
            "targets": targets, "checks_ok": checks_ok,
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": len(__import__("os").sched_getaffinity(0))}}


def report(res: dict) -> str:
    """The table: seconds per part (best wall; CPU in brackets), peak memory, growth, targets."""
    rows = res["sizes"]
    head = f"{'part':24s}" + "".join(f"{r['n']:>22,}" for r in rows) + f"{'growth':>10s}"
    lines = ["National benchmark: SYNTHETIC crimes over England and Wales, 250 m grid "
             f"({rows[0]['grid']['rows']:,} x {rows[0]['grid']['cols']:,} cells, "
             f"{rows[0]['grid']['active']:,} active), KDE bandwidth {BANDWIDTH:,.0f} m (given)",
             f"seconds, best of {rows[0]['repeat']} (CPU seconds in brackets); growth = time at "
             f"{rows[-1]['n']:,} / time at {rows[0]['n']:,} (linear: {res['linear_ratio']:,.0f})", "", head]
    names = {"generate": "generate (SYNTHETIC)", "bin": "bin", "gi_star": "Gi* (z, p, BH q, classes)",
             "kde": "KDE (quartic)", "lsoa": "LSOA aggregation"}

    def cell(w, c):
        return f"{w:>11.3f} ({c:>7.3f})"

    for p in PARTS:
        lines.append(f"{names[p]:24s}" + "".join(cell(r["seconds"][p], r["cpu_seconds"][p]) for r in rows)
                     + f"{res['growth'][p]:>10.1f}")
    lines.append(f"{'bin + Gi* + KDE':24s}" + "".join(cell(r["core_seconds"], r["core_cpu_seconds"]) for r in rows)
                 + f"{res['growth']['bin+gi_star+kde']:>10.1f}")
    lines.append(f"{'peak memory (MB)':24s}" + "".join(f"{r['peak_memory_mb']:>22,.0f}" for r in rows))
    lines += ["", "once per set of boundaries (not per crime set):"]
    for k in ("read", "grid", "lsoa_lookup"):
        lines.append(f"{k:24s}" + "".join(cell(r["setup_seconds"][k], r["setup_cpu_seconds"][k]) for r in rows))
    lines += ["", "LSOA aggregation by a plain STRtree query of every point (as geopandas.sjoin):"]
    lines.append(f"{'STRtree, seconds':24s}" + "".join(cell(r["strtree_lsoa_seconds"], r["strtree_lsoa_cpu_seconds"])
                                                       for r in rows))
    lines.append(f"{'raster / STRtree':24s}" + "".join(f"{r['strtree_lsoa_seconds'] / r['seconds']['lsoa']:>21.1f}x"
                                                       for r in rows))
    lines.append(f"{'same LSOA every crime':24s}" + "".join(f"{str(r['checks']['lsoa_raster_equals_strtree']):>22s}"
                                                            for r in rows))
    lines.append(f"{'peak with STRtree (MB)':24s}" + "".join(f"{r['peak_memory_mb_with_strtree']:>22,.0f}" for r in rows))
    lines += ["", "targets:"]
    for k, v in res["targets"].items():
        lines.append(f"  {k}: {v['value']:.2f} -> {'met' if v['met'] else 'NOT MET'}")
    lines.append(f"  checks (grid sums to N, KDE mass = N, raster = STRtree): {'pass' if res['checks_ok'] else 'FAIL'}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(map(str, SIZES)), help="comma-separated crime counts")
    ap.add_argument("--repeat", type=int, default=3, help="calls per size; the best time is kept")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--json", action="store_true", help="JSON on stdout, the table on stderr")
    ap.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child is not None:
        print(json.dumps(measure(a.child, max(1, a.repeat), a.seed)))
        return 0
    sizes = [int(s) for s in a.sizes.split(",")]
    res = run(sizes, max(1, a.repeat), a.seed, log=lambda m="": print(m, file=sys.stderr, flush=True))
    text = report(res)
    if a.json:
        print(text, file=sys.stderr)
        print(json.dumps(res, indent=1))
    else:
        print(text)
    return 0 if res["checks_ok"] and all(v["met"] for v in res["targets"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
