"""Audience files for one day (per tier and per action), each folder written fresh and swapped in whole."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb

from tierops.exports.actions import ACTION_COLUMNS, action_query
from tierops.exports.files import WrittenFile, describe, write_csv_bom, write_manifest
from tierops.exports.pii import masked_email, masked_phone
from tierops.strategies.config import PlannedAction, Strategy
from tierops.tiering.policy import TierPolicy

# column → header a person reads in Excel (Chinese first, the code in brackets)
TIER_COLUMNS: list[tuple[str, str]] = [
    ("customer_id", "客户ID(customer_id)"),
    ("tier_name_zh", "分层(tier)"),
    ("tier_name_en", "Tier"),
    ("tier_code", "分层代码(tier_code)"),
    ("reason", "原因(reason)"),
    ("recency_days", "距上次购买天数(recency_days)"),
    ("frequency_365d", "近365天订单数(orders_365d)"),
    ("monetary_365d", "近365天消费额(monetary_365d)"),
    ("phone", "手机(phone)"),
    ("email", "邮箱(email)"),
    ("member_id", "会员号(member_id)"),
    ("as_of_date", "日期(as_of_date)"),
]


def tier_query(day: date, tier_code: str) -> tuple[str, list]:
    sql = f"""
        select
            a.customer_id,
            a.tier_name_zh,
            a.tier_name_en,
            a.tier_code,
            a.rule_id || ': ' || coalesce(a.evidence, '') as reason,
            a.recency_days,
            a.frequency_365d,
            round(a.monetary_365d, 2) as monetary_365d,
            {masked_phone("c.phone")} as phone,
            {masked_email("c.email")} as email,
            c.member_id,
            a.as_of_date
        from tier_assignments as a
        left join customer_contacts as c on c.customer_id = a.customer_id
        where a.as_of_date = ? and a.is_primary and a.tier_code = ?
        order by a.customer_id
    """
    return sql, [day, tier_code]


@contextlib.contextmanager
def staged_folder(day_dir: Path, name: str) -> Iterator[Path]:
    """Yield a fresh hidden folder; on success it replaces `day_dir/name` whole."""
    day_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=day_dir))
    try:
        yield staging
        final = day_dir / name
        old = day_dir / f".{name}-old"
        shutil.rmtree(old, ignore_errors=True)
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _relative(files: list[WrittenFile], folder: str) -> list[WrittenFile]:
    return [
        WrittenFile(f"{folder}/{f.path}", f.rows, f.bytes, f.sha256, f.kind, f.key) for f in files
    ]


def write_tier_audiences(
    conn: duckdb.DuckDBPyConnection, policy: TierPolicy, day: date, day_dir: Path
) -> list[WrittenFile]:
    """Write audiences/tier_<code>.csv for every tier of the policy, swapped in whole."""
    written: list[WrittenFile] = []
    with staged_folder(day_dir, "audiences") as staging:
        for tier in policy.tiers:
            sql, params = tier_query(day, tier.code)
            reader = conn.sql(sql, params=params).to_arrow_reader(100_000)
            path = staging / f"tier_{tier.code}.csv"
            rows = write_csv_bom(path, reader, [h for _, h in TIER_COLUMNS])
            written.append(describe(path, staging, rows, kind="tier_audience", key=tier.code))
    return _relative(written, "audiences")


def write_action_audiences(
    conn: duckdb.DuckDBPyConnection, actions: list[PlannedAction], day: date, day_dir: Path
) -> list[WrittenFile]:
    """actions/<action_id>.csv (contact these) and <action_id>.holdout.csv (do not contact)."""
    written: list[WrittenFile] = []
    with staged_folder(day_dir, "actions") as staging:
        for action in actions:
            for group, suffix in (("treatment", ""), ("holdout", ".holdout")):
                sql, params = action_query(action, day, group)
                reader = conn.sql(sql, params=params).to_arrow_reader(100_000)
                path = staging / f"{action.id}{suffix}.csv"
                rows = write_csv_bom(path, reader, [h for _, h in ACTION_COLUMNS])
                written.append(describe(path, staging, rows, kind=f"action_{group}", key=action.id))
    return _relative(written, "actions")


def write_day_manifest(
    day_dir: Path,
    day: date,
    policy: TierPolicy,
    strategy: Strategy,
    files: list[WrittenFile],
) -> Path:
    counts = {f.key: f.rows for f in files if f.kind == "tier_audience"}
    actions: dict[str, dict[str, int]] = {}
    for f in files:
        if f.kind.startswith("action_"):
            actions.setdefault(f.key, {})[f.kind.removeprefix("action_")] = f.rows
    header = {
        "as_of_date": day.isoformat(),
        "policy_version": policy.version,
        "strategy_version": strategy.version,
        "tier_counts": counts,
        "action_counts": actions,
        "customers": sum(counts.values()),
        "pii": "masked",
    }
    path = day_dir / "manifest.json"
    write_manifest(path, header, files)
    return path
