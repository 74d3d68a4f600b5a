"""Acceptance 5 and the security standards: data strings are text, never markup; no network."""

from __future__ import annotations

import json
import socket
import zipfile
from pathlib import Path

import pytest
from conftest import DATA, police_csv_text, run_cli, write_catalog
from test_html_offline import open_offline

SCRIPT = "<script>alert(1)</script>"
IMG = '<img src=x onerror="alert(2)">'


@pytest.fixture(scope="module")
def hostile_out(tmp_path_factory) -> Path:
    """Calderdale, one month, with a crime Location and an LSOA name that are HTML."""
    tmp = tmp_path_factory.mktemp("hostile")
    lines = police_csv_text("2016-07").splitlines(keepends=True)
    out_lines, n = [lines[0]], 0
    for line in lines[1:]:
        if ",Calderdale " in line and ",On or near " in line and n < 40:
            # replace the Location field (7th) of 40 Calderdale rows
            fields = line.rstrip("\r\n").split(",")
            fields[6] = SCRIPT
            line = ",".join(fields) + "\n"
            n += 1
        out_lines.append(line)
    assert n == 40
    crimes = tmp / "2016-07-west-yorkshire-street.csv"
    crimes.write_text("".join(out_lines), encoding="utf-8")
    gj = json.loads((DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").read_text(encoding="utf-8"))
    for f in gj["features"]:
        if f["properties"]["LSOA11NM"].startswith("Calderdale 001"):
            f["properties"]["LSOA11NM"] = IMG
    bounds = tmp / "lsoa.geojson"
    bounds.write_text(json.dumps(gj), encoding="utf-8")
    cat = write_catalog(
        tmp,
        layers={
            "crimes": {"path": str(crimes), "attribution": f"Police data {SCRIPT}"},
            "lsoa_boundaries": {"path": str(bounds)},
        },
        profile={"title": f"Profile {SCRIPT}"},
    )
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp / "out"))
    assert res.returncode == 0, res.stderr
    return tmp / "out"


def test_script_location_is_escaped_text(hostile_out):
    html = (hostile_out / "index.html").read_text(encoding="utf-8")
    assert SCRIPT not in html
    assert IMG not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html  # shown, as text, in the tables


@pytest.mark.browser
def test_script_location_never_runs_in_the_browser(hostile_out):
    def inspect(page):
        # Render every tooltip the maps would show on hover (Leaflet inserts them as HTML) and
        # put them in the page, so that injected markup would run.
        page.evaluate(
            """() => { for (const v of Object.values(window)) {
                 if (v instanceof L.GeoJSON && v.getTooltip()) {
                   const content = v.getTooltip()._content;
                   v.eachLayer(l => {
                     const div = content(l);
                     div.className = 'rendered-tooltip';
                     document.body.appendChild(div);
                   });
                 }
               } }"""
        )
        page.wait_for_timeout(300)
        return page.evaluate(
            """() => ({
              cells: [...document.querySelectorAll('table.locations td')].map(td => td.textContent),
              tooltips: [...document.querySelectorAll('.rendered-tooltip')].map(t => t.textContent),
              injected: document.querySelectorAll('img[src="x"], .rendered-tooltip img, .rendered-tooltip script').length,
              title: document.querySelector('h1').textContent,
            })"""
        )

    facts, errors, blocked, dialogs = open_offline(hostile_out / "index.html", inspect)
    assert dialogs == []
    assert errors == [] and blocked == []
    assert SCRIPT in facts["cells"]  # the location reads as the literal text
    assert any(IMG in t for t in facts["tooltips"])  # the LSOA name reads as text too
    assert facts["injected"] == 0
    assert facts["title"] == f"Profile {SCRIPT}"


def test_a_build_makes_no_network_connection(tmp_path, monkeypatch):
    """Every socket connection attempt during a full build and write fails the test."""
    attempts = []

    def refuse(self, address, *a, **k):
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: refuse(None, a))
    from localprofile.build import build_profile
    from localprofile.render import write_outputs

    cat = write_catalog(tmp_path, layers={"crimes": {"path": str(DATA / "police_uk" / "2017-07.zip")}})
    written = write_outputs(build_profile(cat, "Wakefield"), tmp_path / "out")
    assert attempts == []
    # PROJ must not fetch grids either, neither pyproj's PROJ nor GDAL's (which reads the env)
    import os

    import pyproj

    assert not pyproj.network.is_network_enabled()
    assert os.environ.get("PROJ_NETWORK") == "OFF"
    assert {"index.html", "summary.json", "results.gpkg"} <= set(written)
    with zipfile.ZipFile(DATA / "police_uk" / "2017-07.zip") as zf:
        assert zf.namelist() == ["2017-07/2017-07-west-yorkshire-street.csv"]
