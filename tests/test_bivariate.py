"""Bivariate local Moran's I against esda's Moran_Local_BV on the real shipped Leeds LSOAs: drug
offences per 1,000 residents (x, threat) against deprivation (y, minus the IMD 2019 rank).

The statistic and quadrants are deterministic and must equal esda's. The pseudo p-values are
Monte Carlo: from independent draws they agree in distribution (as in
``tests/test_inference.py``: entries beyond 3 Monte Carlo standard errors, the share significant,
the correlation); from esda's own draws (``esda.crand.vec_permutations``) they are esda's up to
the simulations that tie the observed statistic (IMD ranks are whole numbers, so different
neighbour sets can have the same sum), which we count on both sides and esda on the side its
rounding puts them.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import shapely
from scipy import sparse

from localprofile.demo import demo_lsoa_rates, demo_lsoa_values
from localprofile.engine.bivariate import bivariate_moran
from localprofile.engine.checks import EngineInputError
from localprofile.engine.lisa import QUADRANTS, local_moran, queen_weights
from localprofile.engine.permutation import adjust_p

P = 9999
ESDA_SEED = 9
ESDA_LABELS = {"High-High": "high-high", "Low-High": "low-high", "Low-Low": "low-low",
               "High-Low": "high-low", "Insignificant": "not significant"}


def _mc_agreement(a, b, pa, pb):
    """(share of entries more than 3 Monte Carlo standard errors apart, largest gap in them),
    as in tests/test_inference.py."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    p = (a + b) / 2
    se = np.sqrt(p * (1 - p) * (1 / pa + 1 / pb)) + 1 / (pa + 1) + 1 / (pb + 1)
    gap = np.abs(a - b) / se
    return float((gap > 3).mean()), float(gap.max())


@pytest.fixture(scope="module")
def leeds():
    from esda.moran import Moran_Local_BV
    from libpysal.weights import WSP

    polygons, drugs = demo_lsoa_rates("Leeds", "drugs")
    deprivation = -demo_lsoa_values("Leeds", "imd_rank")
    assert len(drugs) == len(deprivation) == 482
    B = queen_weights(polygons, row_standardised=False)
    w = WSP(sparse.csr_matrix(B)).to_W(silence_warnings=True)  # esda row-standardises it ("r")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = Moran_Local_BV(drugs, deprivation, w, transformation="r", permutations=P,
                             seed=ESDA_SEED)
    ours = bivariate_moran(drugs, deprivation, queen_weights(polygons), P, seed=0,
                           adjust="none", p_value="folded")
    return drugs, deprivation, polygons, w, ref, ours


def test_statistic_and_quadrants_equal_esda(leeds):
    _, _, _, _, ref, ours = leeds
    np.testing.assert_allclose(ours.Is, ref.Is, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(ours.q, ref.q)
    np.testing.assert_array_equal(ours.quadrant, np.vectorize(QUADRANTS.get)(ref.q))
    assert set(ours.quadrant) == set(QUADRANTS.values())
    # x is held and y lagged: the other way round is another statistic
    swapped = bivariate_moran(leeds[1], leeds[0], queen_weights(leeds[2]), 9, adjust="none")
    assert not np.allclose(swapped.Is, ref.Is)


def test_p_values_agree_with_esda_in_distribution(leeds):
    """Independent draws (ours at seed 0, esda's at seed 9), 9,999 each."""
    _, _, _, _, ref, ours = leeds
    share, worst = _mc_agreement(ours.p_sim, ref.p_sim, P, P)
    assert share <= 0.01 and worst <= 5, (share, worst)
    # the same share significant at 0.05 (within 2 percentage points), and nearly the same order
    assert abs((ours.p_sim < 0.05).mean() - (ref.p_sim < 0.05).mean()) < 0.02
    assert np.corrcoef(ours.p_sim, ref.p_sim)[0, 1] > 0.99
    # a wrong p (the two-sided one, about twice the folded) fails the same comparison
    share_wrong, _ = _mc_agreement(ours.p_two_sided, ref.p_sim, P, P)
    assert share_wrong > 0.05
    # labels as esda's get_cluster_labels (same p, no adjustment), away from the threshold
    theirs = np.array([ESDA_LABELS[c] for c in ref.get_cluster_labels(0.05)])
    near = np.abs(ref.p_sim - 0.05) < 4 * math.sqrt(0.05 * 0.95 * 2 / P)
    np.testing.assert_array_equal(ours.cluster[~near], theirs[~near])
    assert (theirs != "not significant").sum() > 100


def test_p_values_equal_esda_with_its_own_draws(leeds):
    """esda's draws at its seed: each p_sim differs from esda's by at most the simulations that
    tie the observed statistic, over P + 1."""
    from esda.crand import vec_permutations

    drugs, deprivation, polygons, w, ref, _ = leeds
    draws = vec_permutations(max(w.cardinalities.values()), len(drugs), P, ESDA_SEED)
    ours = bivariate_moran(drugs, deprivation, queen_weights(polygons), draws=draws,
                           adjust="none", p_value="folded")
    ties = (np.abs(ref.sim - ref.Is) <= 1e-9 * np.abs(ref.Is)).sum(axis=0)
    gap = np.rint(np.abs(ours.p_sim - ref.p_sim) * (P + 1))
    assert (gap <= ties).all()
    assert (gap == 0).mean() > 0.95
    theirs = np.array([ESDA_LABELS[c] for c in ref.get_cluster_labels(0.05)])
    np.testing.assert_array_equal(ours.cluster[gap == 0], theirs[gap == 0])
    # our own generator at that seed draws differently
    own = bivariate_moran(drugs, deprivation, queen_weights(polygons), P, seed=ESDA_SEED,
                          adjust="none", p_value="folded")
    assert not (np.rint(np.abs(own.p_sim - ref.p_sim) * (P + 1)) <= ties).all()


def test_x_equal_to_y_is_the_univariate_local_moran(leeds):
    drugs, _, polygons, _, _, _ = leeds
    W = queen_weights(polygons)
    bv = bivariate_moran(drugs, drugs, W, 999, seed=3)
    lm = local_moran(drugs, W, 999, seed=3)
    np.testing.assert_allclose(bv.Is, lm.Is, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(bv.q, lm.q)
    np.testing.assert_array_equal(bv.p_two_sided, lm.p_two_sided)
    np.testing.assert_array_equal(bv.cluster, lm.cluster)
    # the defaults: two-sided p, Benjamini-Hochberg, 0.05
    np.testing.assert_allclose(bv.p_adjusted, adjust_p(bv.p_two_sided, method="bh"))
    assert bv.choices[0].what == "bivariate LISA clusters"
    assert bv.choices[0].value == "two-sided pseudo p, bh adjusted, below 0.05"
    assert "999 conditional randomisations" in bv.choices[0].why


def test_islands_get_no_statistic():
    polys = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(0, 1, 1, 2),
             shapely.box(1, 1, 2, 2), shapely.box(9, 9, 10, 10)]
    res = bivariate_moran([1.0, 2, 3, 4, 10], [4.0, 1, 3, 2, 0], queen_weights(polys), 99)
    assert np.isnan(res.Is[4]) and np.isnan(res.p_sim[4]) and res.q[4] == 0
    assert res.quadrant[4] == res.cluster[4] == "no neighbours"
    assert np.isfinite(res.Is[:4]).all()
    assert any(c.what == "areas without neighbours" and c.value == 1 for c in res.choices)


@pytest.mark.parametrize(
    ("x", "y", "n_w", "message"),
    [
        ([1.0, np.nan, 3, 4, 5], [1.0, 2, 3, 4, 5], 5, "^x: 1 area is NaN or infinite$"),
        ([1.0, 2, 3, 4, 5], [np.inf, 2, np.nan, 4, 5], 5, "^y: 2 areas are NaN or infinite$"),
        ([1.0, 2, 3, 4, 5], [1.0, 2, 3, 4], 5, "^y has 4 values but x has 5"),
        ([1.0, 2, 3, 4, 5], [1.0, 2, 3, 4, 5], 4, "^W is 4 x 4 but x has 5 values$"),
        ([2.0, 2, 2, 2, 2], [1.0, 2, 3, 4, 5], 5, "^x is constant"),
        ([1.0, 2, 3, 4, 5], [0.0, 0, 0, 0, 0], 5, "^y is constant"),
        ([1.0, 2], [1.0, 2], 2, "^x has 2 values: .* at least 3 areas$"),
        ([[1.0, 2], [3, 4]], [1.0, 2, 3, 4], 4, "^x must be a 1-D array"),
    ],
)
def test_bad_input_names_the_parameter(x, y, n_w, message):
    W = np.ones((n_w, n_w)) - np.eye(n_w)
    with pytest.raises(EngineInputError, match=message):
        bivariate_moran(x, y, W, 99)


def test_bad_options():
    W = np.ones((4, 4)) - np.eye(4)
    with pytest.raises(ValueError, match="permutations must be a positive whole number"):
        bivariate_moran([1.0, 2, 3, 4], [4.0, 3, 2, 1], W, 0)
    with pytest.raises(ValueError, match="p_value must be"):
        bivariate_moran([1.0, 2, 3, 4], [4.0, 3, 2, 1], W, 99, p_value="one-sided")
    with pytest.raises(ValueError, match="unknown adjustment"):
        bivariate_moran([1.0, 2, 3, 4], [4.0, 3, 2, 1], W, 99, adjust="fdr")
