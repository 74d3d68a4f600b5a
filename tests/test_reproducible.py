"""Reproducible builds: two demos of the same inputs write the same bytes, for every audience.

The first demo is the session's (``localprofile demo --out DIR`` in its own process); the second
runs in this process, in another folder, with the default ``--out``: so neither the output
folder, nor Python's hash seed, nor the clock may reach an output. Where files differ, the
message says what differs (the first differing line of a text; a GeoPackage's layers, rows and
metadata; a GeoTIFF's tags and pixels).
"""

from __future__ import annotations

import calendar
import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio

from localprofile.errors import InputError
from localprofile.reproducible import generation_date

from conftest import AUDIENCES, CATALOG, read_police_rows, run_cli


@pytest.fixture(scope="module")
def second_demo(tmp_path_factory) -> Path:
    """The demo again: in this process, in another folder, ``--out`` left to its default."""
    where = tmp_path_factory.mktemp("second-demo")
    res = run_cli("demo", "--quiet", cwd=where)
    assert res.returncode == 0, res.stderr
    root = where / "out" / "leeds-demo"
    assert res.stdout.split() == [str((root / a / "index.html").resolve()) for a in AUDIENCES]
    return root


def files(root: Path) -> list[str]:
    """Every file below ``root`` (hidden ones too), relative to it."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def test_the_two_demos_write_the_same_files(demo_root, second_demo):
    assert files(demo_root) == files(second_demo)
    for a in AUDIENCES:
        assert {"index.html", "summary.json", "results.gpkg", "kde_all_crime.tif"} <= set(files(demo_root / a))


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_file_is_identical_byte_for_byte(demo_root, second_demo, audience):
    one, two = demo_root / audience, second_demo / audience
    differences = [difference(one / name, two / name) for name in files(one)
                   if (one / name).read_bytes() != (two / name).read_bytes()]
    assert not differences, f"{audience}: " + "\n".join(differences)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_output_names_its_own_folder(demo_root, second_demo, audience):
    for root in (demo_root, second_demo):
        folder = root / audience
        for name in files(folder):
            data = (folder / name).read_bytes()
            for leak in {str(folder), str(folder.resolve()), str(root), str(root.resolve())}:
                assert leak.encode() not in data, f"{folder / name} holds {leak!r}"


def difference(a: Path, b: Path) -> str:
    """What differs between two files, in words."""
    if a.suffix == ".gpkg":
        return f"{a.name}: " + "; ".join(gpkg_differences(a, b) or ["bytes differ, layers and metadata the same"])
    if a.suffix == ".tif":
        return f"{a.name}: " + "; ".join(tiff_differences(a, b) or ["bytes differ, tags and pixels the same"])
    la, lb = a.read_text(encoding="utf-8").splitlines(), b.read_text(encoding="utf-8").splitlines()
    for i, (x, y) in enumerate(zip(la, lb), 1):
        if x != y:
            at = next(j for j, (p, q) in enumerate(zip(x, y)) if p != q) if x[:len(y)] != y[:len(x)] else min(len(x), len(y))
            return f"{a.name}: line {i} differs at column {at + 1}: {x[max(0, at - 40):at + 40]!r} vs {y[max(0, at - 40):at + 40]!r}"
    return f"{a.name}: {len(la)} lines vs {len(lb)}"


def gpkg_differences(a: Path, b: Path) -> list[str]:
    out = []
    layers_a, layers_b = (pyogrio.list_layers(p).tolist() for p in (a, b))
    if layers_a != layers_b:
        out.append(f"layers {layers_a} vs {layers_b}")
    for name, _ in layers_a:
        if [name, _] not in layers_b:
            continue
        fa, fb = (pyogrio.read_dataframe(p, layer=name) for p in (a, b))
        try:
            pd.testing.assert_frame_equal(pd.DataFrame(fa), pd.DataFrame(fb))
        except AssertionError as exc:
            out.append(f"layer {name}: {' '.join(str(exc).split())[:300]}")
        ia, ib = (pyogrio.read_info(p, layer=name) for p in (a, b))
        if ia.get("layer_metadata") != ib.get("layer_metadata"):
            out.append(f"layer {name} metadata {ia.get('layer_metadata')} vs {ib.get('layer_metadata')}")
    for table in ("gpkg_contents", "gpkg_geometry_columns", "gpkg_spatial_ref_sys", "gpkg_extensions",
                  "gpkg_ogr_contents"):
        ta, tb = (_table(p, table) for p in (a, b))
        if ta != tb:
            rows = [(x, y) for x, y in zip(ta, tb) if x != y][:2]
            out.append(f"{table}: {rows or (len(ta), len(tb))}")
    return out


def _table(path: Path, table: str) -> list[tuple]:
    with sqlite3.connect(path) as con:
        if not con.execute("select 1 from sqlite_master where name = ?", (table,)).fetchone():
            return []
        return sorted(con.execute(f"select * from {table}").fetchall(), key=repr)


def tiff_differences(a: Path, b: Path) -> list[str]:
    out = []
    with rasterio.open(a) as x, rasterio.open(b) as y:
        for what, va, vb in (
            ("tags", x.tags(), y.tags()),
            ("band tags", x.tags(1), y.tags(1)),
            ("TIFF tags", x.tags(ns="TIFF") if "TIFF" in x.tag_namespaces() else {},
             y.tags(ns="TIFF") if "TIFF" in y.tag_namespaces() else {}),
            ("profile", dict(x.profile), dict(y.profile)),
            ("band description", x.descriptions, y.descriptions),
        ):
            if va != vb:
                out.append(f"{what} {va} vs {vb}")
        pa, pb = x.read(1), y.read(1)
        if pa.shape != pb.shape or not np.array_equal(pa, pb, equal_nan=True):
            n = int((~((pa == pb) | (np.isnan(pa) & np.isnan(pb)))).sum()) if pa.shape == pb.shape else "all"
            out.append(f"pixels: {n} differ")
    return out


def test_the_generation_date_follows_the_data(demo_root):
    """Without SOURCE_DATE_EPOCH, the date is the last day of the latest month of crimes loaded
    (recounted here from the police.uk files); with it, that instant (as the session's demo ran)."""
    latest = max(r["Month"] for r in read_police_rows())
    y, m = map(int, latest.split("-"))
    expected = f"{latest}-{calendar.monthrange(y, m)[1]:02d}"
    assert expected == "2017-07-31"
    stamp = f"{expected}T00:00:00.000Z"
    if os.environ.get("SOURCE_DATE_EPOCH"):  # the session's demo saw it: then it rules
        when = datetime.fromtimestamp(int(os.environ["SOURCE_DATE_EPOCH"]), timezone.utc)
        expected, stamp = when.strftime("%Y-%m-%d %H:%M UTC"), when.strftime("%Y-%m-%dT%H:%M:00.000Z")
    for a in AUDIENCES:
        summary = json.loads((demo_root / a / "summary.json").read_text(encoding="utf-8"))
        assert summary["generated"] == expected
        choice = next(c for c in summary["choices"] if c["what"] == "generation date")
        assert choice["value"] == expected and choice["why"]
        assert f"Generated {expected} by localprofile" in (demo_root / a / "index.html").read_text(encoding="utf-8")
        assert {r[0] for r in _rows(demo_root / a / "results.gpkg", "select last_change from gpkg_contents")} == {stamp}


def _rows(path: Path, sql: str) -> list[tuple]:
    with sqlite3.connect(path) as con:
        return con.execute(sql).fetchall()


def test_the_generation_date_follows_source_date_epoch(tmp_path, monkeypatch):
    from localprofile.build import build_profile
    from localprofile.render import write_outputs

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")  # 2023-11-14 22:13:20 UTC
    profile = build_profile(CATALOG, "Calderdale", audience="public")
    write_outputs(profile, tmp_path)
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["generated"] == "2023-11-14 22:13 UTC"
    assert "Generated 2023-11-14 22:13 UTC by localprofile" in (tmp_path / "index.html").read_text(encoding="utf-8")
    assert {r[0] for r in _rows(tmp_path / "results.gpkg", "select last_change from gpkg_contents")} == {"2023-11-14T22:13:00.000Z"}
    choice = next(c for c in summary["choices"] if c["what"] == "generation date")
    assert "SOURCE_DATE_EPOCH=1700000000" in choice["why"]


def test_generation_date_rules():
    assert generation_date(["2016-02", "2015-12"], environ={}).value == "2016-02-29"  # leap year
    assert generation_date(["2016-02"], environ={"SOURCE_DATE_EPOCH": "0"}).value == "1970-01-01 00:00 UTC"
    assert generation_date(["2016-02"], environ={"SOURCE_DATE_EPOCH": ""}).value == "2016-02-29"
    for bad in ("tomorrow", "-5", "1.5"):
        with pytest.raises(InputError, match="SOURCE_DATE_EPOCH") as exc:
            generation_date(["2016-02"], environ={"SOURCE_DATE_EPOCH": bad})
        assert "\n" not in str(exc.value)


def test_numbered_element_ids_are_unique_in_each_page(demo_root):
    """Ids are numbered per map: the page's maps must still never share one (each id is a
    JavaScript variable and an HTML element id)."""
    import re

    for a in AUDIENCES:
        page = (demo_root / a / "index.html").read_text(encoding="utf-8")
        names = re.findall(r"\bvar (\w+_[0-9a-f]{32}) =", page)
        assert len(names) > 50
        assert len(set(names)) == len(names), f"{a}: {len(names) - len(set(names))} ids defined twice"
        maps = re.findall(r'<div class="folium-map" id="(map_[0-9a-f]{32})"', page)
        assert len(maps) == len(set(maps)) >= 7


def test_a_blank_source_date_epoch_is_not_set(tmp_path):
    """SOURCE_DATE_EPOCH="" means unset: the build dates itself from the data (in a process of its
    own: the blank value used to reach numpy.f2py's int() at import and end in a traceback)."""
    import os
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "localprofile", "build", "--catalog", str(CATALOG), "--district",
                          "Calderdale", "--audience", "public", "--out", str(tmp_path / "o"), "--quiet"],
                         capture_output=True, text=True, env={**os.environ, "SOURCE_DATE_EPOCH": ""}, timeout=600)
    assert res.returncode == 0, res.stderr
    assert json.loads((tmp_path / "o" / "summary.json").read_text(encoding="utf-8"))["generated"] == "2017-07-31"
