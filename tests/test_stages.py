"""Each build stage alone (localprofile.stages), checked against independent counts of the shipped
files; the stages compose into build and backtest; no import cycles in the package."""

from __future__ import annotations

import ast
import csv
from collections import Counter
from pathlib import Path

import pytest
from conftest import CATALOG, DATA, ROOT, lookup_rows, read_police_rows, run_cli, write_catalog

from localprofile.catalog import load_catalog
from localprofile.errors import InputError
from localprofile.stages.audience import audience_policy
from localprofile.stages.context import context_layers
from localprofile.stages.inputs import load_inputs
from localprofile.stages.lsoa_base import lsoa_base
from localprofile.stages.methods import plan_methods
from localprofile.stages.place import place_crimes
from localprofile.stages.scale import choose_scale
from localprofile.stages.theme import analyse_theme
from localprofile.themes import resolve_themes

LEEDS = "E08000035"


@pytest.fixture(scope="module")
def cat():
    return load_catalog(CATALOG)


@pytest.fixture(scope="module")
def public(cat):
    policy = audience_policy(cat, "public")
    inputs = load_inputs(cat, policy)
    placed = place_crimes(cat, inputs.roles, inputs.loaded, "Leeds", inputs.lookup_file)
    return policy, inputs, placed


def leeds_lsoas() -> set[str]:
    return {r["LSOA Code"] for r in lookup_rows() if r["Local authority code"] == LEEDS}


def test_audience_policy_reads_nothing_restricted_for_the_public(cat):
    restricted = {n for n, s in cat.layers.items() if s.sensitivity == "restricted"}
    assert restricted  # the demo has restricted layers, so the checks below mean something
    assert audience_policy(cat, "public").skip == restricted
    assert audience_policy(cat, "force").skip == set()
    assert audience_policy(cat, "partner").skip == {n for n in restricted if n not in cat.with_role("points")}
    with pytest.raises(InputError, match="--audience"):
        audience_policy(cat, None)
    with pytest.raises(InputError, match="unknown audience"):
        audience_policy(cat, "press")


def test_load_inputs_withholds_restricted_accounts_from_partners(cat):
    inputs = load_inputs(cat, audience_policy(cat, "partner"))
    s = inputs.summaries["ocg_members"]
    assert s.files == ["withheld"] and s.meta == {}
    assert inputs.summaries[inputs.roles["crimes"]].files != ["withheld"]


def test_place_crimes_counts_leeds_as_the_csvs_do(public):
    _, _, placed = public
    lsoas = leeds_lsoas()
    expected = sum(r["LSOA code"] in lsoas for r in read_police_rows())
    assert placed.area.code == LEEDS
    assert int(placed.in_district.sum()) == expected
    located = sum(bool(r["Longitude"]) for r in read_police_rows())
    assert int(placed.located.sum()) == located


def test_lsoa_base_residents_are_the_census_sum(public):
    _, inputs, placed = public
    base = lsoa_base(placed.area, inputs.frame)
    with open(DATA / "census" / "census2011_population_households_lsoa11_west_yorkshire.csv",
              newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    head = rows[0]
    code, persons = head.index("LSOA Code"), head.index("Persons")
    census = {r[code]: int(r[persons].replace(",", "")) for r in rows[1:] if r and r[code]}
    assert set(base.lsoa["lsoa_code"]) == leeds_lsoas()
    assert int(base.residents) == sum(census[c] for c in leeds_lsoas())


def test_choose_scale_uses_given_values_and_covers_the_district(cat, public):
    _, _, placed = public
    s = choose_scale(cat.profile, placed, {"all_crime": placed.located}, cell_size=400, bandwidth=600)
    assert s.cell_size == 400 and s.bandwidths == {"all_crime": 600.0}
    assert s.buffer % 400 == 0 and s.buffer >= 600
    assert s.grid.cell_size == 400
    xmin, ymin, xmax, ymax = placed.area.polygon.bounds
    assert s.grid.x0 <= xmin - s.buffer + 400 and s.grid.y1 >= ymax + s.buffer - 400
    assert [c.what for c in s.choices][:2] == ["cell size (m)", "bandwidth (m), all_crime"]
    auto = choose_scale(cat.profile, placed, {"all_crime": placed.located})
    assert auto.choices[0].why != "given by the user" and auto.cell_size > 0


@pytest.mark.parametrize("bad", [0, -250, float("nan")])
def test_choose_scale_refuses_bad_lengths_naming_the_option(cat, public, bad):
    _, _, placed = public
    with pytest.raises(InputError, match="--cell-size"):
        choose_scale(cat.profile, placed, {"all_crime": placed.located}, cell_size=bad)
    with pytest.raises(InputError, match="--bandwidth"):
        choose_scale(cat.profile, placed, {"all_crime": placed.located}, bandwidth=bad)


def test_backtest_and_build_give_the_same_one_line_error_for_a_tiny_cell(tmp_path):
    common = ["--catalog", str(write_catalog(tmp_path)), "--district", "Leeds", "--cell-size", "2"]
    b = run_cli("build", *common, "--out", str(tmp_path / "o"))
    t = run_cli("backtest", *common, "--train", "2016-07", "--test", "2017-07")
    for res in (b, t):
        assert res.returncode == 2, (res.stdout, res.stderr)
        assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
        # the same error (the buffer follows each one's bandwidth: all months, or training months)
        assert res.stderr.startswith("error: key '--cell-size': a 2 m grid over Leeds and its ")
        assert res.stderr.rstrip().endswith("cells (at most 25,000,000); use a larger cell size")


def test_plan_methods_splits_the_months_and_weights_the_lisa(cat, public):
    _, inputs, placed = public
    s = choose_scale(cat.profile, placed, {"all_crime": placed.located}, cell_size=500, bandwidth=800)
    base = lsoa_base(placed.area, inputs.frame)
    m = plan_methods(cat, placed, s, base, inputs.frame)
    assert m.months == ["2016-07", "2017-07"] and m.split == "2017-07"
    assert m.steps is None  # two months: too few for emerging hot spots, and the choice says why
    assert next(c for c in m.choices if c.what == "emerging hotspots").value == "not computed"
    assert m.lisa_w.shape == (int(m.lisa_sel.sum()),) * 2
    # residents on the grid: all of the district's, some of its neighbours' (in the buffer)
    pop = inputs.frame["population"]
    loaded = pop[pop["lsoa_code"].isin(placed.boundaries["lsoa_code"])]["population"].sum()
    assert base.residents < m.residents_binned.sum() < loaded


def test_analyse_theme_counts_each_lsoa_as_the_csvs_do(cat, public):
    _, inputs, placed = public
    themes = resolve_themes(cat.themes, cat.source)
    theme = themes["drugs"]
    mask = theme.mask(placed.crimes["crime_type"])
    s = choose_scale(cat.profile, placed, {"drugs": mask}, cell_size=500, bandwidth=800)
    base = lsoa_base(placed.area, inputs.frame)
    t = analyse_theme("drugs", theme, mask, cat.profile, placed, s, base,
                      plan_methods(cat, placed, s, base, inputs.frame))
    lsoas = leeds_lsoas()
    expected = Counter(r["LSOA code"] for r in read_police_rows()
                       if r["Crime type"] == "Drugs" and r["LSOA code"] in lsoas)
    got = dict(zip(base.lsoa["lsoa_code"], t.columns["count_drugs"]))
    assert {k: v for k, v in got.items() if v} == dict(expected)
    assert t.result.crimes == sum(expected.values())
    assert t.choices and all(c.what.endswith(", drugs") for c in t.choices)


def test_context_layers_give_partners_only_suppressed_neighbourhood_counts(cat):
    policy = audience_policy(cat, "partner")
    inputs = load_inputs(cat, policy)
    placed = place_crimes(cat, inputs.roles, inputs.loaded, "Leeds", inputs.lookup_file)
    s = choose_scale(cat.profile, placed, {"all_crime": placed.located}, cell_size=500, bandwidth=800)
    c = context_layers(cat, policy, inputs, placed, lsoa_base(placed.area, inputs.frame), s)
    ocg = c.layers["ocg_members"]
    assert ocg.points is None and ocg.lsoa_counts is None
    assert not any(k.startswith("context__ocg") for k in c.columns)
    schools = next(n for n in c.layers if cat.layers[n].sensitivity == "open")
    assert c.layers[schools].lsoa_counts is not None


def test_every_theme_records_its_own_choices(demo_summary):
    whats = [c["what"] for c in demo_summary["choices"]]
    for slug in demo_summary["themes"]:
        assert f"bandwidth (m), {slug}" in whats
        assert any(w.endswith(f", {slug}") and not w.startswith("bandwidth") for w in whats), slug


def test_build_profile_is_a_short_composition_of_the_stages():
    src = (ROOT / "localprofile" / "build.py").read_text(encoding="utf-8")
    fn = next(n for n in ast.parse(src).body if isinstance(n, ast.FunctionDef) and n.name == "build_profile")
    assert fn.end_lineno - fn.lineno + 1 < 80
    called = {n.func.id for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    assert {"audience_policy", "load_inputs", "place_crimes", "choose_scale", "lsoa_base",
            "plan_methods", "analyse_theme", "context_layers", "assemble_profile"} <= called


def _imports(path: Path, package: str) -> set[str]:
    """The package modules ``path`` imports at module level (not inside functions)."""
    mod = ast.parse(path.read_text(encoding="utf-8"))
    out = set()
    for node in mod.body:
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.split(".")[: len(package.split(".")) - node.level + 1]
            target = ".".join(base + ([node.module] if node.module else []))
            out.add(target)
            out.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("localprofile"):
            out.add(node.module)
    return out


def test_no_import_cycles():
    dirs = {"localprofile": ROOT / "localprofile", "localprofile.layers": ROOT / "layers"}
    files = {}
    for pkg, d in dirs.items():
        for p in d.rglob("*.py"):
            rel = p.relative_to(d).with_suffix("")
            parts = [x for x in rel.parts if x != "__init__"]
            name = ".".join([pkg, *parts])
            if name.startswith("localprofile.layers.") and pkg == "localprofile":
                continue
            files[name] = (p, ".".join([pkg, *rel.parts[:-1]]) if rel.name != "__init__" else name)
    graph = {m: {t for t in _imports(p, pkg) if t in files and t != m} for m, (p, pkg) in files.items()}
    # a package's __init__ importing its own submodules is not a cycle through the modules
    for m in graph:
        graph[m] = {t for t in graph[m] if not (t.startswith(m + ".") and files[m][0].name == "__init__.py")}
    seen, stack, cycles = set(), [], []

    def visit(m):
        if m in stack:
            cycles.append(stack[stack.index(m):] + [m])
            return
        if m in seen:
            return
        seen.add(m)
        stack.append(m)
        for t in sorted(graph[m]):
            visit(t)
        stack.pop()

    for m in sorted(graph):
        visit(m)
    assert len(graph) > 40
    assert cycles == []
