"""The risk terrain in the profile and the backtest: factors from the layers each audience may
use (restricted ones for the force only), the GeoTIFF, and RTM scored beside the hotspot methods
with ties at the cut counted at their expected crimes (checked against every order of the ties)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import rasterio

from localprofile.backtesting import run_backtest
from localprofile.demo import demo_catalog_path
from localprofile.engine.backtest import expected_hits

RESTRICTED = {"OCG members' home addresses", "CSE locations", "Vulnerable persons", "Repeat offenders"}


def test_expected_hits_is_the_mean_over_every_order_of_the_ties():
    rng = np.random.default_rng(3)
    score = rng.integers(0, 3, (1, 7)).astype(float)
    counts = rng.integers(0, 9, (1, 7)).astype(float)
    area = np.ones((1, 7), bool)
    for k in range(1, 8):
        # brute force: the top k cells under every ordering of equal scores, averaged
        totals = []
        for perm in itertools.permutations(range(7)):
            order = sorted(perm, key=lambda i: -score[0, i])  # stable: ties keep perm's order
            totals.append(counts[0, order[:k]].sum())
        assert expected_hits(score, counts, area, np.array([k]))[0] == pytest.approx(np.mean(totals))


@pytest.mark.parametrize("audience", ["force", "partner"])
def test_backtest_scores_the_risk_terrain_from_the_audiences_layers(audience):
    r = run_backtest(demo_catalog_path(), "Leeds", ["2016-07"], ["2017-07"], audience=audience)
    rtm = [m for m in r["metrics"] if m["method"] == "rtm"]
    assert [m["coverage"] for m in rtm] == [0.01, 0.05, 0.1]
    assert all(m["pai"] > 1 for m in rtm)  # better than choosing cells at random
    text = json.dumps(r)
    assert any(c["what"] == "RTM score" for c in r["choices"])
    if audience == "partner":
        assert not any(label in text for label in RESTRICTED)


def test_profile_risk_terrain_files_and_factors(demo_root):
    for audience in ("force", "partner", "public"):
        folder = demo_root / audience
        s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["risk_terrain"]
        assert set(s) == {"soc_indicators", "anti_social_behaviour"}
        layers = {f["layer"] for rt in s.values() for f in rt["factors"]}
        if audience == "force":
            assert RESTRICTED <= layers
        else:
            assert not layers & RESTRICTED
        for slug, rt in s.items():
            with rasterio.open(folder / rt["file"]) as src:
                surface = src.read(1)
                tags = src.tags()
            assert np.nanmin(surface) == pytest.approx(1.0)
            selected = [f for f in rt["factors"] if f["selected"]]
            # the highest cell is at most the product of every selected factor's RRV (above 1)
            assert np.nanmax(surface) <= np.prod([max(f["rrv"], 1) for f in selected]) * (1 + 1e-6)
            assert all(f["factor"] in tags["factors"] for f in selected)
