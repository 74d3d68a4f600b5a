"""How long the printed PCSO briefing sheets take: per sheet and for a whole district, per audience.

    .venv/bin/python benchmarks/bench_briefings.py [--district Leeds] [--sheets N]

For the force and partner audiences (public outputs have no sheets), the Leeds profile is built
once (not timed), then :func:`localprofile.render.briefings.write_briefings` writes every
neighbourhood's sheet (107 MSOAs in Leeds) into a temporary folder, timed as one call. The
report gives the district's total, the time per sheet (total / sheets), the pages and the size
of the sheets. ``--sheets N`` writes only the first N neighbourhoods (a quick run).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

from localprofile.build import build_profile
from localprofile.demo import demo_catalog_path

AUDIENCES = ("force", "partner")


def run(district: str = "Leeds", sheets: int | None = None, progress=None) -> dict:
    """Time the briefing sheets of ``district`` per audience (``sheets``: only the first N)."""
    import pypdf

    from localprofile.render.briefings import write_briefings

    out = {"district": district, "audiences": {}}
    for audience in AUDIENCES:
        if progress:
            progress(f"building the {district} profile for {audience} (not timed) ...")
        profile = build_profile(demo_catalog_path(), district, audience=audience)
        codes = profile.briefing.codes[:sheets] if sheets else None
        with tempfile.TemporaryDirectory() as tmp:
            if progress:
                progress(f"writing {len(codes or profile.briefing.codes)} {audience} sheets ...")
            t = time.perf_counter()
            written = write_briefings(profile, tmp, codes)
            total = time.perf_counter() - t
            pdfs = [p for k, p in written.items() if k.endswith(".pdf")]
            pages = sum(len(pypdf.PdfReader(p).pages) for p in pdfs)
            size = sum(p.stat().st_size for p in pdfs)
        out["audiences"][audience] = {
            "sheets": len(pdfs), "total_s": total, "per_sheet_s": total / len(pdfs),
            "pages": pages, "bytes": size, "unit": profile.briefing.unit,
        }
    return out


def table_lines(result: dict) -> list[str]:
    lines = ["| audience | sheets | pages | size | district total | per sheet |",
             "|----------|-------:|------:|-----:|---------------:|----------:|"]
    for audience, r in result["audiences"].items():
        lines.append(f"| {audience} | {r['sheets']} {r['unit']}s | {r['pages']} | {r['bytes'] / 1e6:.1f} MB | "
                     f"{r['total_s']:.1f} s | {r['per_sheet_s']:.2f} s |")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--district", default="Leeds")
    ap.add_argument("--sheets", type=int, default=None, help="only the first N neighbourhoods")
    ap.add_argument("--json", action="store_true", help="JSON on stdout")
    args = ap.parse_args(argv)
    result = run(args.district, args.sheets, lambda m: print(f"  {m}", file=sys.stderr, flush=True))
    if args.json:
        json.dump(result, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"PCSO briefing sheets, {result['district']} (WeasyPrint + matplotlib, one process)")
        for line in table_lines(result):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
