"""Printed PCSO briefing sheets (issue 10): one A4 PDF per neighbourhood, the marking on every
page, top map points recounted from the raw police.uk CSVs, nothing restricted on partner sheets,
the same bytes on a second run, and the ``briefings`` command."""

from __future__ import annotations

import csv
import re
import zlib
from collections import Counter
from pathlib import Path

import pypdf
import pytest

from conftest import DATA, lookup_rows, one_line_error, read_police_rows, run_cli, write_catalog

LEEDS = "E08000035"
PERIOD = ("2016-07", "2017-07")
MARKING = "OFFICIAL-SENSITIVE"
# Leeds 086 (rank 1 for partners, a school, restricted records for the force), Leeds 001 and the
# MSOA with the most OCG members' addresses
HOODS = ["E02002415", "E02002330", "E02002392"]


def leeds_msoas() -> dict[str, str]:
    """Leeds' MSOAs (code -> name) from the ONS lookup, read with the csv module."""
    return {r["MSOA Code"]: r["MSOA Name"] for r in lookup_rows() if r["Local authority code"] == LEEDS}


def msoa_of_lsoa() -> dict[str, str]:
    return {r["LSOA Code"]: r["MSOA Code"] for r in lookup_rows() if r["Local authority code"] == LEEDS}


def restricted_needles() -> list[str]:
    """Every identifier in the SYNTHETIC restricted files (any column named ... ID) and every
    restricted layer's label."""
    import yaml

    ids = set()
    for f in sorted((DATA / "restricted").glob("SYNTHETIC_*.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                ids.update(v for k, v in row.items() if k.strip().endswith("ID") and v)
    cat = yaml.safe_load((DATA.parent / "data_catalog.yaml").read_text(encoding="utf-8"))
    labels = {s["label"] for s in cat["layers"].values() if s["sensitivity"] == "restricted" and s.get("label")}
    assert len(ids) > 100 and len(labels) >= 4
    return sorted(ids) + sorted(labels)


def pdf_text(path: Path) -> list[str]:
    return [p.extract_text() for p in pypdf.PdfReader(path).pages]


def pdf_all_bytes(path: Path) -> bytes:
    """The PDF's bytes with every stream inflated (content, images, metadata, fonts)."""
    raw = path.read_bytes()
    parts = [raw]
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", raw, re.S):
        try:
            parts.append(zlib.decompress(m.group(1)))
        except zlib.error:
            parts.append(m.group(1))
    return b"\n".join(parts)


@pytest.fixture(scope="module")
def profiles():
    from localprofile.build import build_profile
    from localprofile.demo import demo_catalog_path

    return {a: build_profile(demo_catalog_path(), "Leeds", audience=a) for a in ("force", "partner")}


@pytest.fixture(scope="module")
def sheets(profiles, tmp_path_factory):
    from localprofile.render.briefings import write_briefings

    out = {}
    for audience, p in profiles.items():
        folder = tmp_path_factory.mktemp(f"briefings-{audience}")
        out[audience] = write_briefings(p, folder, HOODS)
    return out


def sheet_of(written: dict, code: str) -> Path:
    (path,) = [v for k, v in written.items() if k.startswith(f"briefings/{code}")]
    return path


def test_one_sheet_per_chosen_neighbourhood_and_an_index(sheets):
    names = leeds_msoas()
    for written in sheets.values():
        assert sorted(written) == sorted([f"briefings/{c}-{names[c].lower().replace(' ', '-')}.pdf" for c in HOODS]
                                         + ["briefings/index.html"])
        index = written["briefings/index.html"].read_text(encoding="utf-8")
        assert index.count(".pdf\">") == len(HOODS) and MARKING in index


def test_demo_writes_every_neighbourhoods_sheet_for_force_and_partner(demo_root):
    n = len(leeds_msoas())
    assert n == 107
    for audience in ("force", "partner"):
        pdfs = sorted((demo_root / audience / "briefings").glob("*.pdf"))
        assert len(pdfs) == n, audience
        assert {p.name.split("-")[0] for p in pdfs} == set(leeds_msoas())
        assert (demo_root / audience / "briefings" / "index.html").is_file()
    assert not (demo_root / "public" / "briefings").exists()  # the public gets no briefing sheets


def test_every_page_is_a4(sheets):
    for written in sheets.values():
        for code in HOODS:
            for page in pypdf.PdfReader(sheet_of(written, code)).pages:
                box = page.mediabox
                assert (round(float(box.width)), round(float(box.height))) == (595, 842)


def test_marking_on_every_page_name_code_and_period(sheets):
    names = leeds_msoas()
    for written in sheets.values():
        for code in HOODS:
            pages = pdf_text(sheet_of(written, code))
            assert len(pages) >= 2
            for text in pages:  # header and footer: the marking twice on every page
                assert text.count(MARKING) >= 2, text[-200:]
            assert f"{names[code]} ({code})" in pages[0]
            assert all(m in pages[0] for m in PERIOD) and "dated 2017-07-31" in pages[0]


def test_top_locations_are_recounted_from_the_raw_police_csv(sheets):
    to_msoa = msoa_of_lsoa()
    rows = [r for r in read_police_rows() if r["Longitude"] and to_msoa.get(r["LSOA code"])]
    for code in HOODS:
        # a map point is its text and its coordinates
        counts = Counter((r["Location"], r["Longitude"], r["Latitude"]) for r in rows if to_msoa[r["LSOA code"]] == code)
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0][0]))[:10]
        for written in sheets.values():
            text = "\n".join(pdf_text(sheet_of(written, code)))
            listed = re.findall(r"^(\d+) (On or near .+?) ([\d,]+)$", text, re.M)
            assert [int(n) for n, _, _ in listed] == list(range(1, len(top) + 1))
            assert [int(c.replace(",", "")) for _, _, c in listed] == [n for _, n in top]
            last = top[-1][1]
            for (loc, _, _), n in top:
                if n > last:  # ties at the cut may be listed either way round
                    assert (loc, n) in [(l, int(c.replace(",", ""))) for _, l, c in listed]


def test_partner_sheets_hold_nothing_restricted(sheets, profiles):
    needles = restricted_needles()
    labels = [l for l in needles if " " in l]
    # the force's sheet of the same neighbourhood shows the restricted counts: the scan can find them
    force_text = "\n".join(pdf_text(sheet_of(sheets["force"], HOODS[0])))
    assert all(l in force_text for l in labels if l in {c.label for c in profiles["force"].context.values()})
    assert "Force data (restricted)" in force_text
    for code in HOODS:
        path = sheet_of(sheets["partner"], code)
        text = "\n".join(pdf_text(path))
        blob = pdf_all_bytes(path)
        for needle in needles:
            assert needle not in text, needle
            assert needle.encode() not in blob, needle
        assert "Force data" not in text and "restricted" not in text.lower()
        meta = pypdf.PdfReader(path).metadata
        assert not any(n in str(v) for v in meta.values() for n in needles)


def test_force_sheet_restricted_counts_are_recounted(sheets):
    """Each restricted layer's records per MSOA, recounted by point in polygon (geopandas) on the
    shipped LSOA boundaries joined to the ONS lookup."""
    import geopandas as gpd
    import pandas as pd

    lsoas = gpd.read_file(DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson").to_crs(27700)
    to_msoa = msoa_of_lsoa()
    lsoas = lsoas[lsoas["LSOA11CD"].isin(to_msoa)].assign(msoa=lambda f: f["LSOA11CD"].map(to_msoa))
    msoas = lsoas.dissolve("msoa").reset_index()[["msoa", "geometry"]]
    layers = {"ocg_members": "OCG members' home addresses", "cse_locations": "CSE locations",
              "vulnerable_persons": "Vulnerable persons", "repeat_offenders": "Repeat offenders"}
    for stem, label in layers.items():
        d = pd.read_csv(DATA / "restricted" / f"SYNTHETIC_{stem}.csv")
        pts = gpd.GeoDataFrame(d, geometry=gpd.points_from_xy(d["Easting"], d["Northing"]), crs=27700)
        counts = gpd.sjoin(pts, msoas, predicate="within")["msoa"].value_counts()
        for code in HOODS:
            text = "\n".join(pdf_text(sheet_of(sheets["force"], code)))
            m = re.search(re.escape(label) + r" (\d+)$", text, re.M)
            assert m is not None, (label, code)
            assert int(m.group(1)) == int(counts.get(code, 0)), (label, code)
        if stem == "ocg_members":  # not all zeros: the third neighbourhood has the most addresses
            assert counts.get(HOODS[2], 0) == counts.max() > 5


def test_second_run_is_byte_identical(profiles, sheets, tmp_path):
    from localprofile.render.briefings import write_briefings

    again = write_briefings(profiles["partner"], tmp_path, HOODS)
    for name, path in sheets["partner"].items():
        assert again[name].read_bytes() == path.read_bytes(), name


def test_demo_sheet_matches_a_build_in_another_process(demo_root, sheets):
    """The demo's sheets (written by the CLI in its own process) are the same bytes."""
    for audience in ("force", "partner"):
        for name, path in sheets[audience].items():
            if name.endswith(".pdf"):
                assert (demo_root / audience / name).read_bytes() == path.read_bytes(), (audience, name)


def test_briefings_command_writes_the_chosen_sheet(tmp_path):
    res = run_cli("briefings", "--catalog", "data_catalog.yaml", "--district", "Leeds", "--audience", "partner",
                  "--neighbourhood", "leeds 086", "--out", str(tmp_path), "-q")
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str((tmp_path / "briefings" / "index.html").resolve())
    assert [p.name for p in (tmp_path / "briefings").glob("*.pdf")] == ["E02002415-leeds-086.pdf"]


def test_briefings_command_bad_neighbourhood_is_one_line(tmp_path):
    res = run_cli("briefings", "--catalog", "data_catalog.yaml", "--district", "Leeds", "--audience", "force",
                  "--neighbourhood", "Atlantis", "--out", str(tmp_path), "-q")
    one_line_error(res, "Atlantis", "--neighbourhood")
    assert not (tmp_path / "briefings").exists()


def test_public_briefings_are_refused_in_one_line(tmp_path):
    for args in (["briefings"], ["build", "--briefings"]):
        res = run_cli(*args, "--catalog", "data_catalog.yaml", "--district", "Leeds", "--audience", "public",
                      "--out", str(tmp_path), "-q")
        one_line_error(res, "public", "--audience")


def test_catalog_look_for_text_replaces_the_shipped_one(tmp_path):
    """An open-only catalog (no audience) with its own "what to look for" file; strings from the
    file are escaped."""
    from localprofile.build import build_profile
    from localprofile.render.briefings import write_briefings

    (tmp_path / "look.md").write_text("## Watch for\n\n- **Scooters** <b>parked</b> & left\n", encoding="utf-8")
    cat = write_catalog(tmp_path, profile={"briefings": {"look_for": "look.md", "top_locations": 3}})
    p = build_profile(cat, "Leeds")
    written = write_briefings(p, tmp_path / "out", ["Leeds 001"])
    text = "\n".join(pdf_text(sheet_of(written, "E02002330")))
    assert "Watch for" in text and "Scooters <b>parked</b> & left" in text
    assert "County lines" not in text
    assert len(re.findall(r"^\d+ On or near .+ \d+$", text, re.M)) == 3
