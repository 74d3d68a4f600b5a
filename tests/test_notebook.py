"""The analyst notebook runs top to bottom on the shipped data (its code cells, in order)."""

import json
import os

from conftest import ROOT


def test_notebook_runs(tmp_path, monkeypatch):
    nb = json.loads((ROOT / "notebooks" / "leeds_demo.ipynb").read_text(encoding="utf-8"))
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    assert len(code) >= 5
    # run from a copy of the repository's root layout so outputs land in tmp_path
    for name in ("data", "data_catalog.yaml"):
        os.symlink(ROOT / name, tmp_path / name)
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    ns: dict = {}
    for i, src in enumerate(code):
        exec(compile(src, f"notebook cell {i}", "exec"), ns)
    assert ns["profile"].district.name == "Leeds"
    assert "index.html" in ns["written"]
    assert (tmp_path / "out" / "notebook-leeds" / "summary.json").exists()
