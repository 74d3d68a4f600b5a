"""Shared fixtures: the demo profile built once by the real CLI, and small catalogs for edge cases."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
CATALOG = ROOT / "data_catalog.yaml"
THEMES = [
    "all_crime",
    "anti_social_behaviour",
    "drugs",
    "possession_of_weapons",
    "violence_and_sexual_offences",
    "robbery",
    "soc_indicators",
]


def run_cli_subprocess(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run ``python -m localprofile`` in its own process, as a user would: for the few tests where
    the process itself is the point (the entry point, exit codes as the shell sees them)."""
    return subprocess.run(
        [sys.executable, "-m", "localprofile", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        timeout=600,
    )


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """Run the ``localprofile`` command in this process (typer's runner), capturing its output.

    It answers like :func:`run_cli_subprocess` (``returncode``, ``stdout``, ``stderr``) without a
    new interpreter's imports for every call. An exception that escaped the command's own error
    handling is put on ``stderr`` as the traceback a user would have seen, so tests that forbid
    tracebacks still see it.
    """
    import os
    import traceback

    from typer.testing import CliRunner

    from localprofile.cli import app

    here = os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        result = CliRunner().invoke(app, list(args), catch_exceptions=True)
    finally:
        os.chdir(here)
    stderr = result.stderr
    code = result.exit_code
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "".join(traceback.format_exception(result.exception))
        code = 1
    return subprocess.CompletedProcess(["localprofile", *args], code, result.stdout, stderr)


def one_line_error(res, *needles: str) -> str:
    """``res`` failed as bad input should: exit code 2, one line on stderr holding every needle,
    no traceback. Returns that line."""
    assert res.returncode == 2, (res.returncode, res.stdout[-300:], res.stderr)
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr, res.stderr
    for n in needles:
        assert n in res.stderr, (n, res.stderr)
    return res.stderr


AUDIENCES = ["force", "partner", "public"]


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory) -> Path:
    """The Leeds demo, built by ``localprofile demo --out DIR``: one folder per audience."""
    out = tmp_path_factory.mktemp("demo") / "leeds"
    res = run_cli_subprocess("demo", "--out", str(out))  # the real entry point, once
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str((out / a / "index.html").resolve()) for a in AUDIENCES]
    return out


@pytest.fixture(scope="session")
def demo_out(demo_root) -> Path:
    """The force audience's demo outputs (everything a profile can hold)."""
    return demo_root / "force"


@pytest.fixture(scope="session")
def demo_summary(demo_out) -> dict:
    return json.loads((demo_out / "summary.json").read_text(encoding="utf-8"))


def read_police_rows() -> list[dict]:
    """Every row of the shipped police.uk archives, read with the csv module (independently of
    the adapter)."""
    rows = []
    for z in sorted((DATA / "police_uk").glob("*.zip")):
        with zipfile.ZipFile(z) as zf:
            for name in zf.namelist():
                if name.endswith("-street.csv"):
                    text = zf.read(name).decode("utf-8-sig")
                    rows.extend(csv.DictReader(io.StringIO(text)))
    return rows


def lookup_rows() -> list[dict]:
    with open(DATA / "lookups" / "lsoa11_msoa_lad_west_yorkshire.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write_catalog(tmp_path: Path, layers: dict | None = None, profile: dict | None = None,
                  themes: dict | None = None, restricted: bool = False) -> Path:
    """A catalog in ``tmp_path`` using the shipped data (absolute paths), with overrides; the
    restricted (synthetic) layers are left out unless ``restricted``."""
    base = yaml.safe_load(CATALOG.read_text(encoding="utf-8"))
    if not restricted:
        base["layers"] = {n: s for n, s in base["layers"].items() if s["sensitivity"] != "restricted"}
    for spec in base["layers"].values():
        spec["path"] = str(DATA.parent / spec["path"])
    if base.get("profile", {}).get("scoring"):
        base["profile"]["scoring"] = str(DATA.parent / base["profile"]["scoring"])
    if base.get("profile", {}).get("plan"):
        base["profile"]["plan"] = str(DATA.parent / base["profile"]["plan"])
    for name, spec in (layers or {}).items():
        if spec is None:
            base["layers"].pop(name)
        else:
            base["layers"][name] = {**base["layers"].get(name, {}), **spec}
    base["profile"] = {**base.get("profile", {}), **(profile or {})}
    if themes is not None:
        base["themes"] = themes
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False), encoding="utf-8")
    return path


def police_csv_text(month: str = "2016-07") -> str:
    with zipfile.ZipFile(DATA / "police_uk" / f"{month}.zip") as zf:
        return zf.read(f"{month}/{month}-west-yorkshire-street.csv").decode("utf-8")


@pytest.fixture(scope="session")
def leeds_profiles() -> dict:
    """The Leeds demo profile for each audience, built once per test process (shared by the
    report-section tests; none of them changes a profile)."""
    from localprofile.stages.soc_themes import demo_profile

    return {a: demo_profile("Leeds", a) for a in AUDIENCES}


@pytest.fixture(scope="session")
def leeds_police_rows():
    """Every shipped police.uk row as read by the csv module, with ``leeds`` (its LSOA code is
    one of Leeds') and ``x``, ``y`` (British National Grid by pyproj): the independent recount."""
    import pandas as pd
    from pyproj import Transformer

    leeds = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds"}
    f = pd.DataFrame(read_police_rows())
    f["leeds"] = f["LSOA code"].isin(leeds)
    lon = pd.to_numeric(f["Longitude"], errors="coerce").to_numpy()
    lat = pd.to_numeric(f["Latitude"], errors="coerce").to_numpy()
    f["x"], f["y"] = Transformer.from_crs(4326, 27700, always_xy=True).transform(lon, lat)
    return f
