"""Mann-Kendall, change between periods and emerging hot spot classes against references and
constructed series."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from localprofile.engine.emerging import (
    ARCGIS_MIN_STEPS,
    COLD_PATTERNS,
    HOT_PATTERNS,
    NO_DATA,
    NO_PATTERN,
    SFHOTSPOT_MIN_STEPS,
    TooFewTimeSteps,
    emerging_hotspots,
    sfhotspot_classify,
)
from localprofile.engine.trend import change, mann_kendall


def _series_set(rng):
    """Columns: continuous, heavily tied counts, trending counts, with NaNs, constant."""
    n = 24
    cont = rng.normal(size=(n, 40)) + np.linspace(0, 1.5, n)[:, None] * rng.uniform(-1, 1, 40)
    tied = rng.poisson(2.0, size=(n, 40)).astype(float)
    trending = rng.poisson(np.linspace(1, 6, n)[:, None], size=(n, 20)).astype(float)
    gappy = rng.poisson(3.0, size=(n, 20)).astype(float)
    gappy[rng.random(gappy.shape) < 0.2] = np.nan
    const = np.full((n, 2), 7.0)
    return np.hstack([cont, tied, trending, gappy, const])


# ---------------------------------------------------------------- Mann-Kendall


def test_mann_kendall_matches_pymannkendall_series_by_series():
    import pymannkendall as mk
    x = _series_set(np.random.default_rng(1))
    r = mann_kendall(x)  # every column at once
    for j in range(x.shape[1]):
        ref = mk.original_test(x[:, j])
        assert r.S[j] == ref.s
        np.testing.assert_allclose([r.z[j], r.p[j], r.tau[j]], [ref.z, ref.p, ref.Tau], rtol=1e-12, atol=1e-15)


def test_mann_kendall_s_matches_scipy_kendalltau_against_time():
    # Kendall's tau-b of (time, x) = S / sqrt(n0 (n0 - n1)), n0 = n(n-1)/2, n1 = pairs tied in x
    x = _series_set(np.random.default_rng(2))[:, :-2]  # a constant series has no tau-b
    r = mann_kendall(x)
    for j in range(x.shape[1]):
        v = x[:, j][np.isfinite(x[:, j])]
        n0 = len(v) * (len(v) - 1) / 2
        _, counts = np.unique(v, return_counts=True)
        n1 = (counts * (counts - 1) / 2).sum()
        tau_b = stats.kendalltau(np.arange(len(v)), v).statistic
        assert r.S[j] == pytest.approx(tau_b * np.sqrt(n0 * (n0 - n1)), abs=1e-9)


def test_mann_kendall_hand_worked_and_any_axis():
    # 3, 1, 2, 2: pairs (3,1)- (3,2)- (3,2)- (1,2)+ (1,2)+ (2,2)0 -> S = -1
    # var = (4*3*13 - 2*1*9) / 18 = 138/18; z = (S + 1)/sd = 0; tau = -1/6
    r = mann_kendall(np.array([3.0, 1, 2, 2]))
    assert (float(r.S), float(r.z), float(r.p)) == (-1.0, 0.0, 1.0)
    assert float(r.tau) == pytest.approx(-1 / 6)
    # 1, 2, 2, 4: S = 5; one tie pair: var = (4*3*13 - 2*1*9) / 18; z = (5 - 1) / sqrt(var)
    r = mann_kendall(np.array([1.0, 2, 2, 4]))
    assert float(r.z) == pytest.approx(4 / np.sqrt(138 / 18), rel=1e-12)
    assert float(r.p) == pytest.approx(2 * stats.norm.sf(4 / np.sqrt(138 / 18)), rel=1e-12)
    cube = np.random.default_rng(3).poisson(2, size=(15, 4, 5)).astype(float)
    a, b = mann_kendall(cube), mann_kendall(np.moveaxis(cube, 0, 2), axis=2)
    assert a.S.shape == (4, 5)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    # constant series: no trend at all; too few finite values: NaN
    const = mann_kendall(np.full(10, 4.0))
    assert (float(const.S), float(const.z), float(const.p)) == (0.0, 0.0, 1.0)
    short = mann_kendall(np.array([[1.0, 1], [np.nan, 2], [2, 3]]))
    assert np.isnan(short.S[0]) and np.isnan(short.p[0]) and short.S[1] == 3


# ---------------------------------------------------------------- change


def test_change_against_hand_computed_values():
    # 0 -> 3, equal exposure: outcomes of Binomial(3, 1/2) no likelier than 3 are 0 and 3: 2/8
    # 1 -> 4: Binomial(5, 1/2), pmf(4) = 5/32; x = 0, 1, 4, 5 qualify: (1+5+5+1)/32
    # 10 -> 20: difference 10, ratio 2, +100%
    c = change([0, 1, 10], [3, 4, 20])
    np.testing.assert_allclose(c.p[:2], [2 / 8, 12 / 32], rtol=1e-12)
    assert c.difference.tolist() == [3, 3, 10]
    assert np.isnan(c.ratio[0]) and np.isnan(c.percent[1])  # below the minimum denominator
    assert (c.ratio[2], c.percent[2]) == (2.0, 100.0)
    # 2 crimes in 1 month, then 2 in 3 months: under one rate the later share is 3/4, so
    # k = 2 of 4 ~ Binomial(4, 3/4): pmf = (1, 12, 54, 108, 81)/256; x = 0, 1, 2 qualify
    u = change(2, 2, t_before=1, t_after=3, min_denominator=1)
    assert float(u.p) == pytest.approx(67 / 256, rel=1e-12)
    assert float(u.difference) == pytest.approx(2 / 3 - 2)
    assert float(u.ratio) == pytest.approx(1 / 3) and float(u.percent) == pytest.approx(-200 / 3)
    # no events at all: no evidence of change; NaN in, NaN out
    assert float(change(0, 0).p) == 1.0 and np.isnan(change(np.nan, 3).p)
    with pytest.raises(ValueError, match="exposure"):
        change(1, 2, t_before=0)
    with pytest.raises(ValueError, match="before: 1 value is negative"):
        change([-1, 2], [3, 4])


@pytest.mark.parametrize("t", [(1, 1), (1, 3), (12, 5), (2.5, 1)])
def test_change_p_equals_scipy_binomtest_elementwise(t):
    rng = np.random.default_rng(4)
    k1 = np.concatenate([np.arange(0, 12).repeat(12), rng.integers(0, 600, 150)])
    k2 = np.concatenate([np.tile(np.arange(0, 12), 12), rng.integers(0, 600, 150)])
    p = change(k1, k2, t_before=t[0], t_after=t[1]).p
    prob = t[1] / (t[0] + t[1])
    for a, b, got in zip(k1, k2, p):
        want = 1.0 if a + b == 0 else stats.binomtest(int(b), int(a + b), prob).pvalue
        assert got == pytest.approx(want, rel=1e-9, abs=1e-300), (a, b)


# ---------------------------------------------------------------- ArcGIS patterns

H, C = 3.0, -3.0  # Gi* z of a significant hot / cold step; 0 is neither
ALT = [H, 4.0] * 5  # hot throughout with no trend (S = 5, p = 0.72)
ARCGIS_CASES = {
    "New Hot Spot": [0] * 9 + [H],
    "Consecutive Hot Spot": [0] * 7 + [H] * 3,
    "Intensifying Hot Spot": list(np.linspace(2.5, 6, 10)),
    "Persistent Hot Spot": ALT,
    "Diminishing Hot Spot": list(np.linspace(6, 2.5, 10)),
    "Sporadic Hot Spot": [H, 0, 0, H, 0, 0, 0, 0, 0, H],
    "Oscillating Hot Spot": [C] + [0] * 8 + [H],
    "Historical Hot Spot": ALT[:9] + [0],
}
ARCGIS_CASES.update({k.replace("Hot", "Cold"): [-v for v in s] for k, s in list(ARCGIS_CASES.items())})
ARCGIS_CASES[NO_PATTERN] = [0] * 10
ARCGIS_EDGES = [  # (series, label, why)
    ([H] + [0] * 9, NO_PATTERN, "hot long ago, not now, in under 90% of steps"),
    ([0] * 8 + [H, 0], NO_PATTERN, "hot only before the final step"),
    ([0] * 8 + [H] * 2, "Consecutive Hot Spot", "the shortest run"),
    ([0] * 2 + [H] * 8, "Consecutive Hot Spot", "80% hot, all in the final run"),
    ([0] + [H] * 9, "Persistent Hot Spot", "90% hot counts as 90%"),
    ([0, H, H, H, H, 0, H, H, H, H], "Sporadic Hot Spot", "80% hot, interrupted"),
    ([H, H, 0, 0, 0, 0, 0, 0, 0, H], "Sporadic Hot Spot", "a one-step final run after earlier hot steps"),
    ([0] * 8 + [C, H], "Oscillating Hot Spot", "cold just before: never New"),
    ([C] + ALT[:9], "Persistent Hot Spot", "90% hot outranks an earlier cold step"),
    (ALT[:9] + [C], "Oscillating Cold Spot", "the final step's class outranks Historical Hot"),
    ([np.nan] * 10, NO_DATA, "outside the analysed cells"),
]


def _p(z):
    return 2 * stats.norm.sf(np.abs(z))


def test_every_arcgis_pattern_has_a_constructed_case():
    assert set(ARCGIS_CASES) == set(HOT_PATTERNS) | set(COLD_PATTERNS) | {NO_PATTERN}
    assert len(ARCGIS_CASES) == 17


def test_arcgis_patterns_of_constructed_series_all_at_once():
    labels = list(ARCGIS_CASES) + [e[1] for e in ARCGIS_EDGES]
    z = np.array(list(ARCGIS_CASES.values()) + [e[0] for e in ARCGIS_EDGES], dtype=float).T
    result = emerging_hotspots(z, _p(z))
    got = result.pattern.tolist()
    wrong = [(want, g, z[:, i].tolist()) for i, (want, g) in enumerate(zip(labels, got)) if want != g]
    assert not wrong
    # the constructions mean what they say: significant trends only where intended
    trend_p = dict(zip(ARCGIS_CASES, result.trend.p))
    assert trend_p["Intensifying Hot Spot"] < 0.05 and trend_p["Diminishing Cold Spot"] < 0.05
    assert trend_p["Persistent Hot Spot"] > 0.5 and trend_p["Persistent Cold Spot"] > 0.5
    assert result.hot_steps.tolist()[: len(ARCGIS_CASES)] == [
        int(((np.array(s) > 1.96)).sum()) for s in ARCGIS_CASES.values()
    ]
    # any cell layout after time: the same labels on a (t, rows, cols) cube
    pad = -z.shape[1] % 4
    cube = np.concatenate([z, np.zeros((10, pad))], axis=1).reshape(10, 4, -1)
    np.testing.assert_array_equal(
        emerging_hotspots(cube, _p(cube)).pattern.ravel()[: len(labels)], result.pattern
    )


def test_arcgis_alpha_and_trend_alpha_are_used():
    z = np.array(ARCGIS_CASES["Intensifying Hot Spot"])
    assert emerging_hotspots(z, _p(z), alpha=1e-12).pattern.tolist() == NO_PATTERN
    assert emerging_hotspots(z, _p(z), trend_alpha=1e-6).pattern.tolist() == "Persistent Hot Spot"
    # a p-value at the threshold is not significant (p < alpha)
    assert emerging_hotspots(z, np.full(10, 0.05)).pattern.tolist() == NO_PATTERN


# ---------------------------------------------------------------- sfhotspot classes

# 10 steps: the last floor(0.2 * 10) = 2 are recent, the first 8 older
SFH_CASES = {
    "persistent hotspot": [H] * 8 + [0, 0],  # 80% of steps
    "emerging hotspot": [0] * 9 + [H],  # older 0 < 10%, recent 1/2 >= 10%
    "former hotspot": [H] + [0] * 9,  # older 1/8 >= 10%, recent 0
    "intermittent hotspot": [H] + [0] * 8 + [H],  # both, and 20% overall
    "no pattern": [0] * 10,
    "mixed hot/coldspot": [H] + [0] * 8 + [C],  # former hotspot and emerging coldspot
}
SFH_CASES.update({k.replace("hot", "cold"): [-v for v in s] for k, s in list(SFH_CASES.items())
                  if k.endswith("hotspot")})


def test_sfhotspot_classes_of_constructed_series():
    assert len(SFH_CASES) == 10  # 4 hot, 4 cold, mixed, none
    z = np.array(list(SFH_CASES.values()), dtype=float).T
    assert sfhotspot_classify(z, _p(z)).tolist() == list(SFH_CASES)
    assert sfhotspot_classify(z[:, :2].reshape(10, 1, 2), _p(z[:, :2]).reshape(10, 1, 2)).shape == (1, 2)


def test_sfhotspot_thresholds_and_shortest_series():
    two = np.array([[0.0, H], [H, 0.0]])  # 2 steps: 1 recent, 1 older
    assert sfhotspot_classify(two, _p(two)).tolist() == ["emerging hotspot", "former hotspot"]
    # 79% of steps is not persistent: 15 of 19 (recent: the last 3)
    z = np.array([H] * 15 + [0] * 4)
    assert sfhotspot_classify(z, _p(z)).tolist() == "former hotspot"
    assert sfhotspot_classify(z, _p(z), persistent_prop=0.75).tolist() == "persistent hotspot"
    # documented rule: recent share >= hotspot_prop (sfhotspot's code compares with recent_prop)
    z = np.array([0] * 29 + [H])  # 30 steps, 6 recent: 1/6 hot
    assert sfhotspot_classify(z, _p(z)).tolist() == "emerging hotspot"
    assert sfhotspot_classify(z, _p(z), hotspot_prop=0.2).tolist() == "no pattern"


# ---------------------------------------------------------------- too few steps


@pytest.mark.parametrize(
    "func, needed", [(emerging_hotspots, ARCGIS_MIN_STEPS), (sfhotspot_classify, SFHOTSPOT_MIN_STEPS)]
)
def test_too_few_time_steps_is_a_clear_value_error(func, needed):
    assert (ARCGIS_MIN_STEPS, SFHOTSPOT_MIN_STEPS) == (10, 2)
    z = np.full((needed - 1, 3), 3.0)
    with pytest.raises(TooFewTimeSteps) as err:
        func(z, _p(z))
    assert isinstance(err.value, ValueError)
    assert (err.value.given, err.value.needed) == (needed - 1, needed)
    msg = str(err.value)
    given = f"{needed - 1} was given" if needed == 2 else f"{needed - 1} were given"
    assert f"at least {needed} time steps" in msg and given in msg
    assert "\n" not in msg
    z = np.full((needed, 3), 3.0)
    func(z, _p(z))  # exactly enough


def test_mismatched_z_and_p_shapes_are_refused():
    with pytest.raises(ValueError, match="same shape"):
        emerging_hotspots(np.zeros((10, 3)), np.zeros((10, 4)))


def test_every_pattern_has_a_map_colour():
    from localprofile.engine.emerging import COLD_PATTERNS, HOT_PATTERNS
    from localprofile.render.maps import EMERGING_COLOURS

    assert set(EMERGING_COLOURS) == {*HOT_PATTERNS, *COLD_PATTERNS}
