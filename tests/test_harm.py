"""Harm weighting: unconfigured by default (no invented numbers); complete files weight every volume."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import shapely
import pytest
import yaml
from conftest import run_cli, write_catalog

from localprofile.errors import InputError
from localprofile.harm import load_harm_weights
from localprofile.themes import POLICE_UK_CRIME_TYPES


def test_the_shipped_file_lists_every_type_and_invents_nothing():
    h = load_harm_weights(None)
    assert not h.configured and h.weights == {}
    import importlib.resources as r

    listed = yaml.safe_load(r.files("localprofile").joinpath("harm_weights.yaml").read_text(encoding="utf-8"))
    assert set(listed) == set(POLICE_UK_CRIME_TYPES)


def test_demo_says_harm_weighting_is_unconfigured(demo_summary):
    c = next(c for c in demo_summary["choices"] if c["what"] == "harm weighting")
    assert c["value"] == "unconfigured" and "no published harm weight" in c["why"]
    assert all(t["harm"] is None for t in demo_summary["themes"].values())


def _weights(tmp_path, weights: dict) -> str:
    path = tmp_path / "harm.yaml"
    path.write_text(yaml.safe_dump({t: {"weight": w, "source": "test fixture"} for t, w in weights.items()}))
    return str(path)


def test_a_complete_file_weights_counts_kde_and_gi_star(tmp_path):
    weights = {t: 1.0 for t in POLICE_UK_CRIME_TYPES}
    weights["Drugs"] = 3.0
    cat = write_catalog(tmp_path, profile={"harm_weights": _weights(tmp_path, weights)})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert s["themes"]["drugs"]["harm"]["total"] == 3 * s["themes"]["drugs"]["crimes"]
    assert s["themes"]["robbery"]["harm"]["total"] == s["themes"]["robbery"]["crimes"]
    g = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="grid_robbery")
    np.testing.assert_allclose(g["harm_gi_z"], g["gi_z"], atol=1e-9)  # weight 1: same as volume
    np.testing.assert_allclose(g["harm_kde"], g["kde"], rtol=1e-9)
    d = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="grid_drugs")
    np.testing.assert_allclose(d["harm"], 3 * d["count"])
    assert (tmp_path / "o" / "harm_kde_drugs.tif").exists()
    lsoa = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="lsoa")
    np.testing.assert_allclose(lsoa["harm_drugs"], 3 * lsoa["count_drugs"])
    html = (tmp_path / "o" / "index.html").read_text()
    assert "Harm weighting is unconfigured" not in html
    # mapped as well: the harm KDE and the harm Gi* cells, on every theme's map
    assert html.count("Harm-weighted KDE (harm per km") == len(s["themes"])
    assert "Harm-weighted Gi* hot and cold cells" in html
    # harm-weighted volume is a threat indicator of the priority neighbourhoods (MSOAs: no audience)
    pri = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="priority_neighbourhoods")
    assert len(pri) == lsoa["msoa_code"].nunique()
    assert "SOC indicators harm" in s["priority_neighbourhoods"]["indicators"]


def test_harm_gi_star_follows_the_inference_setting(tmp_path):
    weights = {t: 1.0 for t in POLICE_UK_CRIME_TYPES}
    cat = write_catalog(tmp_path, profile={"harm_weights": _weights(tmp_path, weights),
                                           "inference": "permutation", "permutations": 9999})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    g = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="grid_robbery")
    # weight 1 everywhere: the harm grid is the count grid, so the same seeded permutation test
    # gives the same q; analytical q (from the normal z) would differ
    np.testing.assert_allclose(g["harm_gi_q"], g["gi_q"])
    from scipy import stats

    from localprofile.engine.permutation import adjust_p

    analytical_q = adjust_p(2 * stats.norm.sf(np.abs(g["gi_z"].to_numpy())))
    assert not np.allclose(g["harm_gi_q"], analytical_q)


def test_an_incomplete_file_is_an_error_naming_the_types(tmp_path):
    cat = write_catalog(tmp_path, profile={"harm_weights": _weights(tmp_path, {"Drugs": 2.0})})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "no harm weight for Anti-social behaviour" in res.stderr and "harm.yaml" in res.stderr


def test_a_weight_needs_its_source(tmp_path):
    path = tmp_path / "h.yaml"
    path.write_text("Drugs: {weight: 2}\n")
    with pytest.raises(InputError, match="needs its source"):
        load_harm_weights(path)
    path.write_text("Knife crime: {weight: 2, source: x}\n")
    with pytest.raises(InputError, match="not a police.uk crime type"):
        load_harm_weights(path)


def test_harm_on_hexagons(tmp_path):
    """With grid_shape: hexagon the harm Gi* runs on the hexagons too; weight 1 everywhere makes
    it the volume Gi* exactly, a weight of 3 on drugs triples the drugs hexagons' harm."""
    weights = {t: 1.0 for t in POLICE_UK_CRIME_TYPES}
    weights["Drugs"] = 3.0
    cat = write_catalog(tmp_path, profile={"harm_weights": _weights(tmp_path, weights), "grid_shape": "hexagon"})
    res = run_cli("build", "--catalog", str(cat), "--district", "Calderdale", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    r = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="hex_robbery")
    np.testing.assert_allclose(r["harm"], r["count"])
    np.testing.assert_allclose(r["harm_gi_z"], r["gi_z"], atol=1e-9)
    assert (r["harm_hotspot"] == r["hotspot"]).all()
    d = gpd.read_file(tmp_path / "o" / "results.gpkg", layer="hex_drugs")
    np.testing.assert_allclose(d["harm"], 3 * d["count"])
    assert (shapely.get_num_coordinates(d.geometry.to_numpy()) == 7).all()
