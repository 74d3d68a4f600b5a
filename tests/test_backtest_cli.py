"""Step 3, acceptance 3: `localprofile backtest` trained on 2016-07 and tested on 2017-07 for Leeds."""

from __future__ import annotations

import json
import math

import pytest
from conftest import CATALOG, read_police_rows, lookup_rows, run_cli


@pytest.fixture(scope="module")
def result():
    res = run_cli("backtest", "--catalog", str(CATALOG), "--district", "Leeds", "--audience", "force", "--train", "2016-07", "--test", "2017-07")
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def test_the_table_has_every_method_and_coverage(result):
    rows = result["metrics"]
    assert {(r["method"], r["coverage"]) for r in rows} == {
        (m, c) for m in ("count", "kde", "gistar", "prospective", "rtm") for c in (0.01, 0.05, 0.10)}
    for m in ("count", "kde", "gistar", "prospective", "rtm"):
        hr = [r["hit_rate"] for r in rows if r["method"] == m]
        assert hr == sorted(hr) and all(0 < h < 1 for h in hr)
        five = next(r for r in rows if r["method"] == m and r["coverage"] == 0.05)
        assert five["pai"] > 1 and 0 < five["pei"] <= 1
        assert five["pai"] == pytest.approx(five["hit_rate"] / five["area_share"])


def test_counts_are_the_months_crimes(result):
    leeds = {r["LSOA Code"] for r in lookup_rows() if r["Local authority name"] == "Leeds"}
    train = sum(1 for r in read_police_rows() if r["Month"] == "2016-07" and r["LSOA code"] in leeds and r["Longitude"])
    assert result["train_crimes_in_district"] == train
    assert result["train_months"] == ["2016-07"] and result["test_months"] == ["2017-07"]
    assert any(c["what"].startswith("bandwidth") for c in result["choices"])


@pytest.mark.parametrize("args,needle", [
    (["--train", "2015-01", "--test", "2017-07"], "no crimes for 2015-01"),
    (["--train", "2016-07", "--test", "2016-07"], "both training and test months"),
    (["--train", "2016-07", "--test", "2017-07", "--theme", "knives"], "no theme 'knives'"),
    (["--train", "2016-07", "--test", "2017-13"], "bad month '2017-13'"),
    (["--train", "2016-07", "--test", "2017-07", "--coverages", "0.05,5"], "between 0 and 1"),
])
def test_bad_arguments_are_one_line(args, needle):
    res = run_cli("backtest", "--catalog", str(CATALOG), "--district", "Leeds", "--audience", "force", *args)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and needle in res.stderr, res.stderr


def test_build_with_test_months_puts_the_table_in_the_profile(tmp_path):
    res = run_cli("build", "--catalog", str(CATALOG), "--district", "Leeds", "--audience", "public",
                  "--test-months", "2017-07", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert set(s["backtest"]) == set(s["themes"])
    rows = s["backtest"]["all_crime"]
    assert len(rows) == 12 and all(r["pai"] > 1 for r in rows if r["coverage"] == 0.05)
    html = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    assert "<h3>Backtest</h3>" in html
    c = next(c for c in s["choices"] if c["what"] == "backtest")
    assert c["value"] == "trained on 2016-07, tested on 2017-07"


def test_the_backtest_grid_is_the_profiles(result, tmp_path):
    """The Gi* method is scored on the profile's cells: buffer cells beyond the loaded data (West
    Yorkshire's edge) are left out, as in the profile, and the kernel is the catalog's."""
    from conftest import write_catalog

    from localprofile.build import build_profile
    from localprofile.engine.grid import make_grid

    cat = write_catalog(tmp_path, profile={"bandwidth_m": result["bandwidth_m"],
                                           "cell_size_m": result["cell_size_m"]})
    prof = build_profile(cat, "Leeds", audience="public")
    g = result["grid"]
    assert prof.grid.buffer == g["buffer_m"] and result["kernel"] == "quartic"
    assert g["active_cells"] == int(prof.grid.active.sum())
    assert g["cells_in_district"] == int(prof.grid.in_area.sum())
    every = make_grid(prof.district.polygon, result["cell_size_m"], g["buffer_m"])  # no coverage rule
    assert g["active_cells"] < int(every.active.sum())

    def run(folder, **profile):
        folder.mkdir()
        cat = write_catalog(folder, profile=profile)
        res = run_cli("backtest", "--catalog", str(cat), "--district", "Leeds", "--train", "2016-07",
                      "--test", "2017-07")
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    # the automatic bandwidth of a Gaussian is the rule's radius divided by 2 sqrt 2, as in the profile, and
    # the buffer reaches the 4 standard deviations at which the kernel is cut
    auto = run(tmp_path / "g", kernel="gaussian")
    assert auto["kernel"] == "gaussian"
    assert auto["bandwidth_m"] == pytest.approx(result["bandwidth_m"] / (2 * math.sqrt(2)), abs=0.06)
    cs = auto["cell_size_m"]
    assert auto["grid"]["buffer_m"] == math.ceil(4 * auto["bandwidth_m"] / cs) * cs
    # at one given bandwidth, only the kernel differs, and so do the KDE method's hits
    gauss = run(tmp_path / "g400", kernel="gaussian", bandwidth_m=400.0)
    quart = run(tmp_path / "q400", kernel="quartic", bandwidth_m=400.0)
    def kde_hits(r):
        return [m["hits"] for m in r["metrics"] if m["method"] == "kde"]

    def count_hits(r):
        return [m["hits"] for m in r["metrics"] if m["method"] == "count"]

    assert kde_hits(gauss) != kde_hits(quart) and count_hits(gauss) == count_hits(quart)
