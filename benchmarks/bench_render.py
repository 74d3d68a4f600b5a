"""How long each audience's HTML profile takes to render offline in headless Chromium, and its size.

    .venv/bin/python benchmarks/bench_render.py [--dir DEMO_OUT] [--repeat N]

Builds the Leeds demo (``localprofile demo``) into a temporary folder unless ``--dir`` names one
already built (with force/, partner/ and public/ inside), then opens each audience's index.html
in headless Chromium (Playwright; the browser context offline and every non-file request
aborted) ``N`` times, each in a fresh context (nothing cached), and reads the page's own
navigation timing: from the start of navigation to the end of its load event, by which time
Leaflet has drawn every map (the maps' scripts run before ``load``). A run in which the page
logged an error, asked for the network or drew a map without any path counts as a failure.

Issue 10's targets: at most 5 MB and under 3 s for the partner report. The exit status is 1 when
a page fails or misses a target.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

AUDIENCES = ("force", "partner", "public")
MAX_BYTES = 5_000_000
MAX_SECONDS = 3.0


def _chromium() -> str | None:
    for cand in (os.environ.get("LOCALPROFILE_CHROMIUM"), shutil.which("chromium"),
                 shutil.which("chromium-browser"), shutil.which("google-chrome")):
        if cand:
            return cand
    return None  # Playwright's own Chromium


def build_demo(out: Path) -> Path:
    """The Leeds demo built by the real command into ``out``."""
    subprocess.run([sys.executable, "-m", "localprofile", "demo", "--out", str(out), "-q"], check=True,
                   stdout=subprocess.DEVNULL)
    return out


def measure(path: Path, repeat: int = 3) -> dict:
    """Render times (seconds, from navigation start to the end of the load event) of ``path``
    over ``repeat`` fresh offline contexts, with what went wrong, if anything."""
    from playwright.sync_api import sync_playwright

    times, problems = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        for _ in range(repeat):
            ctx = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
            ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "blob:", "about:"))
                      else (problems.append(f"network: {r.request.url}"), r.abort()))
            page = ctx.new_page()
            page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(f"error: {e}"))
            page.goto(path.resolve().as_uri(), wait_until="load")
            facts = page.evaluate("""() => {
                const nav = performance.getEntriesByType('navigation')[0];
                const maps = [...document.querySelectorAll('.folium-map.leaflet-container')];
                return {ms: nav.loadEventEnd - nav.startTime, maps: maps.length,
                        drawn: maps.filter(m => m.querySelector('path')).length};
            }""")
            if facts["drawn"] != facts["maps"] or not facts["maps"]:
                problems.append(f"{facts['maps'] - facts['drawn']} of {facts['maps']} maps drew nothing")
            times.append(facts["ms"] / 1000)
            ctx.close()
        browser.close()
    return {"best_s": min(times), "median_s": statistics.median(times), "runs": len(times), "maps": facts["maps"],
            "problems": sorted(set(problems))}


def run(demo_dir: Path | None = None, repeat: int = 3, progress=None) -> dict:
    """Size and offline render time of each audience's report (the demo built if not given)."""
    tmp = None
    if demo_dir is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-render-")
        if progress:
            progress("building the Leeds demo ...")
        demo_dir = build_demo(Path(tmp.name) / "leeds")
    rows = []
    try:
        for a in AUDIENCES:
            html = demo_dir / a / "index.html"
            if progress:
                progress(f"rendering {a} ({repeat} runs) ...")
            r = measure(html, repeat)
            size = html.stat().st_size
            rows.append({"audience": a, "bytes": size, **r,
                         "pass": not r["problems"] and size <= MAX_BYTES and r["median_s"] < MAX_SECONDS})
    finally:
        if tmp:
            tmp.cleanup()
    return {"rows": rows, "max_bytes": MAX_BYTES, "max_seconds": MAX_SECONDS, "pass": all(r["pass"] for r in rows)}


def table_lines(result: dict) -> list[str]:
    out = ["| audience | HTML size | maps | render, best | render, median | within 5 MB and 3 s |",
           "|---|---:|---:|---:|---:|---|"]
    for r in result["rows"]:
        ok = "yes" if r["pass"] else "NO" + (f" ({'; '.join(r['problems'])})" if r["problems"] else "")
        out.append(f"| {r['audience']} | {r['bytes'] / 1e6:.2f} MB | {r['maps']} | {r['best_s']:.2f} s | "
                   f"{r['median_s']:.2f} s | {ok} |")
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=Path, default=None, help="a built demo (force/, partner/, public/ inside)")
    ap.add_argument("--repeat", type=int, default=3, help="fresh page loads per audience (default 3)")
    ap.add_argument("--json", action="store_true", help="also write the results as JSON to stdout")
    args = ap.parse_args(argv)
    result = run(args.dir, args.repeat, lambda m: print(f"  {m}", file=sys.stderr, flush=True))
    print("\n".join(table_lines(result)), file=sys.stderr if args.json else sys.stdout)
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    return 0 if result["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
