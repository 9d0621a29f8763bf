"""Drift statistics against values computed by hand."""

from __future__ import annotations

import math

import pytest

from tierops.drift.stats import (
    coverage_limit_pp,
    psi,
    psi_critical,
    psi_limit,
    share_changes_pp,
    skew_violations,
)


def test_psi_of_a_shifted_distribution():
    # by hand: -0.15*ln(0.4) - 0.05*ln(0.8) + 0.05*ln(1.2) + 0.15*ln(1.6)
    #        = 0.137444 + 0.011157 + 0.009116 + 0.070501 = 0.228218
    assert psi([0.25] * 4, [0.1, 0.2, 0.3, 0.4]) == pytest.approx(0.228218, abs=1e-6)


def test_psi_takes_counts_and_is_zero_without_change():
    assert psi([50, 50, 50, 50], [10, 20, 30, 40]) == pytest.approx(0.228218, abs=1e-6)
    assert psi([3, 7, 10], [30, 70, 100]) == 0.0


def test_psi_of_an_emptied_bin_uses_a_small_share_not_infinity():
    # a = [1, 1e-4], e = [0.5, 0.5]: 0.5*ln(2) + (1e-4 - 0.5)*ln(2e-4) = 0.346574 + 4.257745
    assert psi([1, 1], [8, 0]) == pytest.approx(4.604319, abs=1e-5)


def test_psi_rejects_mismatched_or_empty_bins():
    with pytest.raises(ValueError, match="bins differ"):
        psi([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="empty"):
        psi([0, 0], [1, 1])


def test_psi_critical_value_from_chi_square_table():
    # chi-square 0.99 quantile with 9 df is 21.666 (table); n = m = 300 -> 21.666 * 2/300
    assert psi_critical(300, 300, 10, 0.01) == pytest.approx(0.14444, abs=1e-4)
    # 0.95 quantile with 1 df is 3.841; n = m = 100 -> 3.841 * 0.02
    assert psi_critical(100, 100, 2, 0.05) == pytest.approx(0.07683, abs=1e-4)
    assert psi_critical(100, 100, 1, 0.05) == math.inf


def test_psi_limit_is_the_floor_for_large_samples_and_higher_for_small_ones():
    assert psi_limit(1_000_000, 1_000_000, 10, 0.01, floor=0.1) == 0.1
    assert psi_limit(300, 300, 10, 0.01, floor=0.1) == pytest.approx(0.14444, abs=1e-4)


def test_share_changes_in_percentage_points():
    changes = share_changes_pp({"a": 50, "b": 50}, {"a": 30, "b": 60, "c": 10})
    assert changes == pytest.approx({"a": -20.0, "b": 10.0, "c": 10.0})


def test_skew_bounds_name_the_broken_bound():
    shares = {"high_value": 0.25, "churn_risk": 0.30}
    bounds = {"high_value": (None, 0.20), "churn_risk": (None, 0.40), "new": (0.01, None)}
    assert skew_violations(shares, bounds) == {
        "high_value": "25.0% > max 20.0%",
        "new": "0.0% < min 1.0%",
    }


def test_coverage_limit_grows_for_small_populations():
    # p = 0.1, n = 400: 1.959964 * sqrt(0.09 / 400) = 0.029399 -> 2.94 pp
    assert coverage_limit_pp(0.1, 400, 0.05, floor_pp=2.0) == pytest.approx(2.93995, abs=1e-4)
    assert coverage_limit_pp(0.1, 400, 0.05, floor_pp=5.0) == 5.0
