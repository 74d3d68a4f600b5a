"""MoRiLE-style theme scoring: a hand-computed example, missing scores, row order, the shipped
template and worked example, and one-line errors for bad scoring files."""

import math
import random
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from localprofile.engine.theme_scoring import score_themes
from localprofile.errors import InputError
from localprofile.scoring import DIMENSIONS, load_scoring, template_path, worked_example_path

NAN = float("nan")
REPO = Path(__file__).resolve().parent.parent


def harm(physical, psychological, financial, community, environmental):
    return dict(physical=physical, psychological=psychological, financial=financial,
                community=community, environmental=environmental)


SCORES = {
    "version": 1,
    "scale": {"min": 1, "max": 5},
    "scales": {"confidence": {"min": 1, "max": 3}},
    "themes": {
        "drugs": {"harm": harm(4, 3, 2, 4, 1), "scope": 3, "victim_vulnerability": 4,
                  "likelihood": 5, "confidence": 2, "capacity": 2, "capability": 3},
        "robbery": {"harm": harm(5, 4, 3, 2, 1), "scope": 2, "victim_vulnerability": 3,
                    "likelihood": 4, "confidence": 3, "capacity": 4, "capability": 4},
        "anti_social_behaviour": {"harm": harm(1, 3, 1, 4, 2), "scope": 4,
                                  "victim_vulnerability": 2, "likelihood": 5, "confidence": 1},
        "possession_of_weapons": {"harm": harm(5, 4, 1, 4, 1), "scope": 2,
                                  "victim_vulnerability": 3, "likelihood": None,
                                  "confidence": 2, "capacity": 3, "capability": 2},
    },
}

INDICATORS = pd.DataFrame(
    {"volume": [300, 120, 900, 80],
     "trend": [10.0, -5.0, NAN, 25.0],
     "harm": [NAN, NAN, NAN, NAN],
     "concentration": [0.4, 0.4, 0.2, 0.6]},
    index=["drugs", "robbery", "anti_social_behaviour", "possession_of_weapons"],
)


def test_theme_scoring_matches_a_hand_computed_example():
    t = score_themes(SCORES, INDICATORS)

    # MoRiLE part, by hand (scale 1-5; confidence 1-3, so its factor is confidence / 3):
    #   drugs:   harm 4+3+2+4+1 = 14; x scope 3 = 42; x vulnerability 4 = 168 (impact);
    #            x likelihood 5 = 840 (risk); x 2/3 = 560 (adjusted)
    #   robbery: 5+4+3+2+1 = 15; x 2 = 30; x 3 = 90; x 4 = 360; x 3/3 = 360
    #   ASB:     1+3+1+4+2 = 11; x 4 = 44; x 2 = 88; x 5 = 440; x 1/3 = 146.67
    #   weapons: likelihood missing -> no risk
    expect = {
        "drugs": dict(total_harm=42, impact=168, risk=840, confidence_factor=2 / 3,
                      adjusted_risk=560),
        "robbery": dict(total_harm=30, impact=90, risk=360, confidence_factor=1,
                        adjusted_risk=360),
        "anti_social_behaviour": dict(total_harm=44, impact=88, risk=440,
                                      confidence_factor=1 / 3, adjusted_risk=440 / 3),
    }
    for theme, cols in expect.items():
        for col, value in cols.items():
            assert t.at[theme, col] == pytest.approx(value), (theme, col)
    # Adjusted risk ranked among the three scored themes: ASB 146.67 < robbery 360 < drugs 560,
    # ranks 1, 2, 3 -> (rank - 1) / (3 - 1) = 0, 0.5, 1.
    assert t["risk_rank01"].to_dict() == pytest.approx(
        {"drugs": 1.0, "robbery": 0.5, "anti_social_behaviour": 0.0, "possession_of_weapons": NAN},
        nan_ok=True)
    # Organisational position = (capacity/5 + capability/5) / 2:
    #   drugs (2/5 + 3/5)/2 = 0.5; robbery (4/5 + 4/5)/2 = 0.8; weapons (3/5 + 2/5)/2 = 0.5;
    #   ASB has neither -> missing.
    assert t.at["drugs", "organisational_position"] == pytest.approx(0.5)
    assert t.at["robbery", "organisational_position"] == pytest.approx(0.8)
    assert t.at["possession_of_weapons", "organisational_position"] == pytest.approx(0.5)
    assert math.isnan(t.at["anti_social_behaviour", "organisational_position"])

    # Data part: each indicator's rank over the 4 themes, (rank - 1) / (n - 1).
    #   volume:  weapons 80 < robbery 120 < drugs 300 < ASB 900 -> 0, 1/3, 2/3, 1
    #   trend:   ASB NaN; robbery -5 < drugs 10 < weapons 25 -> 0, 0.5, 1 (n = 3)
    #   harm:    all NaN
    #   concentration: ASB 0.2 < drugs 0.4 = robbery 0.4 (ranks 2.5) < weapons 0.6 -> 0, 0.5, 0.5, 1
    #   data index (mean, skipping NaN):
    #     drugs (2/3 + 1/2 + 1/2) / 3 = 5/9; robbery (1/3 + 0 + 1/2) / 3 = 5/18;
    #     ASB (1 + 0) / 2 = 1/2; weapons (0 + 1 + 1) / 3 = 2/3
    assert t["data_volume"].to_dict() == pytest.approx(
        {"possession_of_weapons": 0, "robbery": 1 / 3, "drugs": 2 / 3, "anti_social_behaviour": 1})
    assert t.at["drugs", "data_trend"] == pytest.approx(0.5)
    assert math.isnan(t.at["anti_social_behaviour", "data_trend"])
    assert t["data_harm"].isna().all()
    assert t.at["robbery", "data_concentration"] == pytest.approx(0.5)
    assert t["data_index"].to_dict() == pytest.approx(
        {"drugs": 5 / 9, "robbery": 5 / 18, "anti_social_behaviour": 1 / 2,
         "possession_of_weapons": 2 / 3})
    assert t.at["anti_social_behaviour", "data_missing"] == "trend, harm"

    # Priority = (risk_rank01 + data_index) / 2:
    #   drugs (1 + 5/9)/2 = 7/9; robbery (0.5 + 5/18)/2 = 7/18; ASB (0 + 1/2)/2 = 1/4;
    #   weapons: missing. Rank: drugs, robbery, ASB, then weapons on data alone.
    assert t.at["drugs", "priority"] == pytest.approx(7 / 9)
    assert t.at["robbery", "priority"] == pytest.approx(7 / 18)
    assert t.at["anti_social_behaviour", "priority"] == pytest.approx(1 / 4)
    assert list(t.index) == ["drugs", "robbery", "anti_social_behaviour", "possession_of_weapons"]
    assert t["rank"].tolist() == [1, 2, 3, 4]
    assert t["ranked_by"].tolist() == ["scores and data"] * 3 + ["data only"]
    assert t["missing"].tolist() == ["", "", "capacity, capability", "likelihood"]


def test_missing_scores_are_shown_as_missing_not_zero():
    t = score_themes(SCORES, INDICATORS)
    w = t.loc["possession_of_weapons"]
    # Its harm, scope and vulnerability are given, so impact is; risk onwards is missing.
    assert w["impact"] == (5 + 4 + 1 + 4 + 1) * 2 * 3
    for col in ("likelihood", "risk", "adjusted_risk", "risk_rank01", "priority"):
        assert math.isnan(w[col]), col
    # Highest data index of the four (2/3), yet ranked after every scored theme.
    assert w["data_index"] == t["data_index"].max()
    assert w["rank"] == 4 and w["missing"] == "likelihood"

    # One harm sub-score missing: the harm total is missing too (not a sum of the others).
    s = yaml.safe_load(yaml.safe_dump(SCORES))
    s["themes"]["drugs"]["harm"]["environmental"] = None
    t2 = score_themes(s, INDICATORS)
    assert math.isnan(t2.at["drugs", "total_harm"]) and math.isnan(t2.at["drugs", "priority"])
    assert t2.at["drugs", "missing"] == "environmental"

    # A theme the file does not name at all: every score missing, ranked on data.
    more = pd.concat([INDICATORS, pd.DataFrame(
        {"volume": [5000], "trend": [1.0], "harm": [NAN], "concentration": [0.1]}, index=["all_crime"])])
    t3 = score_themes(SCORES, more)
    assert t3.at["all_crime", "missing"] == "all scores"
    assert t3.at["all_crime", "ranked_by"] == "data only"
    assert t3.loc["all_crime", ["total_harm", "impact", "risk", "priority"]].isna().all()


def test_rank_does_not_depend_on_row_order():
    base = score_themes(SCORES, INDICATORS)
    rng = random.Random(7)
    for _ in range(5):
        order = list(INDICATORS.index)
        rng.shuffle(order)
        themes = list(SCORES["themes"].items())
        rng.shuffle(themes)
        t = score_themes({**SCORES, "themes": dict(themes)}, INDICATORS.loc[order])
        pd.testing.assert_frame_equal(t, base)


def test_ties_are_broken_by_theme_slug():
    same = {"harm": harm(3, 3, 3, 3, 3), "scope": 3, "victim_vulnerability": 3,
            "likelihood": 3, "confidence": 3}
    scores = {"version": 1, "scale": {"min": 1, "max": 5},
              "themes": {"robbery": same, "drugs": same, "burglary": same}}
    ind = pd.DataFrame({"volume": [10, 10, 10, 10], "trend": [NAN] * 4, "harm": [NAN] * 4,
                        "concentration": [NAN] * 4},
                       index=["robbery", "zeta", "drugs", "burglary"])
    for rows in (ind, ind.iloc[::-1]):
        t = score_themes(scores, rows)
        assert list(t.index) == ["burglary", "drugs", "robbery", "zeta"]


def test_template_loads_with_every_score_missing():
    sf = load_scoring(template_path())
    shipped = yaml.safe_load((REPO / "localprofile" / "themes.yaml").read_text(encoding="utf-8"))
    assert sorted(sf.themes) == sorted(shipped)
    assert sf.example is False and sf.scale is None
    for theme, scores in sf.themes.items():
        assert scores.missing() == list(DIMENSIONS), theme
    assert sf.scored_themes() == []

    ind = pd.DataFrame({"volume": np.arange(len(shipped)) * 10.0, "trend": NAN, "harm": NAN,
                        "concentration": NAN}, index=sorted(shipped))
    t = score_themes(sf, ind)
    assert (t["missing"] == "all scores").all() and t["priority"].isna().all()
    assert (t["ranked_by"] == "data only").all()
    assert list(t.index) == sorted(shipped, reverse=True)  # by volume alone


def test_template_ships_inside_the_package():
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.yaml" in pyproject["tool"]["setuptools"]["package-data"]["localprofile.templates"]
    assert template_path().is_file()


def test_worked_example_is_marked_and_computes_by_hand():
    path = worked_example_path()
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# WORKED EXAMPLE — illustrative scores, not any force's assessment."
    sf = load_scoring(path)
    assert sf.example is True
    ind = pd.DataFrame({"volume": 1.0, "trend": NAN, "harm": NAN, "concentration": NAN},
                       index=sorted(sf.themes))
    t = score_themes(sf, ind)
    # drugs in the file: harm 4+3+3+4+2 = 16; x scope 4 x vulnerability 4 x likelihood 5
    # = 1280; confidence 2 on 1-3 -> x 2/3 = 853.33
    assert t.at["drugs", "adjusted_risk"] == pytest.approx(1280 * 2 / 3)
    assert t.at["possession_of_weapons", "missing"] == "likelihood"
    assert t.at["all_crime", "missing"] == "all scores"


def write(tmp_path, text):
    p = tmp_path / "scoring.yaml"
    p.write_text(text, encoding="utf-8")
    return p


HEAD = "version: 1\nscale: {min: 1, max: 5}\nthemes:\n  drugs:\n"


@pytest.mark.parametrize("body, key, says", [
    ("    likelihood: yes\n", "themes.drugs.likelihood", "not true"),
    ("    harm: {physical: true}\n", "themes.drugs.harm.physical", "not true"),
    ("    scope: 6\n", "themes.drugs.scope", "6 is outside the scale 1 to 5"),
    ("    harm: {financial: 0}\n", "themes.drugs.harm.financial", "0 is outside the scale 1 to 5"),
    ("    likelyhood: 3\n", "themes.drugs.likelyhood", "unknown key"),
    ("    confidence: high\n", "themes.drugs.confidence", "must be a number"),
])
def test_bad_scores_are_one_line_naming_file_and_key(tmp_path, body, key, says):
    p = write(tmp_path, HEAD + body)
    with pytest.raises(InputError) as info:
        load_scoring(p)
    line = str(info.value)
    assert "\n" not in line
    assert line.startswith(str(p)) and f"key '{key}'" in line and says in line, line


@pytest.mark.parametrize("text, key, says", [
    ("version: 1\nthemes:\n  drugs: {scope: 3}\n", "themes.drugs.scope", "needs a scale"),
    ("version: 1\nscale: {min: 5, max: 1}\nthemes: {}\n", "scale", "must be above min"),
    ("version: 1\nscales: {likelyhood: {min: 1, max: 5}}\nthemes: {}\n", "scales.likelyhood", "unknown key (expected 'physical'"),
    ("version: 1\nscale: {min: 1, max: 5}\nthemes: {}\nweights: 2\n", "weights", "unknown key"),
    ("version: 1\nthemes:\n  Drugs!: {}\n", "themes", "not a theme slug"),
])
def test_bad_files_are_one_line_naming_the_key(tmp_path, text, key, says):
    p = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        load_scoring(p)
    assert f"key '{key}'" in str(info.value) and says in str(info.value), str(info.value)


def test_a_scored_theme_not_in_the_profile_is_an_error():
    with pytest.raises(ValueError, match="robbery"):
        score_themes(SCORES, INDICATORS.drop(index="robbery"))


def test_the_profile_theme_table_uses_its_own_indicators(demo_root):
    """The demo's theme table: each theme's crimes as the profile reports them, ranked; all crime
    left out. The force sees the worked example's scores (labelled as an example); partners and
    the public do not see the force's scores (profile.scoring_for) and get the table ranked on
    the data alone, the same for both."""
    import json

    tables = {}
    for audience in ("force", "partner", "public"):
        s = json.loads((demo_root / audience / "summary.json").read_text(encoding="utf-8"))
        tp = s["theme_priorities"]
        themes = {t["theme"]: t for t in tp["themes"]}
        assert "all_crime" not in themes and len(themes) == len(s["themes"]) - 1
        assert [t["rank"] for t in tp["themes"]] == list(range(1, len(themes) + 1))
        by_volume = sorted(themes, key=lambda k: s["themes"][k]["crimes"])
        # data_volume is the rank of each theme's crimes among the themes, 0 to 1
        assert [round(themes[k]["data_volume"], 6) for k in by_volume] == \
            [round(i / (len(by_volume) - 1), 6) for i in range(len(by_volume))]
        html = (demo_root / audience / "index.html").read_text(encoding="utf-8")
        assert "Theme priorities" in html
        # the theme table's own section (the 4P plan's worked example has a marking of its own)
        html = html[html.index('<section id="theme-priorities"'):]
        html = html[:html.index("</section>")]
        if audience == "force":
            assert tp["example"] is True and tp["scoring_file"].endswith("scoring_worked_example.yaml")
            assert themes["possession_of_weapons"]["priority"] is None  # its likelihood is missing
            assert themes["possession_of_weapons"]["missing"] == "likelihood"
            assert "WORKED EXAMPLE" in html
        else:
            assert tp["scoring_file"] is None and "WORKED EXAMPLE" not in html
            assert all(t["ranked_by"] == "data only" and t["adjusted_risk"] is None for t in tp["themes"])
            assert any(c["what"] == "theme scores" and c["value"] == "not shown" for c in s["choices"])
            tables[audience] = tp["themes"]
    assert tables["partner"] == tables["public"]
