"""Permutation Gi*, other p-value adjustments and LISA in built profiles."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
from conftest import run_cli, write_catalog
from scipy import stats


def test_lisa_labels_in_the_lsoa_layer(demo_out, demo_summary):
    lsoa = gpd.read_file(demo_out / "results.gpkg", layer="lsoa")
    labels = lsoa["lisa_all_crime"].dropna()
    assert set(labels) <= {"high-high", "low-low", "high-low", "low-high", "not significant"}
    assert labels.value_counts().to_dict() == demo_summary["themes"]["all_crime"]["lisa"]
    hh = lsoa[lsoa["lisa_all_crime"] == "high-high"]
    # high-high LSOAs have rates above the district's mean LSOA rate
    assert len(hh) and (hh["rate_all_crime"] > lsoa["rate_all_crime"].mean()).all()


def test_permutation_inference_and_bonferroni(tmp_path):
    cat = write_catalog(tmp_path, profile={"inference": "permutation", "permutations": 9999,
                                           "p_adjust": "bonferroni"})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    c = next(c for c in s["choices"] if c["what"] == "Gi* p-values")
    assert c["value"] == "permutation, 9,999 permutations" and "bonferroni" in c["why"]
    # the map legend and the methodology name the settings used, not the defaults
    html = (tmp_path / "o" / "index.html").read_text(encoding="utf-8")
    assert "q &lt; 0.05 (Bonferroni)" in html and "Benjamini" not in html
    assert "by conditional\npermutation (9,999 permutations)" in html
    g = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="grid_all_crime")
    inside = g["in_study_area"].astype(bool).to_numpy()
    p = g.loc[inside, "gi_p"].to_numpy()
    # pseudo p-values: multiples of 1/(P+1), doubled for two sides
    k = p * 10000 / 2
    np.testing.assert_allclose(k, np.round(k), atol=1e-6)
    np.testing.assert_allclose(g.loc[inside, "gi_q"], np.minimum(1, p * inside.sum()))
    # the analytical z and the permutation p agree on the strongest hot cells (the permutation
    # p is larger: redrawn neighbourhoods can include other busy cells, which the normal
    # approximation ignores)
    strong = g.loc[inside & (g["gi_z"] > 6).to_numpy(), "gi_p"]
    assert len(strong) and (strong < 0.05).all()
    z = g.loc[inside, "gi_z"].to_numpy()
    assert stats.spearmanr(-np.abs(z), p).statistic > 0.5


def test_fewer_than_9999_permutations_are_refused(tmp_path):
    cat = write_catalog(tmp_path, profile={"inference": "permutation", "permutations": 999})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "permutations" in res.stderr and "9999" in res.stderr
