"""Per-tier audience files for one day, written into a fresh folder and swapped in whole."""

from __future__ import annotations

import shutil
import tempfile
from datetime import date
from pathlib import Path

import duckdb

from tierops.exports.files import WrittenFile, describe, write_csv_bom, write_manifest
from tierops.exports.pii import masked_email, masked_phone
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


def write_tier_audiences(
    conn: duckdb.DuckDBPyConnection, policy: TierPolicy, day: date, day_dir: Path
) -> list[WrittenFile]:
    """Write audiences/<tier>.csv for every tier of the policy plus manifest.json, atomically."""
    day_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".audiences-", dir=day_dir))
    try:
        written: list[WrittenFile] = []
        for tier in policy.tiers:
            sql, params = tier_query(day, tier.code)
            reader = conn.sql(sql, params=params).to_arrow_reader(100_000)
            path = staging / f"tier_{tier.code}.csv"
            rows = write_csv_bom(path, reader, [h for _, h in TIER_COLUMNS])
            written.append(describe(path, staging, rows, kind="tier_audience", key=tier.code))
        final = day_dir / "audiences"
        old = day_dir / ".audiences-old"
        if final.exists():
            final.rename(old)
        staging.rename(final)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    files = [
        WrittenFile(f"audiences/{f.path}", f.rows, f.bytes, f.sha256, f.kind, f.key)
        for f in written
    ]
    return files


def write_day_manifest(
    day_dir: Path, day: date, policy: TierPolicy, files: list[WrittenFile]
) -> Path:
    counts = {f.key: f.rows for f in files if f.kind == "tier_audience"}
    header = {
        "as_of_date": day.isoformat(),
        "policy_version": policy.version,
        "tier_counts": counts,
        "customers": sum(counts.values()),
        "pii": "masked",
    }
    path = day_dir / "manifest.json"
    write_manifest(path, header, files)
    return path
