"""Build time and output sizes: the Leeds profile built and written for each audience.

    .venv/bin/python benchmarks/bench_outputs.py [--json] [--district Leeds] [--catalog PATH]

For force, partner and public in turn (one process, as ``localprofile demo`` does), the profile is
built with :func:`localprofile.build.build_profile` and written with
:func:`localprofile.render.write_outputs` into a temporary folder. The build's own progress
messages time it stage by stage: a stage lasts from its message to the next one ("reading
<layer>" messages are summed as "reading layers", "theme <slug>" as "themes", "context layer
<name>" as "context layers"; the last stage of the build runs from "risk terrain" to the end,
so it also holds the dual KDEs, backtests, theme scores, nominals and the assembly). Layers
already read in the process come from the in-process layer cache (:mod:`localprofile.loading`),
as in ``demo``: run on its own, the first audience's build reads them from disk and the later
ones do not; inside run_all.py, the earlier benchmarks have read them already.

Then the size of each output file: index.html, results.gpkg, summary.json, and the GeoTIFFs in
total (with their number). Issue 10 asks for the partner HTML of Leeds to be at most 5 MB; the
report says whether it is.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from localprofile.build import build_profile
from localprofile.catalog import AUDIENCES
from localprofile.demo import demo_catalog_path
from localprofile.render import write_outputs

PARTNER_HTML_LIMIT = 5 * 1024 * 1024  # bytes: issue 10, acceptance 4


def _group(message: str) -> str:
    for prefix, group in (("reading ", "reading layers"), ("theme ", "themes"),
                          ("context layer ", "context layers")):
        if message.startswith(prefix):
            return group
    if message == "writing index.html":  # write_outputs writes summary.json next, unannounced
        return "writing index.html and summary.json"
    if message == "risk terrain":
        return "risk terrain, theme scores, nominals, assembly"
    return message


class StageClock:
    """A progress callback that times each stage from its message to the next."""

    def __init__(self, first: str) -> None:
        self.stages: dict[str, float] = {}
        self._current, self._since = first, time.perf_counter()

    def __call__(self, message: str) -> None:
        now = time.perf_counter()
        key = _group(self._current)
        self.stages[key] = self.stages.get(key, 0.0) + now - self._since
        self._current, self._since = message, now

    def stop(self) -> None:
        self("(done)")


def run(catalog: Path | None = None, district: str = "Leeds") -> dict:
    """Build ``district`` for each audience; times per stage and the size of each output."""
    catalog = catalog or demo_catalog_path()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for audience in AUDIENCES:
            t0 = time.perf_counter()
            build_clock = StageClock("loading catalog")
            profile = build_profile(catalog, district, audience=audience, progress=build_clock)
            build_clock.stop()
            t1 = time.perf_counter()
            write_clock = StageClock("writing (start)")
            written = write_outputs(profile, Path(tmp) / audience, progress=write_clock)
            write_clock.stop()
            t2 = time.perf_counter()
            sizes = {name: path.stat().st_size for name, path in written.items()}
            tifs = {n: s for n, s in sizes.items() if n.endswith(".tif")}
            results.append({
                "audience": audience,
                "marking": profile.marking,
                "build_s": t1 - t0,
                "write_s": t2 - t1,
                "build_stages_s": build_clock.stages,
                "write_stages_s": {k: v for k, v in write_clock.stages.items() if k != "writing (start)"},
                "bytes": {
                    "index.html": sizes["index.html"],
                    "results.gpkg": sizes["results.gpkg"],
                    "summary.json": sizes["summary.json"],
                    "GeoTIFFs": sum(tifs.values()),
                },
                "geotiffs": len(tifs),
                "files": len(sizes),
            })
    partner = next((r for r in results if r["audience"] == "partner"), None)
    return {
        "district": district,
        "catalog": str(catalog),
        "audiences": results,
        "partner_html_limit_bytes": PARTNER_HTML_LIMIT,
        "partner_html_within_limit": None if partner is None else partner["bytes"]["index.html"] <= PARTNER_HTML_LIMIT,
    }


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.2f} MB"


def table_lines(doc: dict) -> list[str]:
    """The report as lines: one table of stage times, one of sizes, and the partner HTML check."""
    rows = doc["audiences"]
    names = list(dict.fromkeys(k for r in rows for k in r["build_stages_s"]))
    wnames = list(dict.fromkeys(k for r in rows for k in r["write_stages_s"]))
    head = ["stage", *(r["audience"] for r in rows)]
    body = [[f"build: {n}", *(f"{r['build_stages_s'].get(n, 0):.2f} s" for r in rows)] for n in names]
    body.append(["build, total", *(f"{r['build_s']:.2f} s" for r in rows)])
    body += [[f"write: {n}", *(f"{r['write_stages_s'].get(n, 0):.2f} s" for r in rows)] for n in wnames]
    body.append(["write, total", *(f"{r['write_s']:.2f} s" for r in rows)])
    body.append(["build and write", *(f"{r['build_s'] + r['write_s']:.2f} s" for r in rows)])
    body.append(["", *("" for _ in rows)])
    for f in ("index.html", "results.gpkg", "summary.json"):
        body.append([f"size: {f}", *(_mb(r["bytes"][f]) for r in rows)])
    body.append(["size: GeoTIFFs (total)", *(f"{_mb(r['bytes']['GeoTIFFs'])} ({r['geotiffs']} files)" for r in rows)])
    body.append(["files written", *(str(r["files"]) for r in rows)])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(head)]

    def line(cells):
        return "| " + " | ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))) + " |"

    sep = "|" + "|".join("-" * (w + 2) if i == 0 else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    out = [line(head), sep, *(line(b) for b in body if any(b))]
    ok = doc["partner_html_within_limit"]
    if ok is not None:
        size = next(r["bytes"]["index.html"] for r in rows if r["audience"] == "partner")
        out.append(f"partner index.html {_mb(size)} ({size:,} bytes): "
                   f"{'within' if ok else 'OVER'} the {_mb(doc['partner_html_limit_bytes'])} limit")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true", help="write results as JSON to stdout")
    ap.add_argument("--catalog", type=Path, default=None, help="catalog (default: the shipped demo catalog)")
    ap.add_argument("--district", default="Leeds")
    args = ap.parse_args(argv)
    doc = run(args.catalog, args.district)
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"{doc['district']}: build time and output sizes per audience ({doc['catalog']})")
        for line in table_lines(doc):
            print(line)
    return 0 if doc["partner_html_within_limit"] in (True, None) else 1


if __name__ == "__main__":
    sys.exit(main())
