#!/usr/bin/env python3
"""A national year of police.uk files: N SYNTHETIC crimes written as 43 forces x 12 months of
street-level CSVs (police.uk's layout), then read in partitions and run through the national grid
work, in a fresh process whose peak memory is its own.

    .venv/bin/python benchmarks/national_files.py [--n 6000000] [--no-reference] [--json]

The crimes are SYNTHETIC (``localprofile.national.national_crimes``: the real LSOAs of England
and Wales, by population), written by ``localprofile.national_files.write_street_files`` into a
temporary folder (not timed). Then, each in its own interpreter:

- **partitions**: ``read_street_points`` (one Dask task per file, Arrow's CSV reader, only
  Month, Longitude, Latitude and Crime type parsed, each file cut to 20 bytes a crime before
  the next) and ``national_run`` on the points (250 m grid, Gi*, KDE, LSOA counts);
- **reference**: what reading them without partitions looks like: ``pandas.read_csv`` of every
  file, every column, and ``pandas.concat`` (the read only, no grid work).

It prints the CSV size on disk, each route's wall time and peak resident memory (VmHWM;
for the partitions, after the read and again after the grid work, whose own peak
benchmarks/national.py measures),
and whether the partitioned read's account adds up (rows read = used + dropped). Issue 11's
bound: peak memory under 4 GB.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from national import BOUNDARIES, POPULATION, ROOT, SEED, TARGET_PEAK_GB, _peak_mb  # benchmarks/national.py


def child(mode: str, folder: str) -> dict:
    files = sorted(str(p) for p in Path(folder).rglob("*-street.csv"))
    t = time.perf_counter()
    if mode == "partitions":
        from localprofile.national import national_run, read_national
        from localprofile.national_files import read_street_points

        pts = read_street_points(files)
        t_read, read_peak = time.perf_counter() - t, _peak_mb()
        lsoas = read_national(BOUNDARIES, POPULATION)
        t1 = time.perf_counter()
        run = national_run(pts.x, pts.y, lsoas, cell_size=250.0, bandwidth=1000.0)
        return {"read_s": t_read, "run_s": time.perf_counter() - t1, "rows": pts.read, "used": len(pts.x),
                "dropped": pts.dropped, "adds_up": pts.read == len(pts.x) + sum(pts.dropped.values()),
                "grid_sum": int(run.counts.sum()), "run_parts_s": run.seconds, "read_peak_mb": read_peak,
                "peak_mb": _peak_mb()}
    import pandas as pd

    frame = pd.concat([pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True)
    return {"read_s": time.perf_counter() - t, "rows": len(frame), "peak_mb": _peak_mb()}


def _run_child(mode: str, folder: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, folder], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{mode} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(n: int = 6_000_000, reference: bool = True, log=lambda msg="": None) -> dict:
    from localprofile.national import national_crimes, read_national
    from localprofile.national_files import write_street_files

    with tempfile.TemporaryDirectory(prefix="localprofile-national-files-") as folder:
        lsoas = read_national(BOUNDARIES, POPULATION)
        crimes = national_crimes(lsoas.geometry, lsoas["residents"], n, SEED)
        t = time.perf_counter()
        files = write_street_files(crimes, lsoas["code"], folder, seed=SEED)
        del crimes
        size = sum(f.stat().st_size for f in files)
        log(f"  wrote {len(files)} files, {size / 1e6:,.0f} MB, in {time.perf_counter() - t:.1f} s")
        part = _run_child("partitions", folder)
        log(f"  partitions: read {part['read_s']:.1f} s (peak {part['read_peak_mb']:,.0f} MB), "
            f"grid work {part['run_s']:.1f} s (peak {part['peak_mb']:,.0f} MB)")
        ref = _run_child("reference", folder) if reference else None
        if ref:
            log(f"  reference: read {ref['read_s']:.1f} s, peak {ref['peak_mb']:,.0f} MB")
    return {"n": n, "files": len(files), "csv_mb": size / 1e6, "partitions": part, "reference": ref,
            "target_peak_gb": TARGET_PEAK_GB, "peak_met": part["peak_mb"] / 1024 < TARGET_PEAK_GB}


def report(res: dict) -> str:
    p, r = res["partitions"], res["reference"]
    lines = [f"national police.uk files: {res['n']:,} SYNTHETIC crimes in {res['files']} street-level CSVs "
             f"(43 forces x 12 months), {res['csv_mb']:,.0f} MB on disk", "",
             "| route | read (s) | peak after the read (MB) | grid work (s) | peak with the grid work (MB) |",
             "|---|---:|---:|---:|---:|",
             f"| partitions (read_street_points, one Dask task per file) + national_run | {p['read_s']:.1f} | "
             f"{p['read_peak_mb']:,.0f} | {p['run_s']:.1f} | {p['peak_mb']:,.0f} |"]
    if r:
        lines.append(f"| reference: pandas.read_csv of every file, every column, concat | {r['read_s']:.1f} | "
                     f"{r['peak_mb']:,.0f} | - | - |")
    lines += ["", f"- rows read {p['rows']:,} = used {p['used']:,} + dropped {sum(p['dropped'].values()):,}: "
              f"{'yes' if p['adds_up'] else 'NO'}; grid counts sum to the used rows: "
              f"{'yes' if p['grid_sum'] == p['used'] else 'NO'}",
              f"- peak memory under {TARGET_PEAK_GB:g} GB: {'MET' if res['peak_met'] else 'NOT MET'} "
              f"({p['peak_mb'] / 1024:.2f} GB)"]
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=6_000_000)
    ap.add_argument("--no-reference", action="store_true", help="skip the pandas read of every column")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--child", nargs=2, metavar=("MODE", "FOLDER"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(child(*args.child)))
        return 0
    res = run(args.n, not args.no_reference, log=lambda m="": print(m, file=sys.stderr))
    print(json.dumps(res, indent=1) if args.json else report(res))
    p = res["partitions"]
    return 0 if res["peak_met"] and p["adds_up"] and p["grid_sum"] == p["used"] else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
