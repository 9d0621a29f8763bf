"""Drift checks for every day of a run, stored in `drift_checks` so exports can ask per day.

Five checks, each with a severity from config/checks.yaml (warn, or error: blocks that day's
audience export):

  tier_shares_vs_previous_run  tier shares vs the day before: PSI and largest change in pp
  tier_shares_vs_baseline      tier shares vs calibration time of the active threshold set
  tier_skew                    tier shares inside configured bounds (high_value <= 20 % ...)
  rfm_shift                    R, F, M distribution vs the calibration window (PSI over the
                               window's equal-frequency bins, sample-size-aware limit)
  cut_point_coverage           share of customers at or above each frozen cut point vs the
                               share at calibration (binomial limit)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb

from tierops.checks.config import ChecksConfig
from tierops.drift import stats
from tierops.drift.baseline import (
    counts_by_day,
    cut_baselines,
    cut_shares_by_day,
    feature_baselines,
    threshold_versions_by_day,
    tier_baseline,
    tier_counts_by_day,
)
from tierops.partitions import days_in
from tierops.tiering.engine import CompiledPolicy
from tierops.tiering.thresholds import ThresholdSet

CHECKS: dict[str, str] = {
    "tier_shares_vs_previous_run": (
        "Tier shares vs the previous day: PSI and the largest change in percentage points"
    ),
    "tier_shares_vs_baseline": (
        "Tier shares vs calibration time of the active threshold set: PSI and largest change"
    ),
    "tier_skew": "Every tier's share within the bounds of config/checks.yaml",
    "rfm_shift": (
        "R, F, M distributions vs the calibration window: PSI over its equal-frequency bins, "
        "limit max(psi_floor, chi-square critical value for the sample sizes)"
    ),
    "cut_point_coverage": (
        "Share of customers at or above each frozen cut point vs the share at calibration"
    ),
}

CHECKS_DDL = """
create table if not exists drift_checks (
    as_of_date date not null,
    check_name varchar not null,
    passed boolean not null,
    severity varchar not null,
    summary varchar not null,
    metadata varchar not null,
    threshold_version integer
)
"""


@dataclass(frozen=True)
class CheckOutcome:
    check: str
    day: date
    passed: bool
    severity: str  # warn | error (what a failure means)
    summary: str
    metadata: dict = field(default_factory=dict)

    @property
    def blocking(self) -> bool:
        return not self.passed and self.severity == "error"


def _round(value: float, digits: int = 4) -> float:
    return round(float(value), digits)


def _shares_pp(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: round(100 * v / total, 2) for k, v in sorted(counts.items())}


def share_shift(
    name: str,
    day: date,
    today: dict[str, int],
    before: dict[str, int],
    max_pp: float,
    psi_floor: float,
    alpha: float,
    severity: str,
    what: str,
) -> CheckOutcome:
    """Tier shares of `today` against `before`: fails on PSI or on the largest pp change."""
    expected, actual = stats.aligned(before, today)
    value = stats.psi(expected, actual)
    limit = stats.psi_limit(sum(expected), sum(actual), len(expected), alpha, psi_floor)
    changes = stats.share_changes_pp(before, today)
    tier, worst = max(changes.items(), key=lambda kv: abs(kv[1]))
    passed = value <= limit and abs(worst) <= max_pp
    return CheckOutcome(
        check=name,
        day=day,
        passed=passed,
        severity=severity,
        summary=(
            f"PSI {value:.3f} (limit {limit:.3f}); largest change {tier} {worst:+.1f} pp "
            f"(limit {max_pp:g} pp) vs {what}"
        ),
        metadata={
            "psi": _round(value),
            "psi_limit": _round(limit),
            "change_pp": {k: round(v, 2) for k, v in changes.items()},
            "largest_change_pp": round(worst, 2),
            "limit_pp": max_pp,
            "shares_pct": _shares_pp(today),
            "compared_with": what,
            "compared_shares_pct": _shares_pp(before),
        },
    )


def _previous_label(day: date, versions: dict[date, int | None]) -> str:
    """`2025-03-01`, or `2025-03-01 (threshold set v1, today v2)` when the set changed."""
    before = day - timedelta(days=1)
    old, new = versions.get(before), versions.get(day)
    if old == new:
        return before.isoformat()
    return f"{before} (threshold set v{old}, today v{new}: expect moves after adopting)"


def _skipped(name: str, day: date, severity: str, why: str) -> CheckOutcome:
    return CheckOutcome(name, day, True, severity, f"not checked: {why}", {"skipped": why})


def _skew(day: date, today: dict[str, int], cfg: ChecksConfig) -> CheckOutcome:
    total = sum(today.values())
    shares = {k: v / total for k, v in today.items()}
    bounds = {t: (b.min_share, b.max_share) for t, b in cfg.tier_skew.bounds.items()}
    broken = stats.skew_violations(shares, bounds)
    return CheckOutcome(
        check="tier_skew",
        day=day,
        passed=not broken,
        severity=cfg.tier_skew.severity,
        summary="; ".join(f"{t} {why}" for t, why in broken.items()) or "all tiers within bounds",
        metadata={
            "violations": broken,
            "shares_pct": _shares_pp(today),
            "bounds_pct": {
                t: [None if x is None else 100 * x for x in b] for t, b in bounds.items()
            },
        },
    )


def _rfm(day: date, baselines: dict, today: dict[str, dict[int, int]], cfg) -> CheckOutcome:
    per_feature = {}
    fired = []
    for feature, base in baselines.items():
        counts = today.get(feature, {})
        bins = sorted(set(base.counts) | set(counts))
        expected = [base.counts.get(b, 0) for b in bins]
        actual = [counts.get(b, 0) for b in bins]
        n_today = sum(actual)
        if not n_today or not sum(expected):
            per_feature[feature] = {"skipped": "no customers"}
            continue
        value = stats.psi(expected, actual)
        limit = stats.psi_limit(base.population, n_today, len(bins), cfg.alpha, cfg.psi_floor)
        labels = base.labels()
        per_feature[feature] = {
            "psi": _round(value),
            "psi_limit": _round(limit),
            "customers": n_today,
            "baseline_customers_per_day": round(base.population, 1),
            "bins": len(bins),
            "share_pct_by_bin": {
                labels[b]: [
                    round(100 * e / sum(expected), 1),
                    round(100 * a / n_today, 1),
                ]
                for b, e, a in zip(bins, expected, actual, strict=True)
            },
        }
        if value > limit:
            fired.append(f"{feature} PSI {value:.3f} > {limit:.3f}")
    worst = {f: m["psi"] for f, m in per_feature.items() if "psi" in m}
    return CheckOutcome(
        check="rfm_shift",
        day=day,
        passed=not fired,
        severity=cfg.severity,
        summary="; ".join(fired)
        or "no shift: " + ", ".join(f"{f} PSI {v:.3f}" for f, v in worst.items()),
        metadata={"features": per_feature, "bins_note": "share_pct_by_bin: [baseline, today]"},
    )


def _coverage(
    day: date, tset: ThresholdSet, base: dict, today: dict[str, tuple[float, int]], cfg
) -> CheckOutcome:
    cuts = {}
    fired = []
    for name, (share_base, _) in base.items():
        if name not in today:
            continue
        share, n = today[name]
        deviation = 100 * (share - share_base)
        limit = stats.coverage_limit_pp(share_base, n, cfg.alpha, cfg.min_abs_change_pp)
        label = tset.values[name].label
        cuts[label] = {
            "cut_value": tset.values[name].value,
            "share_at_or_above_pct": round(100 * share, 2),
            "at_calibration_pct": round(100 * share_base, 2),
            "change_pp": round(deviation, 2),
            "limit_pp": round(limit, 2),
        }
        if abs(deviation) > limit:
            fired.append(f"{label}: {100 * share:.1f}% at or above (was {100 * share_base:.1f}%)")
    return CheckOutcome(
        check="cut_point_coverage",
        day=day,
        passed=not fired,
        severity=cfg.severity,
        summary="; ".join(fired)
        or f"{len(cuts)} cut point(s) cover the same share as at calibration",
        metadata={"cut_points": cuts, "threshold_version": tset.version},
    )


def evaluate(
    conn: duckdb.DuckDBPyConnection,
    compiled: CompiledPolicy,
    cfg: ChecksConfig,
    tset: ThresholdSet | None,
    start: date,
    end: date,
) -> list[CheckOutcome]:
    """Every check for every day in [start, end) that has tier snapshots."""
    tiers = tier_counts_by_day(conn, start, end)
    versions = threshold_versions_by_day(conn, start, end)
    features, feature_days, cuts, cut_days = {}, {}, {}, {}
    base_tiers: dict[str, int] = {}
    if tset is not None:
        rfm = cfg.rfm_shift
        features = feature_baselines(conn, compiled, tset, rfm.features, rfm.bins)
        for feature, fb in features.items():
            for day, counts in counts_by_day(conn, compiled, feature, fb.edges, start, end).items():
                feature_days.setdefault(day, {})[feature] = counts
        cuts = cut_baselines(conn, compiled, tset)
        cut_days = cut_shares_by_day(conn, compiled, tset, start, end)
        base_tiers, _ = tier_baseline(conn, tset)
    out: list[CheckOutcome] = []
    for day in days_in(start, end):
        today = tiers.get(day)
        if not today:
            continue
        prev_cfg = cfg.tier_share_change
        previous = tiers.get(day - timedelta(days=1))
        if previous:
            out.append(
                share_shift(
                    "tier_shares_vs_previous_run",
                    day,
                    today,
                    previous,
                    prev_cfg.max_abs_change_pp,
                    prev_cfg.psi_floor,
                    prev_cfg.alpha,
                    prev_cfg.severity,
                    _previous_label(day, versions),
                )
            )
        else:
            out.append(
                _skipped("tier_shares_vs_previous_run", day, prev_cfg.severity, "no previous day")
            )
        base_cfg = cfg.tier_shares_vs_baseline
        if base_tiers:
            out.append(
                share_shift(
                    "tier_shares_vs_baseline",
                    day,
                    today,
                    base_tiers,
                    base_cfg.max_abs_change_pp,
                    base_cfg.psi_floor,
                    base_cfg.alpha,
                    base_cfg.severity,
                    f"calibration of threshold set v{tset.version}",
                )
            )
        else:
            out.append(
                _skipped(
                    "tier_shares_vs_baseline",
                    day,
                    base_cfg.severity,
                    "no threshold set with tiers at calibration time",
                )
            )
        out.append(_skew(day, today, cfg))
        if features:
            out.append(_rfm(day, features, feature_days.get(day, {}), cfg.rfm_shift))
        else:
            out.append(
                _skipped(
                    "rfm_shift", day, cfg.rfm_shift.severity, "no threshold set to compare with"
                )
            )
        if cuts:
            out.append(_coverage(day, tset, cuts, cut_days.get(day, {}), cfg.cut_point_coverage))
        else:
            out.append(
                _skipped(
                    "cut_point_coverage",
                    day,
                    cfg.cut_point_coverage.severity,
                    "no frozen cut points",
                )
            )
    return out


def store(
    conn: duckdb.DuckDBPyConnection,
    outcomes: list[CheckOutcome],
    start: date,
    end: date,
    threshold_version: int | None,
) -> None:
    """Replace the window's check results (re-running a day replaces its results)."""
    conn.execute(CHECKS_DDL)
    conn.execute("begin transaction")
    conn.execute("delete from drift_checks where as_of_date >= ? and as_of_date < ?", [start, end])
    if outcomes:
        conn.executemany(
            "insert into drift_checks values (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    o.day,
                    o.check,
                    o.passed,
                    o.severity,
                    o.summary,
                    json.dumps(o.metadata, ensure_ascii=False),
                    threshold_version,
                )
                for o in outcomes
            ],
        )
    conn.execute("commit")


def stored_results(conn: duckdb.DuckDBPyConnection, start: date, end: date) -> list[CheckOutcome]:
    """Check results of [start, end) as stored by the last run of each day."""
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_name = 'drift_checks'"
    ).fetchone()[0]
    if not exists:
        return []
    rows = conn.execute(
        "select as_of_date, check_name, passed, severity, summary, metadata from drift_checks "
        "where as_of_date >= ? and as_of_date < ? order by as_of_date, check_name",
        [start, end],
    ).fetchall()
    return [CheckOutcome(r[1], r[0], bool(r[2]), r[3], r[4], json.loads(r[5])) for r in rows]


def blocking_failures(conn: duckdb.DuckDBPyConnection, day: date) -> list[CheckOutcome]:
    """Checks of `day` that failed with severity error: that day's audiences must not go out."""
    return [o for o in stored_results(conn, day, day + timedelta(days=1)) if o.blocking]
