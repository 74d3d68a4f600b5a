"""`localprofile fetch` against a local HTTP server serving files made from the shipped real data.

The server (127.0.0.1, a free port) answers the paths of the shipped URL templates, so the
defaults in fetch_sources.yaml are what is exercised, with ``base_url`` pointing them at it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import threading
import types
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import typer
import yaml
from conftest import DATA, ROOT, lookup_rows
from typer.testing import CliRunner

from localprofile.catalog import load_catalog
from localprofile.cli import handles_errors
from localprofile.errors import InputError
from localprofile.fetch import fetch, fetch_command, load_sources, parse_months, run_fetch
from localprofile.layers import ADAPTERS

FORCE = "west-yorkshire"
MONTHS = ["2016-07", "2017-07"]
DEMO_ALL_CRIME_LEEDS = 18914  # the demo profile's all_crime count for Leeds
NOT_YET = ("schools", "codepoint_open")  # adapters the fetch must also handle being absent

# IoD2019 File 7 domain names, in the order of the shipped file's stems
FILE7_DOMAINS = {
    "IMD": "Index of Multiple Deprivation (IMD)",
    "Income": "Income",
    "Employment": "Employment",
    "Education": "Education, Skills and Training",
    "Health": "Health Deprivation and Disability",
    "Crime": "Crime",
    "Housing_and_Access": "Barriers to Housing and Services",
    "Environment": "Living Environment",
}


# --- fixture files, made from data/ -------------------------------------------------------------


def _police_archive(dest: Path) -> None:
    """A police.uk-style archive of 2017-07: two West Yorkshire months, plus files to leave alone."""
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as out:
        for month in MONTHS:
            member = f"{month}/{month}-{FORCE}-street.csv"
            with zipfile.ZipFile(DATA / "police_uk" / f"{month}.zip") as src:
                out.writestr(member, src.read(member))
        header = "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,Last outcome category,Context\n"
        out.writestr("2017-07/2017-07-city-of-london-street.csv", header)
        out.writestr(f"2017-07/2017-07-{FORCE}-outcomes.csv", "Crime ID,Month\n")


def _ons_lookup(dest: Path) -> None:
    """The shipped lookup under ONS Open Geography column names."""
    with open(dest, "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(["LSOA11CD", "LSOA11NM", "MSOA11CD", "MSOA11NM", "LAD19CD", "LAD19NM", "FID"])
        for i, r in enumerate(lookup_rows(), 1):
            w.writerow([r["LSOA Code"], r["LSOA Name"], r["MSOA Code"], r["MSOA Name"],
                        r["Local authority code"], r["Local authority name"], i])


def _file7(dest: Path) -> None:
    """The shipped IMD ranks and deciles under the IoD2019 File 7 headers."""
    names = {r["LSOA Code"]: r for r in lookup_rows()}
    with open(DATA / "deprivation" / "imd2019_lsoa11_ranks_deciles_west_yorkshire.csv", newline="",
              encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    header = ["LSOA code (2011)", "LSOA name (2011)", "Local Authority District code (2019)",
              "Local Authority District name (2019)"]
    for stem, label in FILE7_DOMAINS.items():
        header += [f"{label} Rank (where 1 is most deprived)",
                   f"{label} Decile (where 1 is most deprived 10% of LSOAs)"]
    with open(dest, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            code = r["lsoa11_code"]
            line = [code, names[code]["LSOA Name"], names[code]["Local authority code"],
                    names[code]["Local authority name"]]
            for stem in FILE7_DOMAINS:
                line += [int(float(r[f"{stem}_rank"])), int(float(r[f"{stem}_decile"]))]
            w.writerow(line)


class Server:
    """The fixture server: ``routes`` {path: file}, and every request's path in ``requests``."""

    def __init__(self, routes: dict[str, Path], schools: Path) -> None:
        self.routes, self.schools = routes, schools
        self.requests: list[str] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                with server.lock:
                    server.requests.append(path)
                if path.endswith("/CodePointOpen/downloads"):  # the OS API redirects to the zip
                    self.send_response(302)
                    self.send_header("Location", "/files/codepo_gb.zip")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                file = server.routes.get(path)
                if file is None and re.fullmatch(r"/edubase/downloads/public/edubasealldata\d{8}\.csv", path):
                    file = server.schools
                if file is None:
                    self.send_error(404)
                    return
                body = file.read_bytes()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def since(self, n: int) -> list[str]:
        with self.lock:
            return self.requests[n:]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The fixture server, serving at the paths of the shipped URL templates."""
    root = tmp_path_factory.mktemp("served")
    made = {
        "crimes": root / "2017-07.zip",
        "lsoa_boundaries": DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson",
        "lsoa_lookup": root / "lsoa_lookup_ons.csv",
        "imd2019": root / "file7.csv",
        "census_population": DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv",
    }
    _police_archive(made["crimes"])
    _ons_lookup(made["lsoa_lookup"])
    _file7(made["imd2019"])
    specs = load_sources()
    routes = {urlsplit(specs[n].url.format(month="2017-07")).path: f for n, f in made.items()}
    # served as the real sites serve them: GIAS at any date, Code-Point Open through a redirect
    made["schools"] = DATA / "schools" / "edubase_2017_west_yorkshire_extract.csv"
    made["codepoint_open"] = routes["/files/codepo_gb.zip"] = (
        DATA / "postcodes" / "codepoint_open_2025_west_yorkshire.zip"
    )
    srv = Server(routes, made["schools"])
    srv.served = made
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """Requests to the fixture server go straight to it, whatever proxy the environment sets."""
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")


@pytest.fixture
def without_new_adapters(monkeypatch):
    """The registry as it is before the schools and codepoint_open adapters land."""
    for name in NOT_YET:
        monkeypatch.delitem(ADAPTERS, name, raising=False)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def assert_one_line(text: str, *needles: str) -> str:
    assert text.endswith("\n") and text.count("\n") == 1, repr(text)
    assert "Traceback" not in text
    msg = text.strip()
    assert msg.startswith("error: "), msg
    for n in needles:
        assert n in msg, (n, msg)
    return msg


def cli_app() -> typer.Typer:
    """``fetch_command`` wrapped as the lead will register it."""
    app = typer.Typer()
    app.command()(handles_errors(fetch_command))
    return app


def run_fetch_cli(*args: str) -> subprocess.CompletedProcess:
    """``localprofile fetch ARGS`` in a new process (through a stand-in app until it is registered)."""
    from localprofile import cli

    if any(c.name == "fetch" for c in cli.app.registered_commands):
        cmd = [sys.executable, "-m", "localprofile", "fetch", *args]
    else:
        script = ("import typer; from localprofile.cli import handles_errors; "
                  "from localprofile.fetch import fetch_command; app = typer.Typer(); "
                  "app.command()(handles_errors(fetch_command)); app()")
        cmd = [sys.executable, "-c", script, *args]
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT, timeout=120, env=env)


# --- 1. the fetched data is the demo's data -----------------------------------------------------


def test_fetch_writes_a_catalog_that_validates_and_builds_the_demo(server, tmp_path, without_new_adapters):
    from localprofile.build import build_profile

    cache = tmp_path / "cache"
    messages: list[str] = []
    catalog = fetch(cache, force=FORCE, months=MONTHS, district="Leeds", base_url=server.url,
                    progress=messages.append)
    assert catalog == cache / "catalog.yaml" and catalog.is_file()
    assert messages, "progress was never reported"

    # only the requested force's street files came out of the archive, byte for byte
    for month in MONTHS:
        got = cache / "police_uk" / month / f"{month}-{FORCE}-street.csv"
        with zipfile.ZipFile(DATA / "police_uk" / f"{month}.zip") as z:
            assert got.read_bytes() == z.read(f"{month}/{month}-{FORCE}-street.csv")
    assert not list(cache.rglob("*city-of-london*")) and not list(cache.rglob("*outcomes*"))
    assert not list(cache.rglob("*.part-*")), "a temporary file was left behind"

    # checksums.json: every file, with its URL, SHA-256 and size, matching the bytes on disk
    records = json.loads((cache / "checksums.json").read_text(encoding="utf-8"))["files"]
    assert "police_uk/archive/2017-07.zip" in records
    assert records["police_uk/archive/2017-07.zip"]["url"] == f"{server.url}/data/archive/2017-07.zip"
    for rel, rec in records.items():
        assert sha(cache / rel) == rec["sha256"] and (cache / rel).stat().st_size == rec["bytes"], rel
    assert sha(cache / "deprivation/iod2019_file7_all_ranks_deciles_scores.csv") == sha(server.served["imd2019"])
    assert any(re.fullmatch(r"schools/edubasealldata\d{8}\.csv", r) for r in records)
    assert records["codepoint_open/codepo_gb.zip"]["sha256"] == sha(server.served["codepoint_open"])

    # the catalog: the five layers of today's adapters, Leeds' boundaries, the rest in a comment
    text = catalog.read_text(encoding="utf-8")
    cat = load_catalog(catalog)
    assert sorted(cat.layers) == ["census_population", "crimes", "imd2019", "lsoa_boundaries", "lsoa_lookup"]
    for spec in cat.layers.values():
        assert spec.sensitivity == "open" and spec.licence and spec.attribution and spec.vintage
    assert cat.layers["crimes"].path == [f"police_uk/{m}/{m}-{FORCE}-street.csv" for m in MONTHS]
    assert cat.layers["crimes"].vintage == "2016-07 and 2017-07"
    boundaries = cat.paths("lsoa_boundaries")
    assert [p.name for p in boundaries] == ["lsoa11_bsc_ew_leeds.geojson"]
    leeds = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds"}
    features = json.loads(boundaries[0].read_text(encoding="utf-8"))["features"]
    assert {f["properties"]["LSOA11CD"] for f in features} == leeds and len(leeds) == 482
    header = [line for line in text.splitlines() if line.startswith("#")]
    for name in NOT_YET:
        assert any(line.startswith(f"#   {name} (adapter {name})") for line in header), header
        assert name not in cat.layers

    res = subprocess.run([sys.executable, "-m", "localprofile", "validate", "--catalog", str(catalog)],
                         check=False, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr
    assert "valid" in res.stdout

    profile = build_profile(catalog, "Leeds")
    assert profile.district.code == "E08000035"
    assert profile.themes["all_crime"].crimes == DEMO_ALL_CRIME_LEEDS
    assert profile.months == MONTHS


def test_new_adapters_are_catalogued_once_registered(server, tmp_path, monkeypatch):
    for name in NOT_YET:
        fake = types.ModuleType(f"fake_{name}")
        fake.ROLE, fake.REQUIRED = name, False
        monkeypatch.setitem(ADAPTERS, name, fake)
    catalog = fetch(tmp_path, force=FORCE, months=["2017-07"], base_url=server.url)
    cat = load_catalog(catalog)
    assert re.fullmatch(r"schools/edubasealldata\d{8}\.csv", cat.layers["schools"].path)
    assert cat.layers["codepoint_open"].path == "codepoint_open/codepo_gb.zip"
    assert "not catalogued" not in catalog.read_text(encoding="utf-8")
    # no --district: the whole boundary file is catalogued
    assert cat.layers["lsoa_boundaries"].path == "boundaries/lsoa11_bsc_ew.geojson"


def test_schools_and_postcodes_are_catalogued_and_validate(server, tmp_path):
    assert set(NOT_YET) <= set(ADAPTERS)  # both adapters are registered
    catalog = fetch(tmp_path, force=FORCE, months=["2017-07"], district="Leeds", base_url=server.url)
    cat = load_catalog(catalog)
    assert set(NOT_YET) <= set(cat.layers)
    assert cat.layers["schools"].encoding == "cp1252" and cat.layers["schools"].label == "Schools"
    assert cat.paths("codepoint_open")[0].read_bytes() == server.served["codepoint_open"].read_bytes()
    assert "not catalogued" not in catalog.read_text(encoding="utf-8")
    res = subprocess.run([sys.executable, "-m", "localprofile", "validate", "--catalog", str(catalog)],
                         check=False, capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr
    for name in NOT_YET:  # a row of the table: layer name, then adapter
        assert re.search(rf"^\W*{name}\W+{name}\W", res.stdout, re.M), res.stdout


# --- 2. the cache --------------------------------------------------------------------------------


def test_rerun_makes_no_request_and_a_corrupt_file_is_fetched_again(server, tmp_path, without_new_adapters):
    cache = tmp_path / "cache"
    before = server.count()
    fetch(cache, force=FORCE, months=MONTHS, district="Leeds", base_url=server.url)
    first = server.since(before)
    assert len(first) == 8, first  # 7 files, one of them through a redirect
    checksums = (cache / "checksums.json").read_bytes()
    catalog = (cache / "catalog.yaml").read_bytes()

    n = server.count()
    result = run_fetch(cache, force=FORCE, months=MONTHS, district="Leeds", base_url=server.url)
    assert server.since(n) == []
    assert result.downloaded == [] and len(result.reused) == 9  # 7 downloads - archive + 2 months + subset
    assert (cache / "checksums.json").read_bytes() == checksums
    assert (cache / "catalog.yaml").read_bytes() == catalog

    # a corrupt download: that file alone is requested again, and restored
    imd = cache / "deprivation/iod2019_file7_all_ranks_deciles_scores.csv"
    imd.write_bytes(imd.read_bytes()[:-10] + b"0000000000")
    n = server.count()
    result = run_fetch(cache, force=FORCE, months=MONTHS, district="Leeds", base_url=server.url)
    assert server.since(n) == [urlsplit(load_sources()["imd2019"].url).path]
    assert result.downloaded == ["deprivation/iod2019_file7_all_ranks_deciles_scores.csv"]
    assert sha(imd) == sha(server.served["imd2019"])

    # a corrupt extracted month and district subset: made again from the cached files, no request
    month = cache / "police_uk/2016-07/2016-07-west-yorkshire-street.csv"
    good_month = sha(month)
    month.write_text("Crime ID\n", encoding="utf-8")
    subset = cache / "boundaries/lsoa11_bsc_ew_leeds.geojson"
    good_subset = sha(subset)
    subset.write_text("{}", encoding="utf-8")
    n = server.count()
    fetch(cache, force=FORCE, months=MONTHS, district="Leeds", base_url=server.url)
    assert server.since(n) == []
    assert sha(month) == good_month and sha(subset) == good_subset

    # the archive deleted: not needed while the months are cached; needed for a month it holds
    (cache / "police_uk/archive/2017-07.zip").unlink()
    month.write_text("Crime ID\n", encoding="utf-8")
    n = server.count()
    fetch(cache, force=FORCE, months=MONTHS, district="Leeds", base_url=server.url)
    assert server.since(n) == ["/data/archive/2017-07.zip"]
    assert sha(month) == good_month


def only_imd(path: Path, **entry) -> Path:
    """A sources file that skips every source but imd2019, whose entry it changes."""
    skip = dict.fromkeys((n for n in load_sources() if n != "imd2019"), None)
    path.write_text(yaml.safe_dump({"sources": {**skip, "imd2019": entry}}), encoding="utf-8")
    return path


def test_expected_sha256_from_the_sources_file(server, tmp_path):
    good = sha(server.served["imd2019"])
    sources = only_imd(tmp_path / "sources.yaml", sha256="0" * 64)
    with pytest.raises(InputError) as exc:
        fetch(tmp_path / "c", force=FORCE, months=["2017-07"], sources=sources, base_url=server.url)
    msg = str(exc.value)
    assert str(sources) in msg and "sources.imd2019.sha256" in msg and good in msg and "0" * 64 in msg
    assert not (tmp_path / "c/deprivation/iod2019_file7_all_ranks_deciles_scores.csv").exists()
    assert not list((tmp_path / "c").rglob("*.part-*"))

    only_imd(sources, sha256=good.upper())
    catalog = fetch(tmp_path / "c", force=FORCE, months=["2017-07"], sources=sources, base_url=server.url)
    assert list(load_catalog(catalog).layers) == ["imd2019"]


def test_sources_override_changes_a_url_and_is_checked(server, tmp_path):
    sources = only_imd(tmp_path / "sources.yaml", url="https://example.org/nothing-here.csv")
    n = server.count()
    with pytest.raises(InputError, match=r"HTTP 404 .*127\.0\.0\.1:\d+/nothing-here\.csv"):
        fetch(tmp_path / "c", force=FORCE, months=["2017-07"], sources=sources, base_url=server.url)
    assert server.since(n) == ["/nothing-here.csv"]
    sources.write_text("sources:\n  imd2019:\n    ur1: x\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"key 'sources\.imd2019\.ur1': unknown key"):
        fetch(tmp_path / "c", force=FORCE, months=["2017-07"], sources=sources, base_url=server.url)


# --- 3. bad input: one clear line ---------------------------------------------------------------


def test_month_not_in_the_archive(server, tmp_path):
    with pytest.raises(InputError) as exc:
        fetch(tmp_path, force=FORCE, months=["2015-07", "2017-07"], base_url=server.url)
    assert "month 2015-07 is not in the police.uk archive" in str(exc.value)
    assert "2016-07 to 2017-07" in str(exc.value)
    assert not (tmp_path / "catalog.yaml").exists()


def test_force_not_in_the_archive(server, tmp_path):
    with pytest.raises(InputError) as exc:
        fetch(tmp_path, force="North Wales", months=["2017-07"], base_url=server.url)
    msg = str(exc.value)
    assert "force 'north-wales'" in msg and "city-of-london, west-yorkshire" in msg


def test_unknown_district_names_the_lookup(server, tmp_path):
    n = server.count()
    with pytest.raises(InputError) as exc:
        fetch(tmp_path, force=FORCE, months=MONTHS, district="Leds", base_url=server.url)
    msg = str(exc.value)
    assert "no district 'Leds'" in msg and "did you mean 'Leeds'" in msg and "lsoa11_wd19_lad19_ew_lu.csv" in msg
    # it failed before the big downloads: only the lookup and the boundaries were requested
    assert sorted(server.since(n)) == sorted(urlsplit(load_sources()[k].url).path
                                             for k in ("lsoa_lookup", "lsoa_boundaries"))


@pytest.mark.parametrize("months,needle", [
    ("2016-13", "bad month '2016-13'"),
    ("July 2016", "bad month 'July 2016'"),
    ("2016-09..2016-07", "runs backwards"),
    (",", "no month"),
])
def test_bad_months(months, needle):
    with pytest.raises(InputError, match=re.escape(needle)):
        parse_months(months)


def test_months_ranges_and_lists():
    assert parse_months("2016-07..2016-09") == ["2016-07", "2016-08", "2016-09"]
    assert parse_months(["2017-07", "2016-07,2017-07"]) == ["2016-07", "2017-07"]
    assert parse_months("2016-11..2017-01") == ["2016-11", "2016-12", "2017-01"]


@pytest.mark.parametrize("case", ["missing month", "404", "bad months", "offline"])
def test_cli_errors_are_one_line_and_exit_2(server, tmp_path, case):
    args = {
        "missing month": ["--months", "2015-07,2017-07", "--base-url", server.url],
        "404": ["--months", "2016-07", "--base-url", server.url],  # no archive of 2016-07 is served
        "bad months": ["--months", "2016-7", "--base-url", server.url],
        "offline": ["--months", "2017-07", "--base-url", f"http://127.0.0.1:{closed_port()}"],
    }[case]
    needles = {
        "missing month": ["month 2015-07 is not in the police.uk archive"],
        "404": ["HTTP 404", f"{server.url}/data/archive/2016-07.zip", "police.uk publishes"],
        "bad months": ["bad month '2016-7'", "YYYY-MM"],
        "offline": ["cannot reach 127.0.0.1:", "check the connection, or use --base-url for a mirror"],
    }[case]
    res = CliRunner().invoke(cli_app(), ["--force", FORCE, "--out", str(tmp_path / "c"), *args])
    assert res.exit_code == 2, (res.exit_code, res.output)
    assert_one_line(res.stderr, *needles)
    assert res.stdout == ""
    assert not (tmp_path / "c" / "catalog.yaml").exists()


# --- 4. offline ---------------------------------------------------------------------------------


def test_offline_is_one_clear_line(tmp_path):
    port = closed_port()
    with pytest.raises(InputError) as exc:
        fetch(tmp_path, force=FORCE, months=MONTHS, base_url=f"http://127.0.0.1:{port}")
    assert str(exc.value) == (
        f"cannot reach 127.0.0.1:{port}: Connection refused; check the connection, or use --base-url "
        "for a mirror"
    )
    assert not (tmp_path / "catalog.yaml").exists() and not list(tmp_path.rglob("*.part-*"))

    res = run_fetch_cli("--force", FORCE, "--months", "2017-07", "--out", str(tmp_path / "c"),
                        "--base-url", f"http://127.0.0.1:{port}")
    assert res.returncode == 2, res
    assert_one_line(res.stderr, f"cannot reach 127.0.0.1:{port}: Connection refused")


def test_command_prints_the_catalog_path(server, tmp_path):
    res = run_fetch_cli("--force", FORCE, "--months", "2017-07", "--out", str(tmp_path / "c"),
                        "--base-url", server.url)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str((tmp_path / "c" / "catalog.yaml").resolve())
    assert "downloaded" in res.stderr
