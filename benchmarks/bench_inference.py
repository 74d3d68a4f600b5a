#!/usr/bin/env python3
"""Time localprofile's permutation inference (Gi* on a grid, local Moran's I) against esda.

Runs on the real shipped West Yorkshire data, offline, in one process on one machine, and prints
speed ratios (reference time / our time; above 1 means ours is faster) as a table. With ``--json``
the same numbers go to stdout as JSON and the report goes to stderr.

    .venv/bin/python benchmarks/bench_inference.py
    .venv/bin/python benchmarks/bench_inference.py --json > bench_inference.json

Rows:

1. Permutation Gi* on the whole-force West Yorkshire 250 m grid (``make_grid(union of the 1,388
   LSOAs, 250, 250)``, 33,489 active cells; every located crime binned, as in bench_engine.py):
   ``localprofile.engine.permutation.gi_star_permutation(counts, active, 9999)`` vs
   ``esda.getisord.G_Local(y, w, transform="B", star=True, permutations=999)`` with libpysal
   Queen contiguity over the active cells (built beforehand, not timed), with ``n_jobs=1`` and
   esda's default ``n_jobs=-1``. Ours also with 999 permutations (like for like) and with
   ``share_draws=False`` (an independent set of draws for every cell).
2. Local Moran's I on the all-crime rates (per 1,000 residents, Census 2011) of the West
   Yorkshire LSOAs: ``local_moran(y, queen_weights(polygons), P)`` vs ``esda.moran.Moran_Local(y,
   w, transformation="r", permutations=P)`` with P = 999 and 9,999, esda with ``n_jobs=1`` (its
   default) and ``-1``. Weights are built beforehand; their build is timed on its own row.

Each measurement is one warm-up call (numba compilation, if esda has numba, happens there) and
``--repeat`` timed calls (default 3), garbage collector off; ratios use the best time. Whether
esda runs its numba-compiled kernels (numba importable) or their plain-Python fallbacks is
reported. p-values are checked against esda within Monte Carlo error; the exit status is 1 if a
check fails or the headline requirement (ours with 9,999 permutations faster than esda with 999
on the whole-force grid) is not met.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
# one timing method and report format for all engine benchmarks
from bench_engine import _version, fmt_time, machine_facts, measure, row, script_args

WY_CELL_M = 250.0
P_HEADLINE = 9999
P_REF = 999


def load_west_yorkshire(catalog_path: Path):
    """The West Yorkshire 250 m grid with every located crime, and the LSOAs with all-crime
    rates per 1,000 residents (LSOAs without a population figure dropped)."""
    import pandas as pd
    import shapely
    from localprofile.layers import ADAPTERS

    from localprofile.catalog import load_catalog
    from localprofile.engine.aggregate import count_by_lsoa, rate_per_1000
    from localprofile.engine.grid import make_grid

    cat = load_catalog(catalog_path)

    def load(name):
        return ADAPTERS[cat.layers[name].adapter].load(cat.paths(name), cat.layers[name]).frame

    roles = cat.roles()
    crimes = load(roles["crimes"])
    lsoas = load(roles["boundaries"]).reset_index(drop=True)
    pop = load(roles["population"]).set_index("lsoa_code")["population"]
    located = crimes.geometry.notna().to_numpy()
    xy = shapely.get_coordinates(crimes.geometry.to_numpy()[located])
    grid = make_grid(shapely.union_all(lsoas.geometry.to_numpy()), WY_CELL_M, WY_CELL_M)
    counts = grid.bin(xy[:, 0], xy[:, 1])
    rate = rate_per_1000(count_by_lsoa(crimes["lsoa_code"], pd.Index(lsoas["lsoa_code"])), pop)
    rate = rate.to_numpy()
    keep = np.isfinite(rate)
    return grid, counts, lsoas[keep].reset_index(drop=True), rate[keep], int((~keep).sum())


def grid_queen(grid):
    import geopandas as gpd
    from libpysal.weights import Queen

    cells = gpd.GeoDataFrame(geometry=grid.cells(grid.active), crs=27700)
    w = Queen.from_dataframe(cells, use_index=False, silence_warnings=True)
    _ = w.sparse  # libpysal builds it lazily; count it as construction
    return w


def mc_check(ours, ref, p_ours, p_ref):
    """Share of areas whose pseudo p-values differ by more than 3 Monte Carlo standard errors
    (plus one step of each p's granularity), and the largest gap in such errors."""
    ours, ref = np.asarray(ours, float), np.asarray(ref, float)
    p = (ours + ref) / 2
    se = np.sqrt(p * (1 - p) * (1 / p_ours + 1 / p_ref)) + 1 / (p_ours + 1) + 1 / (p_ref + 1)
    gap = np.abs(ours - ref) / se
    share, worst = float((gap > 3).mean()), float(gap.max())
    return {
        "areas": int(ours.size),
        "share_beyond_3_se": share,
        "max_gap_se": worst,
        "mean_p_ours": float(ours.mean()),
        "mean_p_esda": float(ref.mean()),
        "pass": bool(share <= 0.01 and worst <= 5),
    }


def _ratio(r):
    return "-" if r is None else (f"{r:,.0f}x" if r >= 10 else f"{r:.1f}x")


def table(rows) -> str:
    """A Markdown table: what ran on each side, best times, ratios."""
    head = ["benchmark", "size", "ours", "our time", "reference", "reference time", "ratio best", "ratio median"]
    body = [
        [r["benchmark"], r["size"], r["ours"] if r["ours_time"] else "-",
         fmt_time(r["ours_time"]["best_s"]) if r["ours_time"] else "-", r["reference"],
         fmt_time(r["reference_time"]["best_s"]), _ratio(r["ratio_best"]), _ratio(r["ratio_median"])]
        for r in rows
    ]
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]
    right = {3, 5, 6, 7}

    def line(cells):
        return "| " + " | ".join(c.rjust(w) if i in right else c.ljust(w)
                                 for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if i in right else ("-" * (w + 2)) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(head), sep, *(line(b) for b in body)])


def quiet(fn):
    def call():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # esda's DeprecationWarning about `alternative`
            return fn()

    return call


def run(catalog=None, repeat: int = 3, log=lambda msg="": None, independent_repeat: int | None = None) -> dict:
    """Run every inference benchmark; progress goes to ``log``. Returns the JSON document of
    ``--json`` (rows under ``benchmarks``, checks and the headline under ``checks``) and, under
    ``pass``, whether every check and the headline passed. ``independent_repeat`` is the repeat
    count of the slow ``share_draws=False`` row (default: ``repeat``, at most 2)."""
    repeat = max(1, repeat)
    if independent_repeat is None:
        independent_repeat = min(repeat, 2)
    independent_repeat = max(1, independent_repeat)

    from esda.getisord import G_Local
    from esda.moran import Moran_Local

    from localprofile.demo import demo_catalog_path
    from localprofile.engine.lisa import local_moran, queen_weights
    from localprofile.engine.permutation import gi_star_permutation

    t_start = time.perf_counter()
    catalog = catalog or demo_catalog_path()
    facts = machine_facts()
    try:
        import numba

        facts["numba"] = numba.__version__
    except ImportError:
        facts["numba"] = "not installed"
    facts["joblib"] = _version("joblib")
    esda_mode = "numba-compiled" if facts["numba"] != "not installed" else "plain Python (no numba)"
    log("localprofile permutation-inference benchmark")
    log(f"machine: {facts['cpu_count']} CPUs ({facts['cpus_usable']} usable), {facts['cpu_model']}; {facts['platform']}")
    log(f"python {facts['python']}; numpy {facts['numpy']}, scipy {facts['scipy']}, esda {facts['esda']}, "
        f"libpysal {facts['libpysal']}, numba {facts['numba']}, joblib {facts['joblib']}")
    log(f"esda's conditional randomisation runs {esda_mode}")
    log(f"timings: best of {repeat} repeats after a warm-up call, garbage collector off, per call")
    log()
    log("loading data (not timed) ...")
    grid, counts, lsoas, rate, dropped = load_west_yorkshire(catalog)
    act = grid.active
    n_cells = int(act.sum())
    y_cells = counts[act].astype(float)
    log(f"  West Yorkshire grid: {grid.shape[0]}x{grid.shape[1]} cells of {WY_CELL_M:.0f} m, {n_cells:,} active, "
        f"{int(counts.sum()):,} crimes; {len(lsoas):,} LSOAs with a rate ({dropped} without a population dropped)")
    log("  building libpysal weights for esda (timed on their own rows) ...")
    t_wg = measure(lambda: grid_queen(grid), repeat=1)
    w_grid = grid_queen(grid)

    rows: list[dict] = []
    checks: dict = {}
    gsize = f"{n_cells:,} active cells"

    # ---------------- Gi* permutation on the whole-force grid
    log(f"  Gi*: ours, {P_HEADLINE:,} permutations ...")
    t_ours = measure(lambda: gi_star_permutation(counts, act, P_HEADLINE, seed=0), repeat)
    t_ours_ref = measure(lambda: gi_star_permutation(counts, act, P_REF, seed=0), repeat)
    log(f"  Gi*: ours, {P_HEADLINE:,} permutations, independent draws per cell ...")
    t_ours_ind = measure(lambda: gi_star_permutation(counts, act, P_HEADLINE, seed=0, share_draws=False),
                         independent_repeat)
    esda_gi = {}
    for nj in (1, -1):
        log(f"  Gi*: esda G_Local, {P_REF} permutations, n_jobs={nj} ...")
        try:
            esda_gi[nj] = measure(quiet(lambda nj=nj: G_Local(y_cells, w_grid, transform="B", star=True,
                                                               permutations=P_REF, seed=1, n_jobs=nj)), repeat)
        except Exception as exc:  # noqa: BLE001 -- n_jobs=-1 needs joblib's process pool; report and go on
            log(f"    failed: {type(exc).__name__}: {exc}")
            esda_gi[nj] = None
    title = f"Gi* permutation, West Yorkshire {WY_CELL_M:.0f} m"
    for nj, t in esda_gi.items():
        if t is None:
            continue
        rows.append(row(f"gi_perm_{P_HEADLINE}_vs_esda_{P_REF}_njobs{nj}", title, gsize, t_ours,
                        f"esda G_Local, {P_REF} perms, n_jobs={nj}", t,
                        ours_name=f"localprofile, {P_HEADLINE:,} perms",
                        note="headline: ours with 10x the permutations"))
    for nj, t in esda_gi.items():
        if t is None:
            continue
        rows.append(row(f"gi_perm_{P_REF}_vs_esda_{P_REF}_njobs{nj}", title, gsize, t_ours_ref,
                        f"esda G_Local, {P_REF} perms, n_jobs={nj}", t,
                        ours_name=f"localprofile, {P_REF:,} perms", note="like for like"))
    if esda_gi.get(1):
        rows.append(row(f"gi_perm_{P_HEADLINE}_independent_vs_esda_{P_REF}", title, gsize, t_ours_ind,
                        f"esda G_Local, {P_REF} perms, n_jobs=1", esda_gi[1],
                        ours_name=f"localprofile, {P_HEADLINE:,} perms, share_draws=False",
                        note="every cell its own draws"))
    rows.append(row("gi_weights", title, gsize, None, "libpysal Queen weights build (esda input)", t_wg,
                    note="reference time only; ours needs no weights object"))

    res = gi_star_permutation(counts, act, P_HEADLINE, seed=0)
    ref = quiet(lambda: G_Local(y_cells, w_grid, transform="B", star=True, permutations=P_REF, seed=1, n_jobs=1))()
    checks["gi_star_p_sim"] = {"grid": title, "permutations_ours": P_HEADLINE, "permutations_esda": P_REF,
                               **mc_check(res.p_sim[act], ref.p_sim, P_HEADLINE, P_REF),
                               "draw_sets": res.choices[0].value if res.choices else None}

    # ---------------- local Moran's I on the LSOAs
    lsize = f"{len(lsoas):,} LSOAs"
    log("  LISA: weights ...")
    t_qw = measure(lambda: queen_weights(lsoas.geometry), repeat)

    def libpysal_queen():
        from libpysal.weights import Queen

        w = Queen.from_dataframe(lsoas, use_index=False, silence_warnings=True)
        _ = w.sparse
        return w

    t_qw_ref = measure(libpysal_queen, repeat)
    W = queen_weights(lsoas.geometry)
    w_l = libpysal_queen()
    rows.append(row("lisa_weights", "queen weights, West Yorkshire LSOAs", lsize, t_qw,
                    "libpysal Queen.from_dataframe", t_qw_ref))
    same_sets = all(set(W.indices[W.indptr[i]:W.indptr[i + 1]].tolist()) == set(w_l.neighbors[i])
                    for i in range(len(lsoas)))
    for P in (P_REF, P_HEADLINE):
        log(f"  LISA: ours / esda, {P:,} permutations ...")
        t_l = measure(lambda P=P: local_moran(rate, W, P, seed=0), repeat)
        for nj in (1, -1):
            try:
                t_e = measure(quiet(lambda P=P, nj=nj: Moran_Local(rate, w_l, transformation="r", permutations=P,
                                                                   seed=1, n_jobs=nj)), repeat)
            except Exception as exc:  # noqa: BLE001 -- as above
                log(f"    esda n_jobs={nj} failed: {type(exc).__name__}: {exc}")
                continue
            rows.append(row(f"lisa_{P}_njobs{nj}", f"local Moran's I, {P:,} perms", lsize, t_l,
                            f"esda Moran_Local, {P:,} perms, n_jobs={nj}", t_e,
                            ours_name=f"localprofile, {P:,} perms"))
    lm = local_moran(rate, W, P_HEADLINE, seed=0, adjust="none", p_value="folded")
    lref = quiet(lambda: Moran_Local(rate, w_l, transformation="r", permutations=P_HEADLINE, seed=1))()
    checks["lisa"] = {
        "lsoas": len(lsoas),
        "queen_same_neighbour_sets_as_libpysal": bool(same_sets),
        "max_abs_Is_diff": float(np.max(np.abs(lm.Is - lref.Is))),
        "quadrants_equal": bool(np.array_equal(lm.q, lref.q)),
        "p_sim": mc_check(lm.p_sim, lref.p_sim, P_HEADLINE, P_HEADLINE),
    }
    checks["lisa"]["pass"] = bool(same_sets and checks["lisa"]["max_abs_Is_diff"] <= 1e-10
                                  and checks["lisa"]["quadrants_equal"] and checks["lisa"]["p_sim"]["pass"])
    total = time.perf_counter() - t_start

    headline = {nj: (t.best, t_ours.best, t_ours.best < t.best) for nj, t in esda_gi.items() if t is not None}
    checks["headline"] = {
        "requirement": f"permutation Gi* with {P_HEADLINE:,} permutations on a whole-force 250 m grid is faster "
                       f"than esda with {P_REF}",
        "ours_s": t_ours.best,
        "esda_s_by_n_jobs": {str(nj): b for nj, (b, _, _) in headline.items()},
        "pass": bool(headline) and all(ok for _, _, ok in headline.values()),
    }
    return {
        "generated": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": facts,
        "esda_mode": esda_mode,
        "catalog": str(catalog),
        "repeat": repeat,
        "independent_draws_repeat": independent_repeat,
        "ratio_definition": "reference time / localprofile time (best and median per-call times)",
        "benchmarks": rows,
        "checks": checks,
        "pass": bool(checks["gi_star_p_sim"]["pass"] and checks["lisa"]["pass"] and checks["headline"]["pass"]),
        "total_run_s": total,
    }


def main(argv=None) -> int:
    args, log = script_args(__doc__, 3, argv)

    doc = run(args.catalog, args.repeat, log)
    rows, checks, total = doc["benchmarks"], doc["checks"], doc["total_run_s"]

    log()
    log("speed ratio = reference time / our time (above 1: ours is faster); times are best per call")
    log(table(rows))
    log()
    log("checks")
    c = checks["gi_star_p_sim"]
    log(f"  Gi* p_sim, ours ({P_HEADLINE:,}) vs esda ({P_REF}) over {c['areas']:,} cells: "
        f"{c['share_beyond_3_se']:.2%} beyond 3 Monte Carlo SE, largest gap {c['max_gap_se']:.2f} SE, "
        f"mean p {c['mean_p_ours']:.4f} vs {c['mean_p_esda']:.4f} -> {'PASS' if c['pass'] else 'FAIL'}; "
        f"{c['draw_sets']} sets of draws shared by cells with the same count and neighbour count")
    c = checks["lisa"]
    log(f"  LISA over {c['lsoas']:,} LSOAs: queen neighbour sets equal libpysal's: {c['queen_same_neighbour_sets_as_libpysal']}; "
        f"max |Is diff| {c['max_abs_Is_diff']:.1e}; quadrants equal: {c['quadrants_equal']}; p_sim "
        f"{c['p_sim']['share_beyond_3_se']:.2%} beyond 3 SE, largest gap {c['p_sim']['max_gap_se']:.2f} SE "
        f"-> {'PASS' if c['pass'] else 'FAIL'}")
    h = checks["headline"]
    esda_txt = ", ".join(f"n_jobs={nj}: {fmt_time(b)}" for nj, b in h["esda_s_by_n_jobs"].items())
    log(f"  headline: ours {fmt_time(h['ours_s'])} with {P_HEADLINE:,} permutations vs esda {esda_txt} with "
        f"{P_REF} -> {'PASS' if h['pass'] else 'FAIL'}")
    log(f"total run time {total:.1f} s")

    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0 if doc["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
