"""Drift statistics on small aggregates (bin counts, tier counts); no per-customer data here.

PSI (population stability index) of a distribution `a` (today) against `e` (the baseline), both
as shares over the same bins:

    PSI = sum_i (a_i - e_i) * ln(a_i / e_i)

Bins are equal-frequency bins of the baseline (deciles by default), so each e_i is about 1/k.

Sample-size-aware threshold. PSI is the symmetric Kullback-Leibler divergence; when both shares
are estimated from samples of n (baseline) and m (today) customers drawn from the SAME
distribution, PSI * n*m/(n+m) is approximately chi-square with k-1 degrees of freedom
(Yurdakul 2018, "Statistical properties of the population stability index"). So the PSI that
sampling noise alone exceeds with probability alpha is

    psi_critical(n, m, k, alpha) = chi2.ppf(1 - alpha, k - 1) * (1/n + 1/m)

A check flags a shift only when PSI exceeds max(psi_floor, psi_critical): the usual 0.1 rule of
thumb for large populations, and a higher bar for small ones, so a base of 300 customers does not
cry wolf (10 bins, n = m = 300, alpha = 0.01: critical value 21.67 * 2/300 = 0.144).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from scipy.stats import chi2, norm

# A bin that is empty on one side would make PSI infinite; it counts as this share instead.
EMPTY_BIN_SHARE = 1e-4


def to_shares(counts: Sequence[float]) -> list[float]:
    total = float(sum(counts))
    if total <= 0:
        raise ValueError("cannot compute shares of an empty distribution")
    if any(c < 0 for c in counts):
        raise ValueError(f"counts must not be negative, got {list(counts)}")
    return [c / total for c in counts]


def psi(expected: Sequence[float], actual: Sequence[float]) -> float:
    """PSI of `actual` against `expected` (counts or shares over the same bins)."""
    if len(expected) != len(actual):
        raise ValueError(f"bins differ: {len(expected)} expected vs {len(actual)} actual")
    e = [max(s, EMPTY_BIN_SHARE) for s in to_shares(expected)]
    a = [max(s, EMPTY_BIN_SHARE) for s in to_shares(actual)]
    return sum((ai - ei) * math.log(ai / ei) for ai, ei in zip(a, e, strict=True))


def psi_critical(n_expected: float, n_actual: float, bins: int, alpha: float) -> float:
    """PSI that sampling noise alone exceeds with probability `alpha` (see module docstring)."""
    if bins < 2:
        return math.inf  # one bin cannot shift
    if n_expected <= 0 or n_actual <= 0:
        return math.inf
    return float(chi2.ppf(1 - alpha, bins - 1)) * (1 / n_expected + 1 / n_actual)


def psi_limit(n_expected: float, n_actual: float, bins: int, alpha: float, floor: float) -> float:
    """The PSI above which a check fires: never below `floor`, higher for small samples."""
    return max(floor, psi_critical(n_expected, n_actual, bins, alpha))


def share_changes_pp(baseline: Mapping[str, float], today: Mapping[str, float]) -> dict[str, float]:
    """Change of each category's share in percentage points; missing categories count as 0."""
    before = dict(zip(baseline, to_shares(list(baseline.values())), strict=True))
    now = dict(zip(today, to_shares(list(today.values())), strict=True))
    return {k: 100 * (now.get(k, 0.0) - before.get(k, 0.0)) for k in sorted(set(before) | set(now))}


def aligned(baseline: Mapping[str, float], today: Mapping[str, float]) -> tuple[list, list]:
    """Counts of both sides over the union of categories (for PSI of tier shares)."""
    keys = sorted(set(baseline) | set(today))
    return [baseline.get(k, 0) for k in keys], [today.get(k, 0) for k in keys]


def skew_violations(
    shares: Mapping[str, float], bounds: Mapping[str, tuple[float | None, float | None]]
) -> dict[str, str]:
    """Tiers whose share (0..1) is outside [min, max]; the value says which bound, readably."""
    out = {}
    for tier, (low, high) in bounds.items():
        share = shares.get(tier, 0.0)
        if high is not None and share > high:
            out[tier] = f"{100 * share:.1f}% > max {100 * high:.1f}%"
        elif low is not None and share < low:
            out[tier] = f"{100 * share:.1f}% < min {100 * low:.1f}%"
    return out


def coverage_limit_pp(expected_share: float, n: int, alpha: float, floor_pp: float) -> float:
    """Largest harmless deviation (pp) of the share above a cut point from its nominal share.

    Under no drift the count above a frozen cut point is binomial(n, p) with p = 1 - q; the
    two-sided normal bound is z(1 - alpha/2) * sqrt(p (1 - p) / n); never below `floor_pp`.
    """
    if n <= 0:
        return math.inf
    p = expected_share
    z = float(norm.ppf(1 - alpha / 2))
    return max(floor_pp, 100 * z * math.sqrt(p * (1 - p) / n))
