#!/usr/bin/env python3
"""Run every benchmark in one process and print one table of speed ratios.

    .venv/bin/python benchmarks/run_all.py            # combined report on stdout
    .venv/bin/python benchmarks/run_all.py --json     # JSON on stdout, report on stderr
    .venv/bin/python benchmarks/run_all.py --quick    # fewer repeats (about 110 s instead of 140 s here)

Runs, one after the other in this process on this machine, ``bench_engine.run`` (Gi* and KDE
against esda, libpysal, scikit-learn and an exact quartic sum), ``bench_inference.run``
(permutation Gi* and local Moran's I against esda), ``bench_repeats.run`` (repeat locations
against scikit-learn's DBSCAN) and ``bench_priority.run`` (whether the priority neighbourhoods
 find next year's SOC crime, beside IMD and past counts), ``bench_outputs.run`` (the Leeds build
 for each audience: time stage by stage and the size of each output) and ``bench_render.run`` (each audience's
 HTML size and offline render time in headless Chromium) and ``bench_briefings.run`` (the PCSO
briefing sheets: time per sheet and per district, force and partner), then prints one table: each row's reference, the reference's time,
localprofile's time and the ratio reference / localprofile (best per-call times; above 1 means
localprofile is faster), with a note where the two sides do not do the same work. It ends with
whether the headline holds: permutation Gi* with 9,999 permutations on the West Yorkshire 250 m
grid is faster than esda with 999. Each script's own report (and its per-row details) is in
benchmarks/README.md; run a script on its own for it.

The exit status is 1 if an agreement check of bench_engine or bench_inference fails, the
headline does not hold or the partner HTML of Leeds is over 5 MB.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_batch
import bench_briefings
import bench_engine
import bench_floor
import bench_inference
import bench_outputs
import bench_priority
import bench_render
import bench_repeats
import national as bench_national
from bench_engine import fmt_time

# repeats per measurement: (engine, inference, inference share_draws=False row, repeat locations).
# The share_draws=False row takes about 18 s per call here, so it gets one timed call after its
# warm-up in both modes; everything else keeps its script's default unless --quick.
SETTINGS = {
    "full": {"engine": 5, "inference": 3, "inference_independent": 1, "repeats": 5},
    "quick": {"engine": 2, "inference": 1, "inference_independent": 1, "repeats": 2},
}


def _ratio(r) -> str:
    return "-" if r is None else (f"{r:,.0f}x" if r >= 10 else f"{r:.1f}x")


def combined_rows(engine: dict, inference: dict, repeats: dict) -> list[dict]:
    """One list of rows: name, reference, times (best and median), ratio and a comparison note."""
    ec, ic = engine["checks"], inference["checks"]
    acc = ec["kde_accuracy"]
    draw_sets = ic["gi_star_p_sim"]["draw_sets"]
    no_numba = inference["esda_mode"].startswith("plain")
    esda_note = "esda without numba (not installed)" if no_numba else "esda with numba"

    def z_note(check):
        return f"same z (max diff {check['max_abs_z_diff']:.0e})"

    notes = {
        "gi_leeds_esda": ("Gi* analytical, Leeds 500 m", z_note(ec["gi_star_leeds"]) + "; esda adds self-weights each call"),
        "gi_leeds_esda_prefilled": ("Gi* analytical, Leeds 500 m", z_note(ec["gi_star_leeds"]) + "; statistic only"),
        "gi_leeds_weights": ("Gi* analytical, Leeds 500 m", "esda's input only; ours needs no weights object"),
        "gi_leeds_fill_diagonal": ("Gi* analytical, Leeds 500 m", "esda's input only"),
        "gi_leeds_end_to_end": ("Gi* analytical, Leeds 500 m", "esda's weights build + statistic (sum of times) vs ours"),
        "gi_wy_esda": ("Gi* analytical, West Yorkshire 250 m", z_note(ec["gi_star_west_yorkshire"]) + "; esda adds self-weights each call"),
        "gi_wy_esda_prefilled": ("Gi* analytical, West Yorkshire 250 m", z_note(ec["gi_star_west_yorkshire"]) + "; statistic only"),
        "gi_wy_weights": ("Gi* analytical, West Yorkshire 250 m", "esda's input only; ours needs no weights object"),
        "gi_wy_fill_diagonal": ("Gi* analytical, West Yorkshire 250 m", "esda's input only"),
        "gi_wy_end_to_end": ("Gi* analytical, West Yorkshire 250 m", "esda's weights build + statistic (sum of times) vs ours"),
        "kde_sklearn": (
            "KDE, Leeds all_crime",
            ("NOT like for like: sklearn has no quartic kernel, Epanechnikov instead (same support h); sklearn "
             f"exact at {acc['cells_compared']:,} in-area raster cells, ours binned + kernel sum (direct or FFT) over all {acc['grid_cells']:,}"),
        ),
        "kde_exact_quartic": (
            "KDE, Leeds all_crime",
            (f"same kernel; ours binned + kernel sum (direct or FFT) over all {acc['grid_cells']:,} raster cells (within "
             f"{acc['max_abs_diff_over_peak']:.1%} of peak), exact sum at {acc['cells_compared']:,} in-area raster cells"),
        ),
        "gi_weights": ("Gi* permutation, West Yorkshire 250 m", "esda's input only; ours needs no weights object"),
        "lisa_weights": ("queen weights, West Yorkshire LSOAs", "same neighbour sets (checked)"),
    }
    tenfold = "NOT like for like: ours runs 10x the permutations (the headline)"
    shared = f"ours shares draws among cells with equal count and neighbour count ({draw_sets} sets)"

    rows = []
    for part, doc in (("engine", engine), ("inference", inference)):
        for r in doc["benchmarks"]:
            rid = r["id"]
            if rid in notes:
                name, note = notes[rid]
            elif rid.startswith("gi_perm_"):
                name = f"Gi* permutation, West Yorkshire 250 m, {r['ours'].removeprefix('localprofile, ')}"
                if "independent" in rid:
                    note = ("NOT like for like: ours runs 10x the permutations, with share_draws=False (own "
                            "draws for every cell, where esda shares one set of permuted indices)")
                elif rid.startswith("gi_perm_9999_"):
                    note = f"{tenfold}; {shared}"
                else:
                    note = f"same permutations; {shared}"
            elif rid.startswith("lisa_"):
                name = f"local Moran's I, West Yorkshire LSOAs, {r['ours'].removeprefix('localprofile, ')}"
                note = f"same permutations; same Is and quadrants (checked); {esda_note}"
            else:
                name, note = r["benchmark"], r.get("note", "")
            ours = r["ours_time"]
            rows.append({
                "id": rid,
                "part": part,
                "benchmark": name,
                "size": r["size"],
                "reference": r["reference"].replace(" (*)", ""),
                "reference_s": r["reference_time"]["best_s"],
                "reference_median_s": r["reference_time"]["median_s"],
                "localprofile_s": ours["best_s"] if ours else None,
                "localprofile_median_s": ours["median_s"] if ours else None,
                "ratio": r["ratio_best"],
                "ratio_median": r["ratio_median"],
                "note": note,
            })

    c = repeats["check"]
    ref = repeats["sklearn_dbscan_s"]
    size = f"{repeats['located_crimes']:,} crimes at {repeats['distinct_points']:,} map points"
    for rid, key, name, note in (
        ("dbscan_weighted", "weighted_dbscan_s", "repeat locations: weighted DBSCAN on distinct points",
         (f"same clusters (adjusted Rand index {c['adjusted_rand_index']:.6f}, same noise: {c['same_noise']}); "
          "ours clusters each map point once, weighted by its crimes")),
        ("dbscan_repeat_locations", "repeat_locations_s",
         "repeat locations: repeat_locations (+ hulls, top places)",
         "NOT like for like: ours also builds the hulls and top-location tables"),
    ):
        ours = repeats[key]
        rows.append({
            "id": rid,
            "part": "repeats",
            "benchmark": name,
            "size": size,
            "reference": "sklearn DBSCAN on every crime",
            "reference_s": ref["best"],
            "reference_median_s": ref["median"],
            "localprofile_s": ours["best"],
            "localprofile_median_s": ours["median"],
            "ratio": ref["best"] / ours["best"],
            "ratio_median": ref["median"] / ours["median"],
            "note": note,
        })
    return rows


def table(rows) -> str:
    head = ["benchmark", "reference", "reference time", "localprofile time", "ratio", "comparison"]
    body = [
        [r["benchmark"], r["reference"], fmt_time(r["reference_s"]),
         fmt_time(r["localprofile_s"]) if r["localprofile_s"] is not None else "-", _ratio(r["ratio"]), r["note"]]
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    right = {2, 3, 4}

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(head), sep, *(line(b) for b in body)])


def headline_line(inference: dict) -> str:
    h = inference["checks"]["headline"]
    gi = [r for r in inference["benchmarks"] if r["id"].startswith("gi_perm_9999_vs_esda_")]
    parts = ", ".join(
        f"{fmt_time(r['reference_time']['best_s'])} with {r['reference'].split(', ')[-1]} ({_ratio(r['ratio_best'])})"
        for r in gi
    )
    return (
        "headline: permutation Gi* with 9,999 permutations on the West Yorkshire 250 m grid is faster than "
        f"esda with 999 -> {'HOLDS' if h['pass'] else 'DOES NOT HOLD'}: localprofile {fmt_time(h['ours_s'])}; "
        f"esda {parts or 'did not run'}"
    )


def check_lines(engine: dict, inference: dict, repeats: dict) -> list[str]:
    ec, ic = engine["checks"], inference["checks"]
    out = []
    for key in ("gi_star_leeds", "gi_star_west_yorkshire"):
        c = ec[key]
        themes = f", {len(c['max_abs_z_diff_by_theme'])} themes" if len(c["max_abs_z_diff_by_theme"]) > 1 else ""
        out.append(f"  Gi* analytical z vs esda, {c['grid']} ({c['active_cells']:,} active cells{themes}): max |z diff| "
                   f"{c['max_abs_z_diff']:.1e} (tolerance {c['tolerance']:g}) -> {'PASS' if c['pass'] else 'FAIL'}")
    a = ec["kde_accuracy"]
    out.append(f"  KDE vs exact quartic sum at {a['cells_compared']:,} in-area cells: max |diff| / peak "
               f"{a['max_abs_diff_over_peak']:.2%}, sum |diff| / sum {a['sum_abs_diff_over_sum']:.2%}; "
               f"reproduces the profile's all_crime KDE: {a['reproduces_profile_kde']}")
    c = ic["gi_star_p_sim"]
    out.append(f"  Gi* permutation p_sim, ours (9,999) vs esda (999), {c['areas']:,} cells: {c['share_beyond_3_se']:.2%} "
               f"beyond 3 Monte Carlo SE, largest gap {c['max_gap_se']:.2f} SE -> {'PASS' if c['pass'] else 'FAIL'}")
    c = ic["lisa"]
    out.append(f"  local Moran's I vs esda, {c['lsoas']:,} LSOAs: max |Is diff| {c['max_abs_Is_diff']:.1e}, quadrants "
               f"equal {c['quadrants_equal']}, p_sim largest gap {c['p_sim']['max_gap_se']:.2f} SE "
               f"-> {'PASS' if c['pass'] else 'FAIL'}")
    c = repeats["check"]
    out.append(f"  DBSCAN vs sklearn: same noise {c['same_noise']}; clusters {c['clusters_ours']:,} (ours) and "
               f"{c['clusters_sklearn']:,} (sklearn); adjusted Rand index {c['adjusted_rand_index']:.6f}")
    return out


def step7_targets(rows: list[dict], batch: dict, national: dict, floor: dict | None) -> list[dict]:
    """Issue 11's measured targets, each with its figure from this run and whether it is met."""
    by_id = {r["id"]: r for r in rows}
    out = []
    if floor is not None:
        out.append({"target": f"{floor['district']} {floor['audience']} build / load floor <= {floor['target_ratio']:g}",
                    "figure": f"{floor['ratio']:.2f}x ({floor['build_best_s']:.2f} s / {floor['floor_best_s']:.2f} s; "
                    f"CPU {floor['cpu_ratio']:.2f}x)", "met": floor["within_target"]})
    gi, kde = by_id.get("gi_wy_esda"), by_id.get("kde_wy_sklearn")
    out.append({"target": "Gi* / esda G_Local, West Yorkshire 250 m >= 300x",
                "figure": _ratio(gi and gi["ratio"]), "met": bool(gi and gi["ratio"] >= 300)})
    out.append({"target": "KDE / scikit-learn KernelDensity, West Yorkshire 250 m >= 100x",
                "figure": _ratio(kde and kde["ratio"]), "met": bool(kde and kde["ratio"] >= 100)})
    sp, sec = batch["speedup_vs_serial"], batch["seconds"]
    out.append({"target": f"build-all on Dask >= {bench_batch.TARGET}x serial ({len(batch['districts'])} districts, "
                f"{batch['cpus']} CPUs)", "figure": f"{sp['dask_cold']:.2f}x ({sec['dask_cold']:.1f} s / "
                f"{sec['serial']:.1f} s)", "met": sp["dask_cold"] >= bench_batch.TARGET})
    sep = batch["speedup_vs_separate_builds"]
    out.append({"target": f"build-all on Dask >= {bench_batch.TARGET}x the districts' separate builds (each its "
                "own localprofile build, the 'serial build' of issue 11's first item)",
                "figure": f"{sep['dask_cold']:.2f}x ({sec['dask_cold']:.1f} s / {sec['separate']:.1f} s)",
                "met": sep["dask_cold"] >= bench_batch.TARGET})
    out.append({"target": "build-all, warm cache faster again", "figure": f"{sec['dask_warm']:.1f} s "
                f"({sp['dask_warm']:.2f}x serial)", "met": sec["dask_warm"] < sec["dask_cold"]})
    labels = {"core_under_10_s_at_6m": ("national 6M crimes: bin + Gi* + KDE < 10 s", "{:.2f} s"),
              "peak_under_4_gb_at_6m": ("national 6M crimes: peak memory < 4 GB", "{:.2f} GB"),
              "core_growth_at_most_linear": ("national 60k -> 6M: bin + Gi* + KDE time grows <= 100x", "{:.1f}x")}
    for key, (label, fmt) in labels.items():
        t = national["targets"].get(key)
        out.append({"target": label, "figure": fmt.format(t["value"]) if t else "not measured",
                    "met": bool(t and t["met"])})
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="write results as JSON to stdout (report to stderr)")
    ap.add_argument("--quick", action="store_true", help="fewer repeats per measurement (" +
                    ", ".join(f"{k} {v}" for k, v in SETTINGS["quick"].items()) + ")")
    ap.add_argument("--catalog", type=Path, default=None, help="catalog (default: the shipped demo catalog)")
    args = ap.parse_args(argv)
    mode = "quick" if args.quick else "full"
    st = SETTINGS[mode]
    out = sys.stderr if args.json else sys.stdout

    def progress(msg=""):
        if msg.strip():
            print(f"  [{progress.part}] {msg.strip()}", file=sys.stderr, flush=True)

    def report(msg=""):
        print(msg, file=out, flush=True)

    t0 = time.perf_counter()
    run_s = {}
    progress.part = "engine"
    engine = bench_engine.run(args.catalog, st["engine"], progress)
    run_s["engine"] = time.perf_counter() - t0
    gc.collect()
    progress.part = "inference"
    t = time.perf_counter()
    inference = bench_inference.run(args.catalog, st["inference"], progress, independent_repeat=st["inference_independent"])
    run_s["inference"] = time.perf_counter() - t
    gc.collect()
    progress.part = "repeats"
    progress("repeat locations: ours / sklearn DBSCAN ...")
    t = time.perf_counter()
    repeats = bench_repeats.run(st["repeats"], args.catalog)
    run_s["repeats"] = time.perf_counter() - t
    gc.collect()
    progress.part = "priority"
    progress("priority neighbourhoods: trained on 2016-07, scored on 2017-07, five districts ...")
    t = time.perf_counter()
    priority = bench_priority.run()
    run_s["priority"] = time.perf_counter() - t
    gc.collect()
    progress.part = "outputs"
    progress("Leeds built and written for each audience: stage times and output sizes ...")
    t = time.perf_counter()
    outputs = bench_outputs.run(args.catalog)
    run_s["outputs"] = time.perf_counter() - t
    progress.part = "render"
    t = time.perf_counter()
    render = bench_render.run(None, 1 if args.quick else 3, progress)
    run_s["render"] = time.perf_counter() - t
    progress.part = "briefings"
    t = time.perf_counter()
    briefings = bench_briefings.run(sheets=10 if args.quick else None, progress=progress)
    run_s["briefings"] = time.perf_counter() - t
    progress.part = "floor"
    t = time.perf_counter()
    floor = bench_floor.run(args.catalog, 1 if args.quick else 3, progress)
    run_s["floor"] = time.perf_counter() - t
    progress.part = "build-all"
    t = time.perf_counter()
    batch = bench_batch.run(args.catalog, log=progress, repeat=2 if args.quick else 3)
    run_s["build-all"] = time.perf_counter() - t
    progress.part = "national"
    t = time.perf_counter()
    national = bench_national.run(repeat=1 if args.quick else 3, log=progress)
    run_s["national"] = time.perf_counter() - t
    total = time.perf_counter() - t0

    rows = combined_rows(engine, inference, repeats)
    m = inference["machine"]
    targets = step7_targets(rows, batch, national, floor)
    ok = bool(engine["pass"] and inference["pass"] and outputs["partner_html_within_limit"] is not False
              and all(batch["checks"].values()) and national["checks_ok"] and all(t["met"] for t in targets))

    report(f"localprofile benchmarks, one run ({mode}), {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}")
    report(f"machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['cpu_model']}; {m['platform']}")
    report(f"python {m['python']}; numpy {m['numpy']}, scipy {m['scipy']}, esda {m['esda']}, libpysal {m['libpysal']}, "
           f"scikit-learn {m['scikit-learn']}, numba {m['numba']}, localprofile {m['localprofile']}")
    report(f"repeats per measurement after a warm-up call: engine {st['engine']}, inference {st['inference']} "
           f"(share_draws=False row {st['inference_independent']}), repeat locations {st['repeats']}")
    leeds = engine["checks"]["gi_star_leeds"]
    report(f"data: {engine['catalog']}; {leeds['grid']} grid {leeds['active_cells']:,} active cells; "
           f"West Yorkshire 250 m grid {inference['checks']['gi_star_p_sim']['areas']:,} active cells; "
           f"{inference['checks']['lisa']['lsoas']:,} LSOAs; {repeats['located_crimes']:,} located crimes")
    report()
    report("ratio = reference time / localprofile time, best per-call times (above 1: localprofile is faster); "
           "\"-\": the reference's input, no localprofile counterpart")
    report(table(rows))
    report()
    report(headline_line(inference))
    report()
    report("checks")
    for line in check_lines(engine, inference, repeats):
        report(line)
    report()
    report("does the overlay point the right way (bench_priority)")
    for line in bench_priority.table_lines(priority):
        report(line)
    report()
    report(f"build time and output sizes, {outputs['district']} (bench_outputs)")
    for line in bench_outputs.table_lines(outputs):
        report(line)
    report()
    report("the HTML profile offline (bench_render): size and render time in headless Chromium")
    for line in bench_render.table_lines(render):
        report(line)
    report()
    report(f"PCSO briefing sheets, {briefings['district']} (bench_briefings)")
    for line in bench_briefings.table_lines(briefings):
        report(line)
    report()
    report("one district against its load floor (bench_floor)")
    for line in bench_floor.table_lines(floor):
        report(line)
    report()
    report("every district of a force (bench_batch)")
    report(bench_batch.report(batch))
    report()
    report("national scale, SYNTHETIC crimes over the England and Wales LSOAs (national)")
    report(bench_national.report(national))
    report()
    report("issue 11 targets, figures from this run")
    for t in targets:
        report(f"  {t['target']}: {t['figure']} -> {'MET' if t['met'] else 'NOT MET'}")
    report()
    report(f"run time {total:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in run_s.items()) + ")")

    if args.json:
        doc = {
            "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "mode": mode,
            "repeats": st,
            "machine": m,
            "ratio_definition": "reference time / localprofile time (best and median per-call times)",
            "rows": rows,
            "headline": {**inference["checks"]["headline"], "holds": inference["checks"]["headline"]["pass"]},
            "checks_pass": ok,
            "run_s": {**run_s, "total": total},
            "targets": targets,
            "parts": {"engine": engine, "inference": inference, "repeats": repeats, "priority": priority,
                      "outputs": outputs, "render": render, "briefings": briefings, "floor": floor, "build-all": batch,
                      "national": national},
        }
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
