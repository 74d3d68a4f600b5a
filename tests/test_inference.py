"""Permutation inference (Gi* on the grid, local Moran's I on LSOAs) and p-value adjustment,
against esda/libpysal on the real shipped Leeds data, exact distributions and hand-worked values.

Monte Carlo p-values can only agree "in distribution": two pseudo p-values from P1 and P2
independent draws differ by about sqrt(p (1 - p) (1 / P1 + 1 / P2)). ``_mc_agreement`` counts the
areas beyond 3 such standard errors (plus one step of each p-value's granularity); about 0.3%
would be by chance. Each comparison is paired with a deliberately wrong one that must fail it.
"""

from __future__ import annotations

import itertools
import math
import warnings

import geopandas as gpd
import numpy as np
import pytest
from scipy import sparse

from localprofile.build import build_profile
from localprofile.demo import demo_catalog_path
from localprofile.engine.lisa import QUADRANTS, local_moran, queen_weights
from localprofile.engine.permutation import (
    adjust_p,
    conditional_null,
    gi_star_permutation,
    pseudo_p,
)

P_REF = 2999  # permutations on both sides of the esda comparisons (esda is the slow side)


@pytest.fixture(scope="module")
def leeds():
    return build_profile(demo_catalog_path(), "Leeds", audience="public")


def _mc_agreement(a, b, pa, pb):
    """(share of entries more than 3 Monte Carlo standard errors apart, largest gap in them)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    p = (a + b) / 2
    se = np.sqrt(p * (1 - p) * (1 / pa + 1 / pb)) + 1 / (pa + 1) + 1 / (pb + 1)
    gap = np.abs(a - b) / se
    return float((gap > 3).mean()), float(gap.max())


def _within_mc(a, b, pa, pb) -> bool:
    share, worst = _mc_agreement(a, b, pa, pb)
    return share <= 0.01 and worst <= 5


# --------------------------------------------------------------------------------------------
# the sampler: exact without replacement, never the unit itself


@pytest.mark.parametrize("k", [1, 3, 8, 12])
def test_draws_are_without_replacement_and_never_the_unit_itself(k):
    # powers of two: a sum of k distinct ones has exactly k bits set, a repeat carries into
    # fewer, and the excluded element's bit must never appear
    pool = 2.0 ** np.arange(14)
    exclude = np.array([0, 5, 13])
    rng = np.random.default_rng(1)
    from localprofile.engine.permutation import _draw_sums

    sums = _draw_sums(pool, k, exclude, 4000, rng).astype(np.int64)
    bits = np.array([[int(s).bit_count() for s in row] for row in sums])
    assert (bits == k).all()
    for g, e in enumerate(exclude):
        assert not (sums[g] & (1 << int(e))).any()
    # every other element does get drawn
    seen = np.bitwise_or.reduce(sums, axis=1)
    for g, e in enumerate(exclude):
        assert seen[g] == (2**14 - 1) - (1 << int(e))


@pytest.mark.parametrize("k", [3, 9])  # rejection path; random-keys path (9 of 11 others)
def test_null_distribution_is_the_exact_hypergeometric_one(k):
    pool = np.array([0, 0, 0, 1, 1, 2, 3, 5, 8, 13, 21, 34], float)
    unit = 4  # a 1: the pool is the other 11 values
    others = np.delete(pool, unit)
    exact = np.array([sum(c) for c in itertools.combinations(others, k)])
    values, counts = np.unique(exact, return_counts=True)
    probs = counts / counts.sum()
    P = 20000
    ge, le, mean, sd = conditional_null(pool, np.array([k] * values.size), np.full(values.size, unit),
                                        values, P, np.random.default_rng(5), group=np.zeros(values.size))
    # P(sum <= v) and P(sum >= v) for every possible v, within 4.5 binomial standard errors
    cdf = np.cumsum(probs)
    sf = np.cumsum(probs[::-1])[::-1]
    for est, true in ((le / P, cdf), (ge / P, sf)):
        true = np.clip(true, 0, 1)
        assert (np.abs(est - true) <= 4.5 * np.sqrt(true * (1 - true) / P) + 1e-9).all()
    # mean and variance: sampling without replacement shrinks the variance by (m - k) / (m - 1)
    m = others.size
    var_exact = k * others.var() * (m - k) / (m - 1)
    assert mean[0] == pytest.approx(k * others.mean(), abs=5 * math.sqrt(var_exact / P))
    assert sd[0] ** 2 == pytest.approx(var_exact, rel=0.05)
    assert abs(sd[0] ** 2 - k * others.var()) > 0.1 * var_exact  # with replacement would differ


def test_pseudo_p_conventions():
    p_sim, p_two = pseudo_p(np.array([0, 999, 500, 999, 3]), np.array([999, 0, 500, 999, 996]), 999)
    # folded: (min(larger, P - larger) + 1) / (P + 1); ties (4th: all equal) count as extreme
    np.testing.assert_allclose(p_sim, [0.001, 0.001, 0.5, 0.001, 0.004])
    np.testing.assert_allclose(p_two, [0.002, 0.002, 1.0, 1.0, 0.008])


# --------------------------------------------------------------------------------------------
# multiple-testing adjustment against hand-computed values


def test_adjust_p_against_hand_computed_values():
    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2])
    # sorted: 0.005 0.01 0.03 0.04 0.2 (m = 5)
    np.testing.assert_allclose(adjust_p(p, method="bonferroni"), [0.05, 0.2, 0.15, 0.025, 1.0])
    # Holm: 5, 4, 3, 2, 1 times the sorted p -> 0.025 0.04 0.09 0.08 0.2, running max
    np.testing.assert_allclose(adjust_p(p, method="holm"), [0.04, 0.09, 0.09, 0.025, 0.2])
    # BH: m / rank times the sorted p -> 0.025 0.025 0.05 0.05 0.2, running min from the top
    bh = np.array([0.025, 0.05, 0.05, 0.025, 0.2])
    np.testing.assert_allclose(adjust_p(p, method="bh"), bh)
    np.testing.assert_allclose(adjust_p(p, method="by"), bh * (1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5))
    np.testing.assert_allclose(adjust_p(p, method="none"), p)


def test_adjust_p_counts_only_the_masked_finite_values():
    p = np.array([[0.01, np.nan], [0.02, 0.9]])
    mask = np.array([[True, True], [True, False]])
    out = adjust_p(p, mask, "bonferroni")  # m = 2: the NaN and the unmasked cell do not count
    np.testing.assert_allclose(out[0, 0], 0.02)
    np.testing.assert_allclose(out[1, 0], 0.04)
    assert np.isnan(out[0, 1]) and np.isnan(out[1, 1])
    with pytest.raises(ValueError, match="unknown adjustment"):
        adjust_p(p, method="fdr")
    assert np.isnan(adjust_p(np.array([np.nan]), method="holm")).all()


def test_statsmodels_is_not_a_dependency():
    import tomllib
    from pathlib import Path

    meta = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
    deps = [*meta["project"]["dependencies"], *itertools.chain(*meta["project"]["optional-dependencies"].values())]
    assert not any(d.lower().startswith("statsmodels") for d in deps)


# --------------------------------------------------------------------------------------------
# Gi* on the Leeds grid against esda


def _grid_queen(grid, active):
    from libpysal.weights import Queen

    cells = gpd.GeoDataFrame(geometry=grid.cells(active), crs=27700)
    return Queen.from_dataframe(cells, use_index=False, silence_warnings=True)


@pytest.fixture(scope="module")
def leeds_gi(leeds):
    from esda.getisord import G_Local

    grid = leeds.grid
    counts = leeds.themes["all_crime"].count
    w = _grid_queen(grid, grid.active)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # esda's note on `alternative`
        ref = G_Local(counts[grid.active].astype(float), w, transform="B", star=True,
                      permutations=P_REF, seed=11, n_jobs=1)
    ours = gi_star_permutation(counts, grid.active, permutations=P_REF, seed=3)
    return grid, counts, ours, ref


def test_gi_star_permutation_p_matches_esda_within_monte_carlo_error(leeds_gi):
    grid, _, ours, ref = leeds_gi
    act = grid.active
    assert act.sum() > 2500 and np.isfinite(ours.p_sim[act]).all()
    assert np.isnan(ours.p_sim[~act]).all() and np.isnan(ours.z_sim[~act]).all()
    share, worst = _mc_agreement(ours.p_sim[act], ref.p_sim, P_REF, P_REF)
    assert share <= 0.01 and worst <= 5, (share, worst)
    # the same decisions at 0.05 for all but the cells near the threshold
    assert ((ours.p_sim[act] < 0.05) == (ref.p_sim < 0.05)).mean() > 0.97
    # a wrong p-value (the two-sided one is about twice esda's) fails the same comparison
    assert not _within_mc(ours.p_two_sided[act], ref.p_sim, P_REF, P_REF)
    # z_sim: both are Monte Carlo estimates of the same standardised score
    zo, zr = ours.z_sim[act], ref.z_sim
    assert np.corrcoef(zo, zr)[0, 1] > 0.995
    assert np.median(np.abs(zo - zr) / np.maximum(1, np.abs(zr))) < 0.05


def test_gi_star_permutation_equals_esda_at_the_same_seed(leeds_gi):
    """esda's own draws at its seed (11) fed to gi_star_permutation: p_sim is esda's, cell for
    cell (the counts are whole numbers, so every sum and every tie is exact)."""
    from esda.crand import vec_permutations

    grid, counts, _, ref = leeds_gi
    act = grid.active
    draws = vec_permutations(8, int(act.sum()), P_REF, 11)
    same = gi_star_permutation(counts, act, draws=draws)
    has_nb = np.isfinite(same.p_sim[act])
    np.testing.assert_allclose(same.p_sim[act][has_nb], ref.p_sim[has_nb], rtol=1e-6)
    assert (ref.p_sim < 0.01).sum() > 100  # plenty of significant cells compared


def test_gi_star_permutation_ties_esda_folded_and_two_sided(leeds_gi):
    """Cells whose whole neighbourhood is 0: esda's folded p_sim counts the ties as extreme
    (1 / (P + 1)); the two-sided p counts them on both sides, and the share of simulations at 0
    is the exact probability of drawing 8 zero cells from the other cells."""
    grid, counts, ours, ref = leeds_gi
    act = grid.active
    from scipy import ndimage

    y = np.where(act, counts, 0)
    nb = ndimage.convolve(act.astype(int), np.ones((3, 3), int), mode="constant")
    lag = ndimage.convolve(y, np.ones((3, 3)), mode="constant")
    quiet = act & (nb == 9) & (lag == 0)
    assert quiet.sum() > 100
    ref_p = np.full(act.shape, np.nan)
    ref_p[act] = ref.p_sim
    np.testing.assert_allclose(ref_p[quiet], 1 / (P_REF + 1), rtol=1e-6)  # esda's are float32
    np.testing.assert_allclose(ours.p_sim[quiet], 1 / (P_REF + 1), rtol=1e-12)
    P = 49999
    big = gi_star_permutation(counts, act, permutations=P, seed=8)
    n, zeros = int(act.sum()), int((counts[act] == 0).sum())
    exact = math.comb(zeros - 1, 8) / math.comb(n - 1, 8)  # 8 of the other n - 1, all zero
    share = big.n_less_equal[quiet] / P
    assert np.unique(share).size == 1  # these cells share one set of draws
    assert abs(share[0] - exact) < 4 * math.sqrt(exact * (1 - exact) / P)
    np.testing.assert_allclose(big.p_two_sided[quiet], 2 * (share * P + 1) / (P + 1))


def test_gi_star_permutation_independent_draws_agree(leeds):
    grid, counts = leeds.grid, leeds.themes["all_crime"].count
    P = 999
    shared = gi_star_permutation(counts, grid.active, permutations=P, seed=1)
    own = gi_star_permutation(counts, grid.active, permutations=P, seed=2, share_draws=False)
    assert _within_mc(shared.p_sim[grid.active], own.p_sim[grid.active], P, P)
    assert shared.choices[0].what == "permutation draws" and shared.choices[0].value < 300
    again = gi_star_permutation(counts, grid.active, permutations=P, seed=1)
    np.testing.assert_array_equal(shared.p_sim, again.p_sim)  # seeded
    gen = gi_star_permutation(counts, grid.active, permutations=P, seed=np.random.default_rng(1))
    np.testing.assert_array_equal(shared.p_sim, gen.p_sim)


def test_gi_star_permutation_isolated_cell_and_bad_input():
    counts = np.zeros((6, 6))
    counts[1, 1] = 3
    active = np.zeros((6, 6), bool)
    active[:3, :3] = True
    active[5, 5] = True  # no active neighbour
    r = gi_star_permutation(counts, active, permutations=99, seed=0)
    assert np.isnan(r.p_sim[5, 5]) and np.isnan(r.p_two_sided[5, 5])
    assert np.isfinite(r.p_sim[:3, :3]).all()
    assert any(c.what == "cells without an active neighbour" and c.value == 1 for c in r.choices)
    with pytest.raises(ValueError):
        gi_star_permutation(counts, active, permutations=0)
    with pytest.raises(ValueError):
        gi_star_permutation(counts[:5], active)


# --------------------------------------------------------------------------------------------
# queen weights and local Moran's I on the Leeds LSOAs against libpysal/esda


def test_queen_weights_equal_libpysal_on_leeds_lsoas(leeds):
    from libpysal.weights import Queen

    lsoa = leeds.lsoa.reset_index(drop=True)
    W = queen_weights(lsoa.geometry)
    ref = Queen.from_dataframe(lsoa, use_index=False, silence_warnings=True)
    ours = {i: set(W.indices[W.indptr[i]:W.indptr[i + 1]].tolist()) for i in range(W.shape[0])}
    theirs = {i: set(ref.neighbors[i]) for i in range(ref.n)}
    assert len(ours) == len(theirs) == len(lsoa) > 400
    assert ours == theirs
    np.testing.assert_allclose(W.sum(axis=1), 1.0)
    assert ((W > 0) != (W > 0).T).nnz == 0  # symmetric neighbour relation
    # a wrong rule (rook: a shared edge, not a corner) gives different sets here
    touches_edge = {
        i: {j for j in s if lsoa.geometry.iloc[i].intersection(lsoa.geometry.iloc[j]).length > 0}
        for i, s in ours.items()
    }
    assert touches_edge != theirs


@pytest.fixture(scope="module")
def leeds_lisa(leeds):
    from esda.moran import Moran_Local
    from libpysal.weights import Queen

    lsoa = leeds.lsoa.reset_index(drop=True)
    y = lsoa["rate_all_crime"].to_numpy(float)
    assert np.isfinite(y).all()
    P = 4999
    ours = local_moran(y, queen_weights(lsoa.geometry), permutations=P, seed=4,
                       adjust="none", p_value="folded")
    w = Queen.from_dataframe(lsoa, use_index=False, silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = Moran_Local(y, w, transformation="r", permutations=P, seed=9)
    return y, ours, ref, P


def test_local_moran_statistic_and_quadrants_equal_esda(leeds_lisa):
    _, ours, ref, _ = leeds_lisa
    np.testing.assert_allclose(ours.Is, ref.Is, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(ours.q, ref.q)
    np.testing.assert_array_equal(ours.quadrant, np.vectorize(QUADRANTS.get)(ref.q))
    assert set(ours.quadrant) == set(QUADRANTS.values())


def test_local_moran_p_matches_esda_within_monte_carlo_error(leeds_lisa):
    _, ours, ref, P = leeds_lisa
    share, worst = _mc_agreement(ours.p_sim, ref.p_sim, P, P)
    assert share <= 0.01 and worst <= 5, (share, worst)
    assert not _within_mc(ours.p_two_sided, ref.p_sim, P, P)
    # cluster labels as esda's get_cluster_labels (same p, no adjustment), up to Monte Carlo
    names = {"High-High": "high-high", "Low-High": "low-high", "Low-Low": "low-low",
             "High-Low": "high-low", "Insignificant": "not significant"}
    theirs = np.array([names[c] for c in ref.get_cluster_labels(0.05)])
    near = np.abs(ref.p_sim - 0.05) < 4 * math.sqrt(0.05 * 0.95 * 2 / P)
    np.testing.assert_array_equal(ours.cluster[~near], theirs[~near])
    # z from the exact conditional moments is what both simulations estimate
    assert np.nanmax(np.abs(ours.z - ref.z_sim)) < 0.5
    assert np.nanmax(np.abs(ours.z - ours.z_sim)) < 0.5
    assert np.median(np.abs(ours.z - ref.z_sim)) < 0.05


def test_local_moran_labels_equal_esda_at_the_same_seed(leeds):
    """esda's own draws at seed 9 (``esda.crand.vec_permutations``, what ``Moran_Local`` uses
    internally) fed to local_moran: the pseudo p-values and the cluster labels are esda's, area
    for area, with no Monte Carlo allowance."""
    from esda.crand import vec_permutations
    from esda.moran import Moran_Local
    from libpysal.weights import Queen

    lsoa = leeds.lsoa.reset_index(drop=True)
    y = lsoa["rate_all_crime"].to_numpy(float)
    w = Queen.from_dataframe(lsoa, use_index=False, silence_warnings=True)
    P, seed = 9999, 9
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = Moran_Local(y, w, transformation="r", permutations=P, seed=seed, n_jobs=1)
    kmax = max(w.cardinalities.values())
    draws = vec_permutations(kmax, len(y), P, seed)
    ours = local_moran(y, queen_weights(lsoa.geometry), draws=draws, adjust="none", p_value="folded")
    np.testing.assert_allclose(ours.p_sim, ref.p_sim, rtol=1e-6)  # esda's are float32
    names = {"High-High": "high-high", "Low-High": "low-high", "Low-Low": "low-low",
             "High-Low": "high-low", "Insignificant": "not significant"}
    theirs = np.array([names[c] for c in ref.get_cluster_labels(0.05)])
    np.testing.assert_array_equal(ours.cluster, theirs)
    assert (theirs != "not significant").sum() > 50
    # other draws (our own generator at the same seed) give different p-values
    own = local_moran(y, queen_weights(lsoa.geometry), permutations=P, seed=seed, adjust="none",
                      p_value="folded")
    assert not np.allclose(own.p_sim, ref.p_sim, rtol=1e-6)


def test_local_moran_adjusted_clusters(leeds, leeds_lisa):
    y = leeds_lisa[0]
    # the defaults: two-sided p, Benjamini-Hochberg, 0.05
    res = local_moran(y, queen_weights(leeds.lsoa.geometry), permutations=9999, seed=0)
    sig = res.p_adjusted < 0.05
    assert (res.cluster[sig] == res.quadrant[sig]).all()
    assert (res.cluster[~sig] == "not significant").all()
    np.testing.assert_allclose(res.p_adjusted, adjust_p(res.p_two_sided, method="bh"))
    assert 0 < sig.sum() <= (res.p_two_sided < 0.05).sum()
    assert res.choices[0].value == "two-sided pseudo p, bh adjusted, below 0.05"


def test_local_moran_with_unequal_weights_matches_esda(leeds):
    """Inverse-distance weights on the queen pairs: the weighted simulation path."""
    from esda.moran import Moran_Local
    from libpysal.weights import WSP

    lsoa = leeds.lsoa.reset_index(drop=True)
    y = lsoa["rate_all_crime"].to_numpy(float)
    B = queen_weights(lsoa.geometry, row_standardised=False).tocoo()
    c = np.column_stack([lsoa.geometry.centroid.x, lsoa.geometry.centroid.y])
    d = np.hypot(*(c[B.row] - c[B.col]).T)
    Wd = sparse.csr_array((1000.0 / d, (B.row, B.col)), shape=B.shape)
    P = 2999
    ours = local_moran(y, Wd, permutations=P, seed=1, adjust="none", p_value="folded")
    w = WSP(sparse.csr_matrix(Wd)).to_W(silence_warnings=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = Moran_Local(y, w, transformation="r", permutations=P, seed=2)
    np.testing.assert_allclose(ours.Is, ref.Is, rtol=0, atol=1e-10)
    np.testing.assert_array_equal(ours.q, ref.q)
    assert _within_mc(ours.p_sim, ref.p_sim, P, P)


def test_local_moran_islands_and_bad_input():
    import shapely

    polys = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1), shapely.box(0, 1, 1, 2),
             shapely.box(1, 1, 2, 2), shapely.box(9, 9, 10, 10)]
    W = queen_weights(polys)
    assert W[[4]].nnz == 0
    res = local_moran(np.array([1.0, 2, 3, 4, 10]), W, permutations=99, seed=0)
    assert np.isnan(res.Is[4]) and np.isnan(res.p_sim[4]) and res.q[4] == 0
    assert res.quadrant[4] == res.cluster[4] == "no neighbours"
    assert np.isfinite(res.Is[:4]).all()
    assert any(c.what == "areas without neighbours" and c.value == 1 for c in res.choices)
    with pytest.raises(ValueError, match="finite"):
        local_moran(np.array([1.0, np.nan, 3, 4, 5]), W)
    with pytest.raises(ValueError, match="constant"):
        local_moran(np.ones(5), W)
    with pytest.raises(ValueError):
        local_moran(np.arange(4.0), W)


def test_local_moran_quadrant_boundaries_as_esda():
    """A value exactly at the mean (z = 0) is 'low', as in esda's q."""
    import shapely
    from esda.moran import Moran_Local
    from libpysal.weights import lat2W

    y = np.array([4, 8, 0, 7, 6, 1, 2, 3, 5], float)  # the corner is at the mean, 4: z = 0
    squares = [shapely.box(c, -r, c + 1, -r + 1) for r in range(3) for c in range(3)]
    ours = local_moran(y, queen_weights(squares), permutations=99, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ref = Moran_Local(y, lat2W(3, 3, rook=False), permutations=0)
    assert ours.quadrant[0] == "low-high" and ref.q[0] == 2
    np.testing.assert_array_equal(ours.q, ref.q)
    np.testing.assert_allclose(ours.Is, ref.Is, atol=1e-12)
