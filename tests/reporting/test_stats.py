"""A/B statistics against published and hand-computed values, plus planted and null effects."""

from __future__ import annotations

import numpy as np
import pytest

from tierops.reporting.stats import (
    GroupAggregate,
    minimum_detectable_effect,
    newcombe_diff,
    readout,
    two_proportion_p_value,
    welch_diff,
    wilson_interval,
)


def test_wilson_matches_newcombe_1998_table_i():
    # Newcombe (1998a), Statistics in Medicine 17:857, method "score" (Wilson)
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-5)
    assert wilson_interval(0, 20) == pytest.approx((0.0, 0.1611), abs=5e-5)
    assert wilson_interval(1, 29) == pytest.approx((0.0061, 0.1718), abs=5e-5)


@pytest.mark.parametrize(
    ("x1", "n1", "x0", "n0", "low", "high"),
    [
        # Newcombe (1998b), Statistics in Medicine 17:873, Table II, method 10
        (56, 70, 48, 80, 0.0524, 0.3339),
        (9, 10, 3, 10, 0.1705, 0.8090),
        (6, 7, 2, 7, 0.0582, 0.8062),
        (5, 56, 0, 29, -0.0381, 0.1926),
        (0, 10, 0, 10, -0.2775, 0.2775),
    ],
)
def test_newcombe_difference_matches_published_table(x1, n1, x0, n0, low, high):
    interval = newcombe_diff(x1, n1, x0, n0)
    assert interval.estimate == pytest.approx(x1 / n1 - x0 / n0)
    assert (interval.low, interval.high) == pytest.approx((low, high), abs=5e-5)


def test_pooled_z_test_by_hand():
    # 120/1000 vs 100/1000: pooled p = 0.11, se = sqrt(0.11*0.89*0.002) = 0.013994, z = 1.4292
    assert two_proportion_p_value(120, 1000, 100, 1000) == pytest.approx(0.15295, abs=1e-4)


def test_welch_from_sums_matches_hand_computation():
    # treatment revenue 10, 20, 30 (mean 20, var 100); holdout 5, 5, 10, 20 (mean 10, var 50)
    treatment = GroupAggregate(n=3, conversions=3, revenue_sum=60, revenue_sumsq=1400)
    holdout = GroupAggregate(n=4, conversions=4, revenue_sum=40, revenue_sumsq=550)
    interval, df, p = welch_diff(treatment, holdout)
    se2 = 100 / 3 + 50 / 4  # 45.833
    assert df == pytest.approx(se2**2 / ((100 / 3) ** 2 / 2 + (50 / 4) ** 2 / 3))  # 3.457
    assert df == pytest.approx(3.4571, abs=1e-4)
    assert interval.estimate == 10
    # t(0.975, 3.457) = 2.9596 → half width 2.9596 * 6.7700 = 20.0199
    assert interval.low == pytest.approx(-10.0199, abs=1e-3)
    assert interval.high == pytest.approx(30.0199, abs=1e-3)
    assert p == pytest.approx(0.2244, abs=1e-4)


def test_welch_needs_two_customers_per_group():
    one = GroupAggregate(n=1, conversions=1, revenue_sum=5, revenue_sumsq=25)
    many = GroupAggregate(n=5, conversions=2, revenue_sum=10, revenue_sumsq=50)
    assert welch_diff(one, many) is None


def test_minimum_detectable_effect_by_hand():
    # (1.95996 + 0.84162) * sqrt(0.1 * 0.9 * (1/1000 + 1/1000)) = 2.80158 * 0.0134164 = 0.037587
    assert minimum_detectable_effect(0.10, 1000, 1000) == pytest.approx(0.037587, abs=1e-5)


def test_planted_uplift_is_found():
    # 12 % vs 10 % conversion with 8,000 customers per arm; revenue uplift 3 per customer
    treatment = GroupAggregate(
        8000, 960, revenue_sum=8000 * 23.0, revenue_sumsq=8000 * (23**2 + 400)
    )
    holdout = GroupAggregate(8000, 800, revenue_sum=8000 * 20.0, revenue_sumsq=8000 * (20**2 + 400))
    result = readout(treatment, holdout)
    assert result.verdict == "uplift"
    assert result.significant
    assert result.warnings == []
    assert result.conversion_diff.estimate == pytest.approx(0.02)
    assert 0 < result.conversion_diff.low < 0.02 < result.conversion_diff.high
    assert result.revenue_diff.estimate == pytest.approx(3.0)
    assert result.revenue_diff.low > 0
    assert result.conversion_p_value < 0.001


def test_null_effect_is_not_called_significant():
    treatment = GroupAggregate(5000, 500, revenue_sum=100_000, revenue_sumsq=5000 * 800)
    holdout = GroupAggregate(4000, 400, revenue_sum=80_000, revenue_sumsq=4000 * 800)
    result = readout(treatment, holdout)
    assert result.conversion_diff.estimate == pytest.approx(0.0)
    assert not result.significant
    assert result.verdict == "no_difference"
    assert result.revenue_diff.low < 0 < result.revenue_diff.high
    assert result.conversion_p_value == pytest.approx(1.0)


def _simulate(rate_t: float, rate_h: float, n: int, runs: int, seed: int) -> list:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(runs):
        xt, xh = rng.binomial(n, rate_t), rng.binomial(n, rate_h)
        out.append(readout(GroupAggregate(n, int(xt)), GroupAggregate(n, int(xh))))
    return out


def test_null_experiments_are_significant_about_five_percent_of_the_time():
    results = _simulate(0.10, 0.10, 2000, 400, seed=3)
    false_positives = sum(r.significant for r in results) / len(results)
    assert 0.02 <= false_positives <= 0.09


def test_planted_uplift_is_found_in_most_simulated_experiments():
    # MDE for 10 % baseline and 3000 per arm is 2.2 pp; a 4 pp uplift must be found almost always
    results = _simulate(0.14, 0.10, 3000, 200, seed=5)
    assert sum(r.verdict == "uplift" for r in results) / len(results) >= 0.95


def test_small_samples_warn_and_are_inconclusive():
    result = readout(GroupAggregate(40, 6), GroupAggregate(30, 2))
    assert result.verdict == "inconclusive"
    text = " | ".join(result.warnings)
    assert "treatment n=40 < 100" in text
    assert "holdout expects 3.4 (non-)conversions < 5" in text  # 30 * 8/70 = 3.43
    assert "MDE " in text
    assert result.mde > 0.05


def test_empty_group_gives_no_figures():
    result = readout(GroupAggregate(0, 0), GroupAggregate(500, 50))
    assert result.conversion_diff is None
    assert result.verdict == "inconclusive"
    assert result.warnings == ["treatment group is empty"]


def test_invalid_aggregate_is_rejected():
    with pytest.raises(ValueError, match="conversions <= n"):
        GroupAggregate(10, 11)
