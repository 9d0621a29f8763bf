"""Collect the aggregates a day's report page shows: all SQL on the warehouse, small results."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb

from tierops.drift.checks import stored_results
from tierops.drift.migration import Side, migration
from tierops.reporting.config import ReportingConfig
from tierops.reporting.experiments import day_experiments
from tierops.reporting.kpis import day_kpis
from tierops.reporting.page import CheckResult, ReportData, TierInfo
from tierops.tiering.assets import tier_counts
from tierops.tiering.policy import TierPolicy
from tierops.warehouse import table_exists


def tier_infos(conn: duckdb.DuckDBPyConnection, policy: TierPolicy, day: date) -> list[TierInfo]:
    """The policy's tiers in priority order, plus any tier of that day the policy no longer has."""
    tiers = [TierInfo(t.code, t.name_zh, t.name_en) for t in policy.tiers]
    known = {t.code for t in tiers}
    rows = conn.execute(
        "select distinct tier_code, tier_name_zh, tier_name_en from tier_assignments "
        "where as_of_date = ? order by tier_code",
        [day],
    ).fetchall()
    tiers += [TierInfo(c, zh or c, en or c) for c, zh, en in rows if c not in known]
    return tiers


def share_trend(
    conn: duckdb.DuckDBPyConnection, day: date, days: int
) -> dict[str, list[tuple[date, float]]]:
    rows = conn.execute(
        "select tier_code, as_of_date, value from tier_kpis where kpi = 'customers' "
        "and as_of_date > ? and as_of_date <= ? order by tier_code, as_of_date",
        [day - timedelta(days=days), day],
    ).fetchall()
    out: dict[str, list[tuple[date, float]]] = {}
    for code, d, value in rows:
        out.setdefault(code, []).append((d, float(value or 0.0)))
    return out


def migration_matrix(
    conn: duckdb.DuckDBPyConnection, day: date, lookback_days: int
) -> tuple[date | None, list[tuple[str, str, int]]]:
    """Primary tier on the latest snapshot at least `lookback_days` before `day` vs on `day`
    (drift.migration; `(none)` = entered or left the tiered population)."""
    start = conn.execute(
        "select max(as_of_date) from tier_assignments where as_of_date <= ?",
        [day - timedelta(days=lookback_days)],
    ).fetchone()[0]
    if start is None:
        return None, []
    matrix = migration(conn, Side(start), Side(day))
    return start, [(c.from_tier, c.to_tier, c.customers) for c in matrix.cells]


def day_files(day_dir: Path) -> tuple[str | None, list[dict]]:
    """(policy version, files) from the day's manifest.json; nothing when it is missing."""
    manifest = day_dir / "manifest.json"
    if not manifest.is_file():
        return None, []
    body = json.loads(manifest.read_text(encoding="utf-8"))
    return body.get("policy_version"), list(body.get("files", []))


def gather_report(
    conn: duckdb.DuckDBPyConnection,
    day: date,
    day_dir: Path,
    policy: TierPolicy,
    config: ReportingConfig,
    checks: list[CheckResult] | None,
    replaced_policy: str | None = None,
    unavailable_features: tuple[str, ...] = (),
) -> ReportData:
    version, files = day_files(day_dir)
    migration_from, migration = migration_matrix(conn, day, min(config.outcome_windows_days))
    has_kpis = table_exists(conn, "tier_kpis")
    drift = None
    if table_exists(conn, "drift_checks"):
        drift = [
            CheckResult("tier_drift", o.check, o.passed, o.severity.upper(), o.summary)
            for o in stored_results(conn, day, day + timedelta(days=1))
        ]
    return ReportData(
        day=day,
        policy_version=version or policy.version,
        tiers=tier_infos(conn, policy, day),
        counts=tier_counts(conn, day),
        trend=share_trend(conn, day, config.trend_days) if has_kpis else {},
        migration_from=migration_from,
        migration=migration,
        checks=checks,
        drift=drift,
        kpis=day_kpis(conn, day) if has_kpis else [],
        reactivation_tiers=list(config.reactivation_tiers),
        renewal_cycle_days=config.renewal_cycle_days,
        experiments=day_experiments(conn, day),
        files=files,
        replaced_policy=replaced_policy,
        unavailable_features=list(unavailable_features),
    )
