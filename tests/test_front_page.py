"""Issue 10, a front page for a multi-district build: ``build --district A --district B`` builds
each into <out>/<district>/<audience> and writes <out>/index.html linking them, with figures equal
to each profile's summary.json (and to a recount of the raw police.uk rows)."""

from __future__ import annotations

import html as htmllib
import json
import re
from dataclasses import replace

import pytest
import geopandas as gpd
from conftest import CATALOG, DATA, lookup_rows, read_police_rows, run_cli

from localprofile.errors import InputError
from localprofile.render.front_page import (
    district_entry,
    front_page_entries,
    render_front_page,
    write_front_page,
)

DISTRICTS = ["Wakefield", "Calderdale"]  # given out of order: the page sorts by name


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    root = tmp_path_factory.mktemp("front") / "out"
    args = ["build", "--catalog", str(CATALOG), "--audience", "public", "--out", str(root), "-q"]
    for d in DISTRICTS:
        args += ["--district", d]
    res = run_cli(*args)
    assert res.returncode == 0, res.stderr
    return root, res.stdout.split()


def _rows(page: str) -> list[list[str]]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [re.findall(r"<td[^>]*>(.*?)</td>", tr, flags=re.S) for tr in re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)]


def _text(cell: str) -> str:
    return htmllib.unescape(re.sub(r"<[^>]+>", " ", cell)).split()


def test_cli_builds_each_district_and_the_front_page(multi):
    root, printed = multi
    folders = {d: root / d.lower() / "public" for d in DISTRICTS}
    assert printed == [str((folders[d] / "index.html").resolve()) for d in DISTRICTS] + [
        str((root / "index.html").resolve())]
    for f in folders.values():
        assert {"index.html", "summary.json", "results.gpkg"} <= {p.name for p in f.iterdir()}
    # nothing half-written left behind
    assert not [p for p in root.rglob(".localprofile-*")]


def test_links_resolve_and_figures_equal_the_summaries(multi):
    root, _ = multi
    page = (root / "index.html").read_text(encoding="utf-8")
    rows = _rows(page)
    names = [re.search(r">([^<]+)</a>", r[0]).group(1) for r in rows]
    assert names == sorted(DISTRICTS)
    for row, name in zip(rows, names):
        href = re.search(r'href="([^"]+)"', row[0]).group(1)
        assert not href.startswith(("/", "http")) and href == f"{name.lower()}/public/index.html"
        target = root / href
        assert target.is_file()
        assert f"<strong>{name}</strong>" in target.read_text(encoding="utf-8")  # the profile's cover
        s = json.loads((target.parent / "summary.json").read_text(encoding="utf-8"))
        assert s["district"]["code"] in row[0]
        assert _text(row[1]) == ["2", "months", "(2016-07,", "2017-07)"] == [
            "2", "months", f"({s['period']['months'][0]},", f"{s['period']['months'][1]})"]
        assert int(_text(row[2])[0].replace(",", "")) == s["crimes"]
        assert float(_text(row[3])[0]) == round(s["themes"]["all_crime"]["rate_per_1000"], 1)
        assert int(_text(row[4])[0].replace(",", "")) == s["themes"]["all_crime"]["hotspot_cells"]
        top = min(s["theme_priorities"]["themes"], key=lambda r: r["rank"])
        assert " ".join(_text(row[5])).startswith(s["themes"][top["theme"]]["label"] + " rank 1 of")
        hood = s["priority_neighbourhoods"]["top"][0]
        assert " ".join(_text(row[6])).startswith(f"{hood['name']} ({hood['code']})")


def test_crimes_equal_a_recount_of_the_police_rows(multi):
    """The front page's crimes, recounted from the raw police.uk rows: records (each crime ID
    once) whose LSOA code lies in the district by the ONS lookup, plus those whose code is not in
    the lookup at all and whose point falls in one of the district's LSOA polygons (shapely)."""
    root, _ = multi
    shown = {re.search(r">([^<]+)</a>", r[0]).group(1): int(_text(r[2])[0].replace(",", ""))
             for r in _rows((root / "index.html").read_text(encoding="utf-8"))}
    lookup = lookup_rows()
    known = {r["LSOA Code"] for r in lookup}
    seen, rows = set(), []
    for row in read_police_rows():
        cid = row["Crime ID"].strip()
        if cid:
            if cid in seen:
                continue
            seen.add(cid)
        rows.append(row)
    polygons = gpd.read_file(DATA / "boundaries" / "lsoa11_bsc_west_yorkshire.geojson")
    unknown = [r for r in rows if r["LSOA code"].strip() and r["LSOA code"].strip() not in known and r["Longitude"]]
    points = gpd.GeoSeries(gpd.points_from_xy([float(r["Longitude"]) for r in unknown],
                                              [float(r["Latitude"]) for r in unknown]), crs=4326)
    for name in DISTRICTS:
        lsoas = {r["LSOA Code"] for r in lookup if r["Local authority name"] == name}
        by_code = sum(r["LSOA code"].strip() in lsoas for r in rows)
        area = polygons[polygons["LSOA11CD"].isin(lsoas)].union_all()
        by_point = int(points.within(area).sum())
        assert shown[name] == by_code + by_point, (name, by_code, by_point)


def test_marking_top_and_bottom_and_no_script(multi):
    root, _ = multi
    page = (root / "index.html").read_text(encoding="utf-8")
    s = json.loads((root / "calderdale" / "public" / "summary.json").read_text(encoding="utf-8"))
    body = page.split("<body>", 1)[1].split("</body>", 1)[0].strip()
    marking = f'<div class="marking top" role="note">{s["marking"]}</div>'
    assert body.startswith(marking)
    assert body.endswith(f'<div class="marking bottom" role="note">{s["marking"]}</div>')
    assert "<script" not in page.lower() and "http://" not in page and "https://" not in page
    assert "For the public" in page


def test_front_page_is_reproducible(multi, tmp_path):
    root, _ = multi
    before = (root / "index.html").read_bytes()
    folders = [root / "wakefield" / "public", root / "calderdale" / "public", root / "wakefield" / "public"]
    from localprofile.catalog import load_catalog

    write_front_page(root, folders, title=load_catalog(CATALOG).profile.title)
    assert (root / "index.html").read_bytes() == before  # same bytes, whatever the order given
    assert sorted(p.name for p in root.iterdir()) == ["build-all.json", "calderdale", "index.html", "wakefield"]


def test_names_from_data_are_escaped(multi):
    root, _ = multi
    entry = front_page_entries(root, [root / "calderdale" / "public"])[0]
    evil = replace(entry, name='<script>alert("x")</script> & Co', top_neighbourhood="<b>Ward</b>",
                   href='a"onmouseover="x')
    page = render_front_page([evil], title="<i>T</i>")
    assert "<script>" not in page and "<b>Ward</b>" not in page and "<i>T</i>" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page
    assert 'href="a&#34;onmouseover=&#34;x"' in page


def test_mixed_audiences_are_refused(multi):
    root, _ = multi
    s = json.loads((root / "calderdale" / "public" / "summary.json").read_text(encoding="utf-8"))
    public = district_entry(s, "a/index.html")
    force = replace(public, audience="force", marking="OFFICIAL-SENSITIVE")
    with pytest.raises(InputError, match="different audiences"):
        render_front_page([public, force])


def test_single_district_build_writes_no_front_page(tmp_path):
    out = tmp_path / "one"
    res = run_cli("build", "--catalog", str(CATALOG), "--district", "Calderdale", "--audience", "public",
                  "--out", str(out), "-q")
    assert res.returncode == 0, res.stderr
    assert res.stdout.split() == [str((out / "index.html").resolve())]
    assert "<strong>Calderdale</strong>" in (out / "index.html").read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one"]


def test_all_with_other_districts_is_one_line_error(tmp_path):
    res = run_cli("build", "--catalog", str(CATALOG), "--district", "all", "--district", "Leeds",
                  "--audience", "public", "--out", str(tmp_path))
    assert res.returncode == 2 and "--district all" in res.stderr and "Traceback" not in res.stderr


def test_all_means_every_district_of_the_lookup():
    from localprofile.cli import _catalog_districts

    assert _catalog_districts(CATALOG) == sorted({r["Local authority name"] for r in lookup_rows()})
