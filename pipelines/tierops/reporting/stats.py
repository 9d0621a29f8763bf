"""A/B readouts from per-group aggregates (treatment vs holdout).

Everything here takes counts and sums, never customer rows: the warehouse aggregates
(n, conversions, sum and sum of squares of revenue per group) and Python does the statistics.

* Conversion: difference of proportions with a 95 % **Newcombe hybrid score interval** (Newcombe
  1998, method 10: Wilson intervals of each rate combined). Unlike the plain Wald interval it keeps
  its coverage for small groups and rates near 0 or 1. The p-value is the pooled two-proportion
  z-test (normal approximation). "Significant" means the interval excludes 0.
* Revenue per customer: difference of means with a **Welch t** interval (unequal variances,
  Welch–Satterthwaite degrees of freedom), computed from n, sum and sum of squares.
* Sample size: the minimum detectable effect (MDE) at 80 % power, and warnings when a group is
  too small, when expected conversions or non-conversions fall below 5 (the normal approximation
  is not valid) or when the MDE is larger than the effect the team wants to be able to see.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache

from scipy import special
from scipy.stats import norm

CONFIDENCE = 0.95
POWER = 0.80
MIN_EXPECTED_COUNT = 5


@dataclass(frozen=True)
class GroupAggregate:
    """One arm of an experiment, as SQL returns it."""

    n: int  # customers in the group
    conversions: int  # customers who converted in the outcome window
    revenue_sum: float = 0.0  # sum of per-customer revenue in the outcome window
    revenue_sumsq: float = 0.0  # sum of squared per-customer revenue

    def __post_init__(self) -> None:
        if self.n < 0 or self.conversions < 0 or self.conversions > self.n:
            raise ValueError(f"need 0 <= conversions <= n, got {self.conversions} of {self.n}")

    @property
    def rate(self) -> float | None:
        return self.conversions / self.n if self.n else None

    @property
    def revenue_mean(self) -> float | None:
        return self.revenue_sum / self.n if self.n else None

    @property
    def revenue_var(self) -> float | None:
        """Sample variance (n - 1); clipped at 0 against rounding in sum-of-squares."""
        if self.n < 2:
            return None
        return max(0.0, (self.revenue_sumsq - self.revenue_sum**2 / self.n) / (self.n - 1))


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float

    @property
    def excludes_zero(self) -> bool:
        return self.low > 0 or self.high < 0


@dataclass(frozen=True)
class Readout:
    treatment: GroupAggregate
    holdout: GroupAggregate
    conversion_diff: Interval | None  # treatment rate - holdout rate
    conversion_p_value: float | None
    revenue_diff: Interval | None  # treatment mean - holdout mean
    revenue_p_value: float | None
    revenue_df: float | None
    mde: float | None  # smallest rate difference detectable at 80 % power
    warnings: list[str] = field(default_factory=list)

    @property
    def significant(self) -> bool:
        return self.conversion_diff is not None and self.conversion_diff.excludes_zero

    @property
    def verdict(self) -> str:
        """uplift | negative | no_difference | inconclusive (warnings mean: do not conclude)."""
        if self.conversion_diff is None:
            return "inconclusive"
        if self.significant:
            return "uplift" if self.conversion_diff.estimate > 0 else "negative"
        return "inconclusive" if self.warnings else "no_difference"


# A readout is computed per day and action (thousands in a backfill): normal quantiles are
# cached, and the t distribution is evaluated with scipy.special's functions, the ones
# scipy.stats.t calls underneath without its per-call argument checking.
@cache
def _normal_quantile(q: float) -> float:
    return float(norm.ppf(q))


def _z(confidence: float) -> float:
    return _normal_quantile(1 - (1 - confidence) / 2)


def wilson_interval(x: int, n: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval for one proportion."""
    if n <= 0:
        raise ValueError("n must be positive")
    z = _z(confidence)
    p = x / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe_diff(x1: int, n1: int, x0: int, n0: int, confidence: float = CONFIDENCE) -> Interval:
    """Newcombe's hybrid score interval for p1 - p0 (method 10)."""
    p1, p0 = x1 / n1, x0 / n0
    l1, u1 = wilson_interval(x1, n1, confidence)
    l0, u0 = wilson_interval(x0, n0, confidence)
    d = p1 - p0
    low = d - math.sqrt((p1 - l1) ** 2 + (u0 - p0) ** 2)
    high = d + math.sqrt((u1 - p1) ** 2 + (p0 - l0) ** 2)
    return Interval(d, low, high)


def two_proportion_p_value(x1: int, n1: int, x0: int, n0: int) -> float:
    """Two-sided pooled z-test."""
    pooled = (x1 + x0) / (n1 + n0)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n0))
    if se == 0:
        return 1.0
    z = (x1 / n1 - x0 / n0) / se
    return float(2 * special.ndtr(-abs(z)))  # 2 × the normal survival function of |z|


def welch_diff(
    a: GroupAggregate, b: GroupAggregate, confidence: float = CONFIDENCE
) -> tuple[Interval, float, float] | None:
    """Welch interval for mean(a) - mean(b): (interval, degrees of freedom, p-value)."""
    va, vb = a.revenue_var, b.revenue_var
    if va is None or vb is None:
        return None
    d = a.revenue_mean - b.revenue_mean
    sa, sb = va / a.n, vb / b.n
    se2 = sa + sb
    if se2 == 0:
        return Interval(d, d, d), float("inf"), (1.0 if d == 0 else 0.0)
    df = se2**2 / (sa**2 / (a.n - 1) + sb**2 / (b.n - 1))
    se = math.sqrt(se2)
    crit = float(special.stdtrit(df, 1 - (1 - confidence) / 2))  # t quantile
    p = float(2 * special.stdtr(df, -abs(d) / se))  # 2 × the t survival function
    return Interval(d, d - crit * se, d + crit * se), df, p


def minimum_detectable_effect(
    baseline: float, n1: int, n0: int, confidence: float = CONFIDENCE, power: float = POWER
) -> float:
    """Smallest absolute rate difference a two-sided test detects with the given power."""
    z = _z(confidence) + _normal_quantile(power)
    return z * math.sqrt(baseline * (1 - baseline) * (1 / n1 + 1 / n0))


def readout(
    treatment: GroupAggregate,
    holdout: GroupAggregate,
    *,
    min_group_size: int = 100,
    max_mde: float = 0.05,
    confidence: float = CONFIDENCE,
) -> Readout:
    """Compare treatment with holdout; warnings say why a result must not be concluded from."""
    warnings: list[str] = []
    if treatment.n == 0 or holdout.n == 0:
        empty = "treatment" if treatment.n == 0 else "holdout"
        return Readout(
            treatment, holdout, None, None, None, None, None, None, [f"{empty} group is empty"]
        )
    for name, group in (("treatment", treatment), ("holdout", holdout)):
        if group.n < min_group_size:
            warnings.append(f"{name} n={group.n} < {min_group_size}")
    pooled = (treatment.conversions + holdout.conversions) / (treatment.n + holdout.n)
    for name, group in (("treatment", treatment), ("holdout", holdout)):
        expected = min(group.n * pooled, group.n * (1 - pooled))
        if expected < MIN_EXPECTED_COUNT:
            warnings.append(
                f"{name} expects {expected:.1f} (non-)conversions < {MIN_EXPECTED_COUNT}: "
                "normal approximation unreliable"
            )
    base = holdout.rate if 0 < holdout.rate < 1 else pooled
    mde = (
        minimum_detectable_effect(base, treatment.n, holdout.n, confidence)
        if 0 < base < 1
        else None
    )
    if mde is not None and mde > max_mde:
        warnings.append(f"MDE {100 * mde:.1f} pp > {100 * max_mde:.1f} pp")
    conv = newcombe_diff(
        treatment.conversions, treatment.n, holdout.conversions, holdout.n, confidence
    )
    p = two_proportion_p_value(treatment.conversions, treatment.n, holdout.conversions, holdout.n)
    welch = welch_diff(treatment, holdout, confidence)
    return Readout(
        treatment=treatment,
        holdout=holdout,
        conversion_diff=conv,
        conversion_p_value=p,
        revenue_diff=welch[0] if welch else None,
        revenue_p_value=welch[2] if welch else None,
        revenue_df=welch[1] if welch else None,
        mde=mde,
        warnings=warnings,
    )
