#!/usr/bin/env python3
"""build-all: every district of West Yorkshire, serial against Dask, cold against warm cache.

    .venv/bin/python benchmarks/bench_batch.py            # table on stdout
    .venv/bin/python benchmarks/bench_batch.py --json     # JSON on stdout

Each run is ``localprofile build-all --force "West Yorkshire" --audience partner`` in a fresh
process (the whole command's wall time, start-up included), one after the other:

0. separate builds: ``localprofile build --district D`` for each district, one after the other,
   each in its own process (as an analyst ran them before ``build-all``);
1. serial: ``--serial --no-cache``, the districts one after the other in one process (layers
   read once and shared in memory, as ``build --district all`` does);
2. Dask, cold: the default LocalCluster (one single-threaded worker per usable core) with an
   empty input cache, which it fills;
3. Dask, warm: the same, into a new output folder (so every district is built again), with the
   input cache the cold run left;
4. re-run: the warm command again into the same folder: nothing changed, every district is up
   to date and nothing is built.

Runs 0 to 3 are each timed ``--repeat`` times (default 3; run_all.py takes 2 with ``--quick``;
the cold runs each into an empty cache of their own) and the best time of each is compared, so
that one run slowed by other work on a shared machine does not decide a ratio; every time is
printed, and every repeat's outputs must be the same bytes. Before them one untimed
``build-all`` of the smallest district on Dask fills a bytecode cache (``PYTHONPYCACHEPREFIX``,
as bench_floor.py does: an installed copy has its ``.pyc`` files; some sandboxes set
``PYTHONDONTWRITEBYTECODE``, which would have every process compile localprofile again, the
five separate builds five times).

It checks that the Dask outputs and the separate builds equal the serial ones byte for byte and
prints the speed-ups against serial (the one-process batch, the stricter baseline) and against
the separate builds (each district's build on its own, as issue 11 calls a district's "serial
build"); the issue's targets: Dask cold at least 1.7x serial on 2 cores, warm faster again.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_floor import bytecode_env  # this folder: run_all.py and a run of the script both see it

ROOT = Path(__file__).resolve().parent.parent
FORCE = "West Yorkshire"
TARGET = 1.7


def _cli() -> list[str]:
    exe = Path(sys.executable).parent / "localprofile"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "localprofile"]


def _command(cmd: list[str], env: dict[str, str]) -> float:
    """The wall time of ``cmd``; a failure stops the benchmark with its error."""
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True, env=env)
    dt = time.perf_counter() - t0
    if res.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed ({res.returncode}): {res.stderr[-2000:]}")
    return dt


def _run(catalog: Path, out: Path, env: dict[str, str], *extra: str, force: str | None = FORCE) -> float:
    where = ["--force", force] if force else []
    return _command([*_cli(), "build-all", "--catalog", str(catalog), *where, "--audience", "partner",
                     "--out", str(out), "-q", *extra], env)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "build-all.json"}


def run(catalog: Path | None = None, log=lambda msg="": None, repeat: int = 3) -> dict:
    """The runs (0 to 3 ``repeat`` times each); their best and every wall time, the speed-ups of
    the best times and whether the outputs agree."""
    catalog = Path(catalog or ROOT / "data_catalog.yaml").resolve()
    repeat = max(1, int(repeat))
    with tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        tmp = Path(tmp)
        env = dict(bytecode_env(tmp / "pycache"), PYTHONHASHSEED="0")
        runs: dict[str, list[float]] = {k: [] for k in ("separate", "serial", "dask_cold", "dask_warm")}
        from localprofile.batch import plan_batch

        tasks = plan_batch(catalog, force=FORCE, audience="partner")
        log("filling the bytecode cache (one untimed build-all of the smallest district on Dask)")
        _run(catalog, tmp / "prime", env, "--districts", tasks[-1].code, "--no-cache", force=None)
        for i in range(repeat):
            log(f"{len(tasks)} separate builds, run {i + 1} of {repeat}")
            t0 = time.perf_counter()
            for t in tasks:
                _command([*_cli(), "build", "--catalog", str(catalog), "--district", t.code, "--audience",
                          "partner", "--out", str(tmp / f"separate{i}" / t.folder), "-q"], env)
            runs["separate"].append(time.perf_counter() - t0)
            log(f"build-all serial (no cache), run {i + 1} of {repeat}")
            runs["serial"].append(_run(catalog, tmp / f"serial{i}", env, "--serial", "--no-cache"))
            log(f"build-all on Dask, cold cache, run {i + 1} of {repeat}")
            runs["dask_cold"].append(_run(catalog, tmp / f"cold{i}", env, "--cache", str(tmp / f"cache{i}")))
            log(f"build-all on Dask, warm cache, run {i + 1} of {repeat}")
            runs["dask_warm"].append(_run(catalog, tmp / f"warm{i}", env, "--cache", str(tmp / f"cache{i}")))
        times = {k: min(v) for k, v in runs.items()}
        log("build-all re-run, nothing changed")
        times["rerun"] = _run(catalog, tmp / "warm0", env, "--cache", str(tmp / "cache0"))
        for i in range(1, repeat):  # every repeat's outputs are compared; one copy of each is kept
            for k in ("separate", "serial", "cold", "warm"):
                if _files(tmp / f"{k}{i}") != _files(tmp / f"{k}0"):
                    raise SystemExit(f"{k} run {i + 1} wrote other bytes than run 1")
        for k in ("separate", "serial", "cold", "warm"):
            (tmp / f"{k}0").rename(tmp / k)
        serial = _files(tmp / "serial")
        differ = {k: sorted(n for n, b in _files(tmp / k).items() if serial.get(n) != b)
                  + sorted(set(serial) - set(_files(tmp / k))) for k in ("cold", "warm")}
        separate = _files(tmp / "separate")
        differ["separate"] = sorted(n for n in separate if separate[n] != serial.get(n))
        same = {k: not v for k, v in differ.items()}
        districts = sorted({p.split("/")[0] for p in serial if "/" in p})
    ratios = {k: times["serial"] / times[k] for k in ("separate", "dask_cold", "dask_warm", "rerun")}
    vs_separate = {k: times["separate"] / times[k] for k in ("serial", "dask_cold", "dask_warm")}
    return {
        "force": FORCE, "districts": districts, "cpus": len(os.sched_getaffinity(0)),
        "repeat": repeat, "runs": runs, "seconds": times, "speedup_vs_serial": ratios, "speedup_vs_separate_builds": vs_separate, "outputs_identical": same, "files_differing": differ,
        "checks": {
            f"Dask cold >= {TARGET}x serial": ratios["dask_cold"] >= TARGET,
            "Dask warm faster than cold": times["dask_warm"] < times["dask_cold"],
            "outputs byte-identical to serial": all(same.values()) and not differ["separate"],
        },
    }


def report(r: dict) -> str:
    lines = [f"build-all --force \"{r['force']}\" --audience partner: {len(r['districts'])} districts "
             f"({', '.join(r['districts'])}), {r['cpus']} usable CPUs; wall time of the whole command, "
             f"best of {r['repeat']}",
             "", "| run | seconds | every run | speed-up vs serial | vs separate builds |", "|---|---:|---|---:|---:|"]
    names = {"separate": "separate builds (localprofile build per district)",
             "serial": "serial, no cache (--serial --no-cache)", "dask_cold": "Dask LocalCluster, cold cache",
             "dask_warm": "Dask LocalCluster, warm cache (all rebuilt)", "rerun": "re-run, nothing changed (all up to date)"}
    for k, label in names.items():
        sp = "1.0x" if k == "serial" else f"{r['speedup_vs_serial'][k]:.2f}x"
        sep = "1.0x" if k == "separate" else f"{r['speedup_vs_separate_builds'][k]:.2f}x" \
            if k in r["speedup_vs_separate_builds"] else "-"
        every = ", ".join(f"{t:.1f}" for t in r["runs"].get(k, [r["seconds"][k]]))
        lines.append(f"| {label} | {r['seconds'][k]:.1f} | {every} | {sp} | {sep} |")
    lines.append("")
    lines += [f"- {name}: {'yes' if ok else 'NO'}" for name, ok in r["checks"].items()]
    for k, names in r["files_differing"].items():
        if names:
            lines.append(f"  - {k}: {len(names)} files differ from serial: {', '.join(names[:8])}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", type=Path)
    ap.add_argument("--repeat", type=int, default=3, help="runs of each timed command (best taken; default 3)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    r = run(a.catalog, log=lambda m="": print(m, file=sys.stderr, flush=True), repeat=a.repeat)
    print(json.dumps(r, indent=2) if a.json else report(r))
    return 0 if all(r["checks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
