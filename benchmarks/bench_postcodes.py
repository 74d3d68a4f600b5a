#!/usr/bin/env python3
"""A national-size ONS Postcode Directory (ONSPD) read through the real adapter: rows, wall time
and peak memory of the old read route and the new one.

    .venv/bin/python benchmarks/bench_postcodes.py [--rows 2600000] [--layouts quoted,plain] [--json]

The rows are SYNTHETIC. The ONSPD proper is not shipped; the shipped ONS postcode to
OA/LSOA/MSOA/LAD lookup (``data/postcodes/ons_postcode_oa_lsoa_msoa_lad_may22_west_yorkshire.zip``,
88,877 West Yorkshire postcodes, columns ``pcd7 pcd8 pcds dointr doterm usertype oa11cd lsoa11cd
msoa11cd ladcd lsoa11nm msoa11nm ladnm ladnmw``; ONS, OGL v3) is repeated until there are
``--rows`` (default 2,600,000, the size of the national directory), each repeat after the first
with its postcode areas (BD, HD, HX, LS, OL, S, WF) changed to other two-letter areas so that
every postcode is unique. The file has the ONSPD's 53 columns in its order (the February 2023
header: pcd, pcd2, pcds, dointr, doterm, oscty, ..., lat, long, ..., oa21, lsoa21, msoa21).
From the lookup come ``pcd`` and ``pcd2`` (the 7- and 8-character forms, rebuilt from ``pcds``),
``pcds``, ``dointr``, ``doterm``, ``usertype``, ``oslaua``, ``oa11``, ``lsoa11`` and ``msoa11``;
``oseast1m`` and ``osnrth1m`` are the shipped Code-Point Open 2025 coordinates of the postcode
(blank, with ``osgrdind`` 9 and lat/long 99.999999/0.000000 as in the ONSPD, for the postcodes
Code-Point no longer has: mostly terminated ones), ``lat``/``long`` those coordinates in WGS84;
``ctry``, ``rgn`` and ``pfa`` are England, Yorkshire and The Humber and West Yorkshire; every
other column holds the ONS pseudo code E99999999.

Layouts: ``quoted``, as ONS publishes the ONSPD (every text field in double quotes, lat and long
bare: ``"AB1 0AA","AB1  0AA",...,57.101474,-2.242851,...``), and ``plain``, without quotes (as
the shipped lookup is). The file is written into a temporary folder (about 1.5 GB at 2.6 million
rows), never into the repository, and each route loads it in a fresh interpreter, through a
catalog entry as the shipped catalog has it (``layers.ons_postcode_directory.load`` with the
catalog's LayerSpec), so its peak memory (``ru_maxrss``) is its own:

- **old**: the read route before this change, the whole file decoded to text; pandas's parser
  on the text (Arrow's CSV reader on the text re-encoded, for a file without quotes). Run
  against the code before the change itself (commit 35c87d7), the same file took 28.9 s and
  9,334 MB quoted, 13.7 s and 4,113 MB plain: what this emulation gives, within a few percent.
- **new**: the file's ASCII bytes parsed as they are, by Arrow's CSV reader (quoted or not; only
  the columns the adapter uses are kept).

Both must give the same frame (its hash is compared) and record account. Target (issue 11):
peak memory under 4 GB at 2.6 million rows. The exit status is 1 if the new route misses it or
the two routes differ.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOOKUP = ROOT / "data/postcodes/ons_postcode_oa_lsoa_msoa_lad_may22_west_yorkshire.zip"
CODEPOINT = ROOT / "data/postcodes/codepoint_open_2025_west_yorkshire.zip"
ROWS = 2_600_000
TARGET_PEAK_GB = 4.0
LAYOUTS = ("quoted", "plain")
ROUTES = ("old", "new")

# The ONS Postcode Directory's header (the February 2023 edition), in its order.
ONSPD_COLUMNS = (
    "pcd pcd2 pcds dointr doterm oscty ced oslaua osward parish usertype oseast1m osnrth1m osgrdind "
    "oshlthau nhser ctry rgn streg pcon eer teclec ttwa pct itl statsward oa01 casward park lsoa01 "
    "msoa01 ur01ind oac01 oa11 lsoa11 msoa11 wz11 sicbl bua11 buasd11 ru11ind oac11 lat long lep1 "
    "lep2 pfa imd calncv icb oa21 lsoa21 msoa21").split()
FROM_LOOKUP = {"dointr": "dointr", "doterm": "doterm", "usertype": "usertype", "oslaua": "ladcd",
               "oa11": "oa11cd", "lsoa11": "lsoa11cd", "msoa11": "msoa11cd"}


def _zipped_csv(path: Path) -> bytes:
    with zipfile.ZipFile(path) as zf:
        return zf.read(next(n for n in zf.namelist() if n.endswith(".csv")))


def source_rows():
    """The shipped West Yorkshire lookup in the ONSPD's columns, one row per postcode (text)."""
    import numpy as np
    import pandas as pd
    from pyproj import Transformer

    lk = pd.read_csv(io.BytesIO(_zipped_csv(LOOKUP)), dtype=str, keep_default_na=False, encoding="cp1252")
    cp = pd.read_csv(io.BytesIO(_zipped_csv(CODEPOINT)), dtype=str, keep_default_na=False,
                     usecols=["Postcode", "Eastings", "Northings"]).drop_duplicates("Postcode").set_index("Postcode")
    out = pd.DataFrame({c: "E99999999" for c in ONSPD_COLUMNS}, index=lk.index)
    out["pcds"] = lk["pcds"]
    for col, src in FROM_LOOKUP.items():
        out[col] = lk[src]
    out["oseast1m"] = lk["pcds"].map(cp["Eastings"]).fillna("")
    out["osnrth1m"] = lk["pcds"].map(cp["Northings"]).fillna("")
    has = (out["oseast1m"] != "").to_numpy()
    out["osgrdind"] = np.where(has, "1", "9")
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(
        pd.to_numeric(out["oseast1m"]).to_numpy(), pd.to_numeric(out["osnrth1m"]).to_numpy())
    out["lat"] = np.where(has, np.char.mod("%.6f", np.nan_to_num(lat)), "99.999999")
    out["long"] = np.where(has, np.char.mod("%.6f", np.nan_to_num(lon)), "0.000000")
    out["ctry"], out["rgn"], out["pfa"] = "E92000001", "E12000003", "E23000010"
    return out


def _new_areas(original: list[str], repeats: int) -> list[dict[str, str]]:
    """For each repeat, a postcode area for each original one (the originals in the first), no
    two alike and none a West Yorkshire area, so every postcode written is unique."""
    import itertools
    import string

    pool = [a + b for a, b in itertools.product(string.ascii_uppercase, repeat=2) if a + b not in original]
    most = len(pool) // len(original) + 1
    if repeats > most:
        raise SystemExit(f"at most {most} repeats of the lookup's {len(original)} areas")
    it = iter(pool)
    return [{a: a for a in original}] + [{a: next(it) for a in original} for _ in range(repeats - 1)]


def write_onspd(path: Path, rows: int = ROWS, *, quoted: bool = True) -> int:
    """Write ``rows`` SYNTHETIC ONSPD rows (see the module's docstring) to ``path``, ASCII with a
    final newline; returns the number of rows written.

    >>> import tempfile, pandas as pd
    >>> p = Path(tempfile.mkdtemp()) / "onspd.csv"
    >>> write_onspd(p, 100_000)
    100000
    >>> df = pd.read_csv(p, dtype=str)
    >>> df.shape, df["pcds"].is_unique, df.loc[88_877, ["pcd", "pcd2", "pcds"]].tolist()
    ((100000, 53), True, ['AA1 1AA', 'AA1  1AA', 'AA1 1AA'])
    """
    import pandas as pd

    src = source_rows()
    outward, inward = (pd.Series(s) for s in src["pcds"].str.split(" ", n=1, expand=True).T.to_numpy())
    area = outward.str.extract(r"^([A-Z]+)", expand=False)
    district = outward.str.replace(r"^[A-Z]+", "", regex=True)
    q = '"' if quoted else ""
    fields = [src[c] if c in ("lat", "long") else q + src[c] + q for c in ONSPD_COLUMNS[3:]]
    tail = fields[0].str.cat(fields[1:], sep=",")  # the same in every repeat
    written = 0
    with open(path, "w", encoding="ascii", newline="") as f:
        f.write(",".join(ONSPD_COLUMNS) + "\n")
        for areas in _new_areas(sorted(area.unique()), -(-rows // len(src))):
            take = min(len(src), rows - written)
            out = area.map(areas) + district
            line = (q + out.str.ljust(4) + inward + q).str.cat(  # pcd: 7 characters
                [q + out.str.ljust(4) + " " + inward + q,  # pcd2: 8 characters
                 q + out + " " + inward + q, tail], sep=",")  # pcds
            f.write("\n".join(line.iloc[:take]) + "\n")
            written += take
    return written


def write_catalog(folder: Path, csv: Path) -> Path:
    """A catalog with the shipped ``ons_postcodes`` entry, its path the SYNTHETIC file."""
    import yaml

    entry = dict(yaml.safe_load((ROOT / "data_catalog.yaml").read_text())["layers"]["ons_postcodes"])
    entry.update(path=str(csv), synthetic=True,
                 description="SYNTHETIC: the shipped West Yorkshire lookup repeated to national size")
    out = folder / "catalog.yaml"
    out.write_text(yaml.safe_dump({"layers": {"ons_postcodes": entry}}))
    return out


@contextlib.contextmanager
def old_route():
    """``localprofile.validate.read_csv`` as it read before this change: every file decoded to
    text; Arrow's reader only for a text without quotes, pandas's for the rest."""
    from localprofile import validate

    saved = validate._bytes_or_text, validate._parse_plain
    plain = saved[1]
    validate._bytes_or_text = validate._decode
    validate._parse_plain = lambda d, *args: None if '"' in d else plain(d, *args)
    try:
        yield
    finally:
        validate._bytes_or_text, validate._parse_plain = saved


def frame_digest(frame) -> str:
    """A hash of the frame's values, index, column names and dtypes."""
    import hashlib

    import pandas as pd

    h = hashlib.sha256(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    h.update(repr([(c, str(t)) for c, t in frame.dtypes.items()]).encode())
    return h.hexdigest()


def measure(catalog: Path, route: str) -> dict:
    """Load the catalog's ``ons_postcodes`` layer by ``route`` in this process."""
    import localprofile.layers.ons_postcode_directory as adapter
    from localprofile.catalog import load_catalog

    cat = load_catalog(catalog)
    spec, paths = cat.layers["ons_postcodes"], cat.paths("ons_postcodes")
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t, c = time.perf_counter(), time.process_time()
    with old_route() if route == "old" else contextlib.nullcontext():
        data = adapter.load(paths, spec)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    return {"route": route, "rows": len(data.frame), "account": data.account.to_dict(),
            "seconds": wall, "cpu_seconds": cpu, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "after_imports_mb": base, "file_mb": sum(p.stat().st_size for p in paths) / 2**20,
            "digest": frame_digest(data.frame)}


def _child(*args: str) -> dict:
    """This script with ``args`` in a fresh interpreter; its last line of output, as JSON. (This
    process imports no pandas and holds no table: a child's ``ru_maxrss`` starts from its
    parent's resident memory, which would otherwise count in the child's peak.)"""
    cmd = [sys.executable, str(Path(__file__).resolve()), *args]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(rows: int = ROWS, layouts=LAYOUTS, log=lambda msg: None) -> dict:
    """Write each layout's file, load it by each route in a fresh interpreter; the results."""
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_postcodes_") as tmp:
        for layout in layouts:
            csv = Path(tmp) / f"ONSPD_SYNTHETIC_{layout}.csv"
            t = time.perf_counter()
            _child("--write", str(csv), "--rows", str(rows), "--layouts", layout)
            log(f"  {layout}: {rows:,} rows, {csv.stat().st_size / 2**20:,.0f} MB written in {time.perf_counter() - t:.0f} s")
            catalog = write_catalog(Path(tmp), csv)
            by_route = {}
            for route in ROUTES:
                by_route[route] = _child("--child", str(catalog), "--route", route)
                log(f"  {layout}, {route} route: {by_route[route]['seconds']:.1f} s, {by_route[route]['peak_mb']:,.0f} MB")
            csv.unlink()
            old, new = by_route["old"], by_route["new"]
            results.append({"layout": layout, "rows_written": rows, **by_route,
                            "same_frame": old["digest"] == new["digest"],
                            "same_account": old["account"] == new["account"],
                            "new_peak_under_4_gb": new["peak_mb"] / 1024 < TARGET_PEAK_GB})
    ok = all(r["same_frame"] and r["same_account"] and r["new_peak_under_4_gb"]
             and r["new"]["account"]["read"] == rows for r in results)
    return {"layouts": results, "ok": ok,
            "machine": {"python": platform.python_version(), "platform": platform.platform(),
                        "cpus": len(__import__("os").sched_getaffinity(0))}}


def report(res: dict) -> str:
    lines = ["ONS Postcode Directory, SYNTHETIC national size (the shipped West Yorkshire lookup repeated), "
             "read by layers.ons_postcode_directory.load in a fresh interpreter per route", ""]
    head = f"{'layout':8s} {'route':5s} {'rows read':>11s} {'used':>11s} {'file MB':>8s} {'wall s':>7s} {'CPU s':>7s} {'peak MB':>8s}"
    lines.append(head)
    for r in res["layouts"]:
        for route in ROUTES:
            x = r[route]
            lines.append(f"{r['layout']:8s} {route:5s} {x['account']['read']:>11,} {x['account']['used']:>11,} "
                         f"{x['file_mb']:>8,.0f} {x['seconds']:>7.1f} {x['cpu_seconds']:>7.1f} {x['peak_mb']:>8,.0f}")
    lines += ["", f"(after imports, before reading: about {res['layouts'][0]['new']['after_imports_mb']:,.0f} MB)",
              "", f"target: peak memory under {TARGET_PEAK_GB:.0f} GB (new route)"]
    for r in res["layouts"]:
        new, old = r["new"], r["old"]
        lines.append(f"  {r['layout']}: {new['peak_mb'] / 1024:.2f} GB -> {'met' if r['new_peak_under_4_gb'] else 'NOT MET'} "
                     f"(old route {old['peak_mb'] / 1024:.2f} GB); time {old['seconds']:.1f} -> {new['seconds']:.1f} s; "
                     f"same frame and account: {r['same_frame'] and r['same_account']}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=ROWS, help="rows of the SYNTHETIC directory (default 2,600,000)")
    ap.add_argument("--layouts", default=",".join(LAYOUTS), help="comma-separated: quoted, plain")
    ap.add_argument("--json", action="store_true", help="JSON on stdout, the table on stderr")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--route", default="new", choices=ROUTES, help=argparse.SUPPRESS)
    ap.add_argument("--write", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.child is not None:
        print(json.dumps(measure(Path(a.child), a.route)))
        return 0
    if a.write is not None:
        print(json.dumps({"rows": write_onspd(Path(a.write), a.rows, quoted=a.layouts == "quoted")}))
        return 0
    layouts = [x.strip() for x in a.layouts.split(",") if x.strip()]
    if not set(layouts) <= set(LAYOUTS) or a.rows < 1:
        ap.error(f"--layouts takes {', '.join(LAYOUTS)}; --rows at least 1")
    res = run(a.rows, layouts, log=lambda m: print(m, file=sys.stderr))
    text = report(res)
    if a.json:
        print(text, file=sys.stderr)
        print(json.dumps(res, indent=2))
    else:
        print(text)
    return 0 if res["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
