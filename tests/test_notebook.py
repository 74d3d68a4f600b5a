"""The analyst notebook runs top to bottom on the shipped data (its code cells, in order), calls
every stage of ``build_profile`` in the pipeline's order, and its stage-by-stage profile is the
one ``build_profile`` gives."""

from __future__ import annotations

import ast
import json
import os
import re

import pytest
from conftest import ROOT, lookup_rows, read_police_rows

NOTEBOOK = ROOT / "notebooks" / "leeds_demo.ipynb"


def _notebook() -> dict:
    return json.loads(NOTEBOOK.read_text(encoding="utf-8"))


def _code(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def pipeline_stages() -> list[str]:
    """The functions ``build_profile`` calls that localprofile/build.py imports from the
    stages (and the catalog and themes modules), in the order of their first call."""
    tree = ast.parse((ROOT / "localprofile" / "build.py").read_text(encoding="utf-8"))
    imported = {a.asname or a.name for n in tree.body if isinstance(n, ast.ImportFrom)
                and n.level == 1 and (n.module or "").startswith(("stages", "catalog", "themes"))
                for a in n.names}
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build_profile")
    calls = sorted((n for n in ast.walk(fn) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                    and n.func.id in imported), key=lambda n: (n.lineno, n.col_offset))
    return list(dict.fromkeys(n.func.id for n in calls))


def _called(src: str) -> list[tuple[int, int, str]]:
    return [(n.lineno, n.col_offset, n.func.id) for n in ast.walk(ast.parse(src))
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]


def test_notebook_calls_every_stage_in_the_pipelines_order():
    stages = pipeline_stages()
    # the pipeline as build.py composes it today (a new stage there must reach the notebook)
    assert {"load_catalog", "audience_policy", "load_inputs", "place_crimes", "choose_scale", "lsoa_base",
            "plan_methods", "analyse_theme", "context_layers", "priority_neighbourhoods", "risk_terrains",
            "theme_scores", "nominal_priorities", "assemble_profile"} <= set(stages)
    first = {}
    for i, src in enumerate(_code(_notebook())):
        for line, col, name in sorted(_called(src)):
            first.setdefault(name, (i, line, col))
    missing = [s for s in stages if s not in first]
    assert missing == [], f"stages of build_profile the notebook never calls: {missing}"
    in_notebook = sorted(stages, key=first.get)
    # theme_scores is called inside assemble_profile's arguments in build.py; the notebook calls
    # it beforehand, as a stage of its own
    assert [s for s in in_notebook if s != "theme_scores"] == [s for s in stages if s != "theme_scores"]


def test_notebook_is_stored_without_outputs():
    text = NOTEBOOK.read_text(encoding="utf-8")
    nb = json.loads(text)
    for c in nb["cells"]:
        if c["cell_type"] == "code":
            assert c["outputs"] == [] and c["execution_count"] is None
    assert text == json.dumps(nb, indent=1, ensure_ascii=False) + "\n"  # one canonical form
    last = nb["cells"][-1]
    assert last["cell_type"] == "markdown" and "".join(last["source"]).startswith("## More stages")
    # words between the code: never three code cells in a row
    kinds = "".join("c" if c["cell_type"] == "code" else "m" for c in nb["cells"])
    assert "ccc" not in kinds


@pytest.fixture(scope="module")
def ran(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("notebook")
    # run from a copy of the repository's root layout so outputs land in tmp
    for name in ("data", "data_catalog.yaml"):
        os.symlink(ROOT / name, tmp / name)
    (tmp / "notebooks").mkdir()
    here = os.getcwd()
    os.chdir(tmp / "notebooks")
    ns: dict = {}
    try:
        for i, src in enumerate(_code(_notebook())):
            exec(compile(src, f"notebook cell {i}", "exec"), ns)
    finally:
        os.chdir(here)
    return tmp, ns


def test_notebook_runs_and_its_stages_give_build_profiles_profile(ran):
    from localprofile.render.summary import summary_dict

    tmp, ns = ran
    staged, profile = ns["staged"], ns["profile"]
    assert profile.district.name == "Leeds" and profile.audience == "force"
    a, b = summary_dict(staged), summary_dict(profile)
    for key in ("crimes", "population", "themes", "context", "priority_neighbourhoods", "theme_priorities",
                "choices", "grid", "nominals"):
        assert a[key] == b[key], key
    assert list(staged.rtm) == list(profile.rtm) and len(profile.rtm) > 0
    for slug in profile.rtm:
        assert staged.rtm[slug].factors.equals(profile.rtm[slug].factors)
    assert staged.overlay.table.drop(columns="geometry").equals(profile.overlay.table.drop(columns="geometry"))


def test_notebook_figures_equal_a_recount(ran):
    """All crime and drugs in Leeds, recounted from the raw police.uk rows (each crime ID once)."""
    _, ns = ran
    leeds = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds"}
    seen, rows = set(), []
    for r in read_police_rows():
        cid = r["Crime ID"].strip()
        if cid and cid in seen:
            continue
        seen.add(cid)
        rows.append(r)
    figures = ns["figures"]
    assert figures.loc["all_crime", "crimes"] == sum(r["LSOA code"].strip() in leeds for r in rows)
    assert figures.loc["drugs", "crimes"] == sum(r["LSOA code"].strip() in leeds and r["Crime type"] == "Drugs"
                                                 for r in rows)
    # every stage-8 analysis is the profile's theme
    assert {s: a.result.crimes for s, a in ns["analyses"].items()} == figures["crimes"].to_dict()


def test_notebook_writes_the_outputs_and_a_front_page(ran):
    tmp, ns = ran
    folder = tmp / "out" / "notebook" / "leeds" / "force"
    assert {"index.html", "summary.json", "results.gpkg"} <= set(ns["written"])
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    assert summary["crimes"] == ns["profile"].crimes
    page = (tmp / "out" / "notebook" / "index.html").read_text(encoding="utf-8")
    href = re.search(r'<a href="([^"]+)">Leeds</a>', page).group(1)
    assert (tmp / "out" / "notebook" / href).resolve() == (folder / "index.html").resolve()
    assert f"{summary['crimes']:,}" in page and summary["marking"] in page
