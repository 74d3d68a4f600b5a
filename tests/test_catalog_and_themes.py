"""Catalog loading, theme configuration and district selection."""

from __future__ import annotations

import json
import shutil

import pytest
from conftest import CATALOG, DATA, run_cli, write_catalog

from localprofile.catalog import load_catalog
from localprofile.errors import InputError
from localprofile.themes import resolve_themes


def test_paths_are_relative_to_the_catalog_file(tmp_path):
    shutil.copytree(DATA, tmp_path / "data")
    shutil.copytree(CATALOG.parent / "examples", tmp_path / "examples")  # the worked scoring example
    shutil.copy(CATALOG, tmp_path / "data_catalog.yaml")
    cat = load_catalog(tmp_path / "data_catalog.yaml")
    assert [p.parent for p in cat.paths("crimes")] == [tmp_path / "data" / "police_uk"] * 2
    res = run_cli("validate", "--catalog", "data_catalog.yaml", "--audience", "force", cwd=tmp_path)
    assert res.returncode == 0, res.stderr


def test_every_layer_declares_vintage_licence_and_sensitivity():
    cat = load_catalog(CATALOG)
    for spec in cat.layers.values():
        assert spec.vintage and spec.licence and spec.attribution
        # the only restricted layers shipped are the synthetic stand-ins, marked as such
        assert spec.sensitivity == "open" or (spec.synthetic and "SYNTHETIC" in spec.attribution)
    assert sum(s.sensitivity == "restricted" for s in cat.layers.values()) == 5


def test_default_themes_and_overrides():
    themes = resolve_themes({})
    assert {"all_crime", "anti_social_behaviour", "drugs", "possession_of_weapons",
            "violence_and_sexual_offences", "robbery", "soc_indicators"} <= set(themes)
    assert set(themes["soc_indicators"].crime_types) == {"Drugs", "Possession of weapons", "Robbery"}
    custom = resolve_themes({"robbery": None, "burglary": {"label": "Burglary", "crime_types": ["Burglary"]}})
    assert "robbery" not in custom and custom["burglary"].crime_types == ("Burglary",)
    with pytest.raises(InputError, match="slug"):
        resolve_themes({"Bad Slug": {"label": "x", "crime_types": ["Drugs"]}})


def test_catalog_themes_reach_the_profile(tmp_path):
    cat = write_catalog(
        tmp_path,
        layers={"crimes": {"path": str(DATA / "police_uk" / "2016-07.zip")}},
        themes={"robbery": None, "burglary": {"label": "Burglary", "crime_types": ["Burglary"]}},
        profile={"marking": "OFFICIAL-SENSITIVE", "cell_size_m": 250},
    )
    res = run_cli("build", "--catalog", str(cat), "--district", "E08000033", "--out", str(tmp_path / "out"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["district"] == {"code": "E08000033", "name": "Calderdale"}
    assert "burglary" in s["themes"] and "robbery" not in s["themes"]
    assert s["themes"]["burglary"]["cell_size_m"] == 250
    assert s["period"] == {"first_month": "2016-07", "last_month": "2016-07", "months": ["2016-07"]}
    assert {"what": "cell size (m)", "value": 250.0, "why": "given by the user"} in s["choices"]
    html = (tmp_path / "out" / "index.html").read_text()
    assert html.count(">OFFICIAL-SENSITIVE<") == 2  # banner at top and bottom
    assert (tmp_path / "out" / "kde_burglary.tif").exists()


def test_cli_overrides_bandwidth(tmp_path):
    res = run_cli("build", "--catalog", str(CATALOG), "--audience", "force", "--district", "calderdale",
                  "--bandwidth", "600", "--cell-size", "200", "--out", str(tmp_path / "o"))
    assert res.returncode == 0, res.stderr
    s = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert {t["bandwidth_m"] for t in s["themes"].values()} == {600.0}
    assert s["grid"]["cell_size_m"] == 200 and s["grid"]["buffer_m"] == 600


def test_themes_command_lists_defaults():
    res = run_cli("themes")
    assert res.returncode == 0 and "soc_indicators" in res.stdout and "Possession of weapons" in res.stdout


def test_catalog_in_a_folder_whose_name_has_brackets(tmp_path):
    root = tmp_path / "profiles [v2]"
    shutil.copytree(DATA, root / "data")
    shutil.copy(CATALOG, root / "data_catalog.yaml")
    cat = load_catalog(root / "data_catalog.yaml")
    assert [p.name for p in cat.paths("crimes")] == ["2016-07.zip", "2017-07.zip"]


def test_a_theme_must_name_a_crime_type(tmp_path):
    cat = write_catalog(tmp_path, themes={"empty": {"label": "Nothing", "crime_types": []}})
    with pytest.raises(InputError) as exc:
        load_catalog(cat)
    assert "themes.empty.crime_types" in str(exc.value)
