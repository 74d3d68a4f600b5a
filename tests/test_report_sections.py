"""Issue 10, the report's structure: the numbered sections of a SOC local profile, filled from data
for each audience; inline SVG charts drawn to the counts; the marking on every printed A4 page;
partner and public views without statistical jargon outside the technical toggle; the
"open data only" title rule. Figures are recounted from the raw files shipped in data/."""

from __future__ import annotations

import calendar
import html as htmllib
import io
import re
import xml.etree.ElementTree as ET
from collections import Counter

import pandas as pd
import pyogrio
import pytest
import yaml
from conftest import AUDIENCES, CATALOG, DATA, lookup_rows, read_police_rows, write_catalog

SVG_NS = "{http://www.w3.org/2000/svg}"
THEME_TYPES = {  # the default themes (localprofile/themes.yaml), written out independently
    "all_crime": None,
    "anti_social_behaviour": {"Anti-social behaviour"},
    "drugs": {"Drugs"},
    "possession_of_weapons": {"Possession of weapons"},
    "violence_and_sexual_offences": {"Violence and sexual offences"},
    "robbery": {"Robbery"},
    "soc_indicators": {"Drugs", "Possession of weapons", "Robbery"},
}
MARKING = {"force": "OFFICIAL-SENSITIVE", "partner": "OFFICIAL-SENSITIVE", "public": "OFFICIAL"}
JARGON = ["p-value", "p (exact)", "esda", "scikit", "sklearn", "scipy", "libpysal", "pymannkendall",
          "statsmodels", "numpy", "pandas", "geopandas"]


# --- helpers -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pages(demo_root) -> dict[str, str]:
    return {a: (demo_root / a / "index.html").read_text(encoding="utf-8") for a in AUDIENCES}


@pytest.fixture(scope="module")
def catalog() -> dict:
    return yaml.safe_load(CATALOG.read_text(encoding="utf-8"))


def element(page: str, id_: str) -> str:
    """The markup of the element with ``id="id_"``, its own tag balanced (nested sections too)."""
    m = re.search(rf'<(\w+)\b[^>]*\bid="{re.escape(id_)}"', page)
    assert m, f"no element with id {id_}"
    tag, depth = m.group(1), 0
    for t in re.finditer(rf"<(/?){tag}\b[^>]*>", page[m.start():]):
        depth += -1 if t.group(1) else 1
        if depth == 0:
            return page[m.start():m.start() + t.end()]
    raise AssertionError(f"unclosed {tag} {id_}")


def text(markup: str) -> str:
    """Visible words: no scripts, styles or tags; entities decoded; spaces collapsed."""
    markup = re.sub(r"<(script|style)\b.*?</\1>", " ", markup, flags=re.S)
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", markup))).strip()


def svgs(markup: str) -> list[ET.Element]:
    """The report's charts (inline SVG outside any script), parsed as XML."""
    markup = re.sub(r"<script\b.*?</script>", " ", markup, flags=re.S)
    return [ET.fromstring(s) for s in re.findall(r'<svg\b[^>]*class="chart.*?</svg>', markup, flags=re.S)]


@pytest.fixture(scope="module")
def recount() -> dict:
    """From the raw police.uk CSVs: Leeds crimes per theme and month (a police.uk LSOA code in
    Leeds; a Crime ID counted once), and the IMD decile-1 share of all crime."""
    lookup = lookup_rows()
    leeds = {r["LSOA Code"] for r in lookup if r["Local authority name"] == "Leeds"}
    imd = pd.read_csv(DATA / "deprivation" / "imd2019_lsoa11_ranks_deciles_west_yorkshire.csv")
    decile1 = set(imd.loc[imd["IMD_decile"] == 1, "lsoa11_code"])
    seen, rows = set(), []
    for r in read_police_rows():
        cid = r["Crime ID"].strip()
        if cid:
            if cid in seen:
                continue
            seen.add(cid)
        if r["LSOA code"].strip() in leeds:
            rows.append(r)
    monthly = {slug: Counter(r["Month"] for r in rows if types is None or r["Crime type"] in types)
               for slug, types in THEME_TYPES.items()}
    census = pd.read_csv(DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv",
                         header=0, dtype=str)
    census = census[census["LSOA Code"].isin(leeds)]
    residents = census.iloc[:, 9].str.replace(",", "").astype(int).sum()  # the first "Persons"
    return {"monthly": monthly, "rows": rows, "months": sorted({r["Month"] for r in read_police_rows()}),
            "residents": int(residents), "all_in_decile1": sum(r["LSOA code"] in decile1 for r in rows) / len(rows)}


# --- every section, filled from data ----------------------------------------------------------------

NUMBERED = ["3 Threat by theme", "4 Vulnerability", "5 ", "6 Priority neighbourhoods",
            "7 Theme priorities", "10 Data quality and caveats", "11 Methodology",
            "12 Sources, licences and attribution"]


@pytest.mark.parametrize("audience", AUDIENCES)
def test_the_sections_are_numbered_in_order_and_the_contents_match(pages, audience):
    page = pages[audience]
    heads = [text(h) for h in re.findall(r"<h2\b[^>]*>(.*?)</h2>", page[page.index("<main>"):], flags=re.S)]
    numbered = {int(h.split()[0]): h for h in heads if h.split()[0].isdigit()}
    nums = [int(h.split()[0]) for h in heads if h.split()[0].isdigit()]
    assert nums == sorted(nums) and {3, 4, 5, 6, 7, 10, 11, 12} <= set(nums), heads
    for want in NUMBERED:
        assert any(h.startswith(want) for h in heads), (want, heads)
    assert numbered[5] == ("5 OCGs and nominals RESTRICTED" if audience == "force" else "5 Organised crime groups")
    # the contents: every entry's anchor exists; numbers 1, 3.. in order; 2, 8 and 9 only with their partial
    toc = re.findall(r'<li><a href="#([\w-]+)"><span class="num">(\d+)</span> ([^<]+)</a></li>', page)
    assert [int(n) for _, n, _ in toc] == sorted(int(n) for _, n, _ in toc)
    assert {int(n) for _, n, _ in toc} >= {1, 3, 4, 5, 6, 7, 10, 11, 12}
    for anchor, n, _ in toc:
        assert f'id="{anchor}"' in page, anchor
    # the optional sections' include lines sit between their neighbours (their files may not exist yet)
    order = [page.index('id="cover"'), page.index('id="threat"'), page.index('id="vulnerability"'),
             page.index('id="ocg"'), page.index('id="priority"'), page.index('id="theme-priorities"'),
             page.index('id="data-quality"'), page.index('id="methodology"'), page.index('id="sources"')]
    assert order == sorted(order)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_the_cover_states_title_district_period_audience_marking_version_and_review_date(pages, catalog, recount, audience):
    cover = text(element(pages[audience], "cover"))
    prof = catalog["profile"]
    assert re.search(r"<h1>([^<]*)</h1>", pages[audience]).group(1) == htmllib.escape(prof["title"])
    assert "Leeds (E08000035)" in cover
    assert f"{recount['residents']:,} residents" in cover
    months = recount["months"]
    assert f"Period {len(months)} months ({', '.join(months)})" in cover
    assert {"force": "For force use", "partner": "For partners", "public": "For the public"}[audience] in cover
    assert f"Protective marking {MARKING[audience]} " in cover
    assert f"Version {prof['version']}" in cover
    # no review date in the catalog: the last day of the month six months after the latest month
    assert prof["review_date"] is None
    y, m = map(int, months[-1].split("-"))
    y, m = (y + 1, m + 6 - 12) if m + 6 > 12 else (y, m + 6)
    assert f"Review date {y:04d}-{m:02d}-{calendar.monthrange(y, m)[1]:02d} (6 months after the latest month of data ({months[-1]})" in cover


def test_a_review_date_in_the_catalog_is_the_one_shown():
    import datetime

    from localprofile.catalog import ProfileSettings
    from localprofile.render.html import review_date

    assert review_date(ProfileSettings(review_date="2026-03-01"), ["2016-07"])[0] == "2026-03-01"
    assert review_date(ProfileSettings(review_date=datetime.date(2026, 3, 1)), [])[0] == "2026-03-01"
    assert review_date(ProfileSettings(), ["2016-12"])[0] == "2017-06-30"  # across the year
    assert review_date(ProfileSettings(), ["2015-08"])[0] == "2016-02-29"  # leap year
    with pytest.raises(ValueError):
        ProfileSettings(review_date="next spring")


@pytest.mark.parametrize("audience", AUDIENCES)
def test_threat_by_theme_holds_each_themes_recounted_figures_chart_map_and_locations(pages, recount, audience):
    page = pages[audience]
    months = recount["months"]
    for slug, counts in recount["monthly"].items():
        sub = element(page, f"theme-{slug}")
        words = text(sub)
        total = sum(counts.values())
        assert f"Volume {total:,} crimes in Leeds" in words, slug
        rate = total / recount["residents"] * 1000
        assert f"Rate {rate:,.1f} per 1,000 residents over the period; {rate / len(months):,.2f} in an average month" in words
        assert "not annualised (2 months loaded; at least 12 are needed)" in words  # 2 months: no year's figure
        assert 'class="folium-map' in sub and "LSOA crimes per 1,000 residents" in sub  # the map and its legend
        assert "Repeat locations by named map point" in words
        (chart,) = svgs(sub)
        bars = chart.findall(f".//{SVG_NS}rect[@class='bar']")
        assert [b.get("data-month") for b in bars] == months
        assert [int(b.get("data-count")) for b in bars] == [counts[m] for m in months]
        # heights proportional to the recounted counts (one scale, from 0)
        scale = {round(float(b.get("height")) / counts[m], 2) for b, m in zip(bars, months) if counts[m]}
        assert len(scale) == 1 or max(scale) - min(scale) < 0.01 * max(scale), (slug, scale)
    # the busiest named map point of drugs in Leeds (a name at a point), recounted
    drugs = Counter((r["Location"], r["Longitude"], r["Latitude"]) for r in recount["rows"]
                    if r["Crime type"] == "Drugs" and r["Longitude"])
    ((name, _, _), n), (_, second) = drugs.most_common(2)
    first_row = re.search(r"<tbody>\s*<tr><td>([^<]*)</td><td class=\"num\">(\d+)</td>", element(page, "locations-drugs"))
    assert (htmllib.unescape(first_row.group(1)), int(first_row.group(2))) == (name, n) and n > second
    # key figures: the theme-mix chart is sorted by value and drawn to the recount
    (mix,) = svgs(element(page, "key-figures"))
    bars = mix.findall(f".//{SVG_NS}rect[@class='bar']")
    values = [int(b.get("data-value").replace(",", "")) for b in bars]
    assert values == sorted(values, reverse=True)
    assert sorted(values) == sorted(sum(c.values()) for s, c in recount["monthly"].items() if s != "all_crime")
    widths = [float(b.get("width")) / v for b, v in zip(bars, values)]
    assert max(widths) - min(widths) < 0.01 * max(widths)


@pytest.mark.parametrize("audience", AUDIENCES)
def test_vulnerability_people_places_partner_tables_and_deprivation(pages, recount, audience):
    page = pages[audience]
    people = text(element(page, "people"))
    vp = pd.read_csv(DATA / "restricted" / "SYNTHETIC_vulnerable_persons.csv")
    vp = vp[vp["District"] == "Leeds"]
    if audience == "force":
        assert f"{len(vp)} in Leeds:" in people
        for k, n in vp["Vulnerability"].value_counts().items():
            assert f"{k} {n}" in people
    elif audience == "partner":
        assert "Vulnerable persons" in people and "at least" in people
        assert not re.search(r"\d\+", people)  # "at least N", never "N+"
        for k in vp["Vulnerability"].unique():  # categories are withheld from partners
            assert k not in people
    else:
        assert "not part of a public profile" in people and "Vulnerable persons" not in page
    places = text(element(page, "context"))
    assert "Schools" in places and 'class="folium-map' in element(page, "context")
    dep = text(element(page, "deprivation"))
    assert f"All crime and ASB {100 * recount['all_in_decile1']:.1f}%" in dep
    assert element(page, "partner-tables")


def test_partner_neighbourhood_table_is_sorted_by_value_with_names(pages, demo_root):
    section = element(pages["partner"], "partner-tables")
    rows = re.findall(r"<tr><td>([^<]+) \((E02\d{6})\)</td>\s*((?:<td class=\"num\">[^<]*</td>)+)</tr>", section)
    assert len(rows) > 20
    names = {r["MSOA Code"]: r["MSOA Name"] for r in lookup_rows()}
    firsts = []
    for name, code, cells in rows:
        assert names[code] == htmllib.unescape(name)
        first = htmllib.unescape(re.findall(r">([^<]*)<", cells)[0])
        firsts.append(first)
    key = [(0, -int(v)) if v.isdigit() else (1, 0) if v.startswith("<") else (2, 0) for v in firsts]
    assert key == sorted(key)


def test_ocg_presence_and_nominals_for_the_force_only(pages):
    ocg = pd.read_csv(DATA / "restricted" / "SYNTHETIC_ocg_members.csv")
    ocg = ocg[ocg["District"] == "Leeds"]
    force = text(element(pages["force"], "ocg"))
    assert f"{len(ocg)} in Leeds, from {ocg['OCG ID'].nunique()} OCGs" in force
    for role, n in ocg["Role"].value_counts().items():
        assert f"{role} {n}" in force
    per = ocg["OCG ID"].value_counts()
    rows = re.findall(r"<tr><td>(OCG-SYN-\d+)</td><td class=\"num\">(\d+)</td></tr>", element(pages["force"], "ocg"))
    assert [(g, int(n)) for g, n in rows] == sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))
    assert "5.2 Nominal prioritisation" in force
    for a in ("partner", "public"):
        other = element(pages[a], "ocg")
        assert "OCG-SYN" not in other and "N-SYN" not in other and "Nominal prioritisation" not in other


@pytest.mark.parametrize("audience", AUDIENCES)
def test_priority_chart_draws_the_ranked_tables_scores(pages, demo_root, audience):
    section = element(pages[audience], "priority")
    layer = pyogrio.read_dataframe(demo_root / audience / "results.gpkg", layer="priority_neighbourhoods")
    top = layer.sort_values("rank").head(10)
    (chart,) = svgs(section)
    a = chart.findall(f".//{SVG_NS}rect[@class='bar-a']")
    b = chart.findall(f".//{SVG_NS}rect[@class='bar-b']")
    assert [r.get("data-label").split(" (")[0] for r in a] == list(top["name"])
    for bars, col in ((a, "threat"), (b, "vulnerability")):
        assert [round(float(r.get("data-value")), 3) for r in bars] == [round(v, 3) for v in top[col]]
        per_unit = [float(r.get("width")) / v for r, v in zip(bars, top[col]) if v > 0.05]
        assert max(per_unit) - min(per_unit) < 0.02 * max(per_unit)
    assert chart.find(f"{SVG_NS}title").text.startswith("Priority scores")


@pytest.mark.parametrize("audience", AUDIENCES)
def test_data_quality_caveats_methodology_and_sources(pages, catalog, audience):
    page = pages[audience]
    dq = text(element(page, "data-quality"))
    for caveat in ("Anonymised map points.", "Month-level dates.", "LSOA vintages.", "Record accounts."):
        assert caveat in dq
    assert "LSOA December 2011" in dq  # the boundaries' vintage, from the catalog
    assert f"crimes {27176 + 28537:,} " in dq  # the record account: both archives read
    meth = element(page, "methodology")
    if audience == "force":
        assert "<details" not in meth and "esda.G_Local" in meth
    else:
        assert "in plain words" in meth and re.search(r"<details class=\"technical\">.*esda\.G_Local.*</details>", meth, re.S)
    src = text(element(page, "sources"))
    for name, spec in catalog["layers"].items():
        if spec["sensitivity"] == "open":
            assert spec["licence"] in src and spec["vintage"] in src, name


# --- partner and public views ---------------------------------------------------------------------

@pytest.mark.parametrize("audience", ["partner", "public"])
def test_partner_and_public_hold_no_p_values_or_package_names_outside_the_details(pages, audience):
    page = pages[audience]
    body = page[page.index("<body>"):]
    outside = re.sub(r"<details\b.*?</details>", "", body, flags=re.S)
    assert len(outside) < len(body)  # there was a toggle to take out
    low = outside.lower()
    found = [w for w in JARGON if w in low]
    assert found == [], found
    assert "esda" in body.lower()  # the detail is still there, behind the toggle
    # and the force's view keeps its technical columns
    assert "p (exact)" in pages["force"]


def test_totals_behind_hidden_counts_read_at_least(pages, demo_root):
    import json

    s = json.loads((demo_root / "partner" / "summary.json").read_text(encoding="utf-8"))
    shown = [c["in_district"] for c in s["context"].values() if isinstance(c["in_district"], str) and c["in_district"].endswith("+")]
    assert shown  # summary.json keeps its "N+"
    page = pages["partner"]
    for v in shown:
        n = int(v[:-1])
        if n:
            assert f"at least {n:,}" in text(page)
    assert not re.search(r">\s*\d[\d,]*\+\s*<", page)


# --- charts ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_chart_is_well_formed_svg_with_a_title(pages, audience):
    charts = svgs(pages[audience])
    assert len(charts) >= 9  # a trend per theme, the theme mix, the priority scores
    for c in charts:
        assert c.tag == f"{SVG_NS}svg" and c.get("role") == "img"
        assert (c.find(f"{SVG_NS}title").text or "").strip()


@pytest.mark.parametrize("audience", ["partner", "public"])
def test_no_restricted_identifier_or_label_in_partner_or_public_svg(pages, catalog, audience):
    ids = set()
    for f, cols in (("SYNTHETIC_ocg_members.csv", ["Nominal ID", "OCG ID"]), ("SYNTHETIC_cse_locations.csv", ["Location ID"]),
                    ("SYNTHETIC_vulnerable_persons.csv", ["Person ID"]), ("SYNTHETIC_repeat_offenders.csv", ["Offender ID"]),
                    ("SYNTHETIC_nominals.csv", ["Nominal ID"])):
        frame = pd.read_csv(DATA / "restricted" / f, dtype=str)
        for c in cols:
            ids |= set(frame[c])
    labels = [s["label"] for s in catalog["layers"].values() if s["sensitivity"] == "restricted"]
    words = " ".join(" ".join(e.itertext()) + " " + " ".join(v for el in e.iter() for v in el.attrib.values())
                     for e in svgs(pages[audience]))
    assert words.strip()
    assert [i for i in ids if i in words] == []
    # partners may see the restricted layers' labels in their tables; no chart needs one, and the
    # public may not see them at all
    assert [l for l in labels if l in words] == []
    if audience == "public":
        assert [l for l in labels if htmllib.escape(l) in pages["public"] or l in pages["public"]] == []


def test_trend_chart_draws_lines_for_more_than_two_months_proportional_and_escaped():
    from localprofile.render.charts import bar_chart, trend_chart

    months = ["2017-01", "2017-02", "2017-03", "2017-04"]
    counts = {"2017-01": 10, "2017-02": 40, "2017-04": 25}
    svg = trend_chart(months, counts, 'Drugs <b>&</b> "supply"')
    assert svg == trend_chart(months, counts, 'Drugs <b>&</b> "supply"')  # deterministic
    root = ET.fromstring(str(svg))
    assert root.find(f"{SVG_NS}title").text == 'Drugs <b>&</b> "supply": crimes per month'
    assert root.findall(f".//{SVG_NS}rect[@class='bar']") == []
    pts = root.findall(f".//{SVG_NS}circle[@class='point']")
    base = max(float(l.get("y1")) for l in root.findall(f"{SVG_NS}line"))  # the x axis
    heights = [base - float(p.get("cy")) for p in pts]
    assert heights[2] == 0
    for h, m in zip(heights, months):
        if counts.get(m):
            assert h / counts[m] == pytest.approx(heights[1] / 40, rel=0.01)
    line = root.find(f"{SVG_NS}polyline").get("points").split()
    assert [float(p.split(",")[1]) for p in line] == [float(p.get("cy")) for p in pts]
    hostile = bar_chart([("<script>alert(1)</script>", 3)], "x & y")
    assert "<script>" not in hostile
    assert ET.fromstring(str(hostile)).find(f".//{SVG_NS}text").text == "<script>alert(1)</script>"


# --- the "open data only" title rule ---------------------------------------------------------------

def test_a_title_claiming_open_data_only_is_refused_beside_restricted_layers(tmp_path, catalog):
    from localprofile.catalog import load_catalog
    from localprofile.errors import InputError

    assert "open data only" not in catalog["profile"]["title"].lower()
    for title in ("SOC profile (open data only)", "SOC profile: Open-Data Only"):
        cat = write_catalog(tmp_path, restricted=True, profile={"title": title})
        with pytest.raises(InputError) as exc:
            load_catalog(cat)
        msg = str(exc.value)
        assert "profile.title" in msg and "open data only" in msg and "ocg_members" in msg and "\n" not in msg
    # without restricted layers the claim is true, and allowed
    cat = write_catalog(tmp_path, restricted=False, profile={"title": "SOC profile (open data only)"})
    assert load_catalog(cat).profile.title == "SOC profile (open data only)"


def test_the_cli_states_the_title_error_on_one_line(tmp_path):
    from conftest import one_line_error, run_cli

    cat = write_catalog(tmp_path, restricted=True, profile={"title": "Leeds (open data only)"})
    one_line_error(run_cli("validate", "--catalog", str(cat), "--audience", "public"), "profile.title", "open data only")


# --- printed to A4 --------------------------------------------------------------------------------

@pytest.mark.browser
@pytest.mark.parametrize("audience", AUDIENCES)
def test_printed_to_a4_every_page_carries_the_marking(demo_root, audience):
    import pypdf
    from playwright.sync_api import sync_playwright
    from test_html_offline import _chromium

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=_chromium() or None, args=["--no-sandbox", "--disable-gpu"])
        ctx = browser.new_context(offline=True)
        page = ctx.new_page()
        page.goto((demo_root / audience / "index.html").resolve().as_uri(), wait_until="load")
        page.wait_for_timeout(300)
        pdf = page.pdf(format="A4")
        browser.close()
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) > 10
    marking = MARKING[audience]
    for i, pg in enumerate(reader.pages):
        assert (round(float(pg.mediabox.width)), round(float(pg.mediabox.height))) in {(595, 842), (596, 843)}
        words = pg.extract_text()
        # at the head and the foot of the page: twice at least
        found = re.findall(rf"(?<![\w-]){re.escape(marking)}(?![\w-])", words)
        assert len(found) >= 2, (i, words[:200], words[-200:])
        if audience == "public":
            assert "OFFICIAL-SENSITIVE" not in words
    first = reader.pages[0].extract_text()
    assert "1 · Cover" in first or "1 · COVER" in first.upper()
