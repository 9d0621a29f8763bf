"""The whole nightly job on generated data: feeds → dbt → tiers → audience files."""

from __future__ import annotations

import csv
import io
import json
import re

import duckdb

from tests.conftest import SMALL_END, SMALL_START
from tests.helpers import failure_messages, run_range

TIERS = {"high_value", "growth", "churn_risk", "new", "dormant"}
FULL_PHONE = re.compile(r"(?<!\d)1\d{10}(?!\d)")
FULL_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9.-]+\.[a-z]{2,}")


def _audience_bytes(home, day) -> dict[str, bytes]:
    folder = home.outputs / day.isoformat() / "audiences"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_backfill_then_single_day_reruns_are_byte_identical(pipeline_home):
    result = run_range(SMALL_START, SMALL_END)
    assert result.success, failure_messages(result)

    day_dir = pipeline_home.outputs / SMALL_END.isoformat()
    manifest = json.loads((day_dir / "manifest.json").read_text(encoding="utf-8"))
    assert set(manifest["tier_counts"]) == TIERS
    assert manifest["policy_version"] == "retail-v1"
    assert all(manifest["tier_counts"][t] > 0 for t in TIERS), manifest["tier_counts"]

    con = duckdb.connect(str(pipeline_home.warehouse), read_only=True)
    in_warehouse = dict(
        con.execute(
            "select tier_code, count(*) from tier_assignments where as_of_date = ? and is_primary group by 1",
            [SMALL_END],
        ).fetchall()
    )
    days = con.execute("select count(distinct as_of_date) from tier_assignments").fetchone()[0]
    customers = con.execute(
        "select count(*) from customer_features where as_of_date = ?", [SMALL_END]
    ).fetchone()[0]
    con.close()
    assert in_warehouse == manifest["tier_counts"]
    assert sum(in_warehouse.values()) == customers == manifest["customers"]
    assert days == (SMALL_END - SMALL_START).days + 1  # one snapshot per day of the backfill

    for entry in manifest["files"]:
        if not entry["path"].endswith(".csv"):
            continue  # XLSX and Parquet: tests/exports
        raw = (day_dir / entry["path"]).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), entry["path"]
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert len(rows) - 1 == entry["rows"]
        if entry["kind"] == "tier_audience":
            assert entry["rows"] == manifest["tier_counts"][entry["key"]]
        for row in rows[1:]:
            if entry["kind"] == "tier_audience":
                assert row[3] == entry["key"]  # tier_code column
            for cell in row:
                assert not FULL_PHONE.search(cell), cell
                assert not FULL_EMAIL.search(cell), cell

    after_backfill = _audience_bytes(pipeline_home, SMALL_END)
    first = run_range(SMALL_END, SMALL_END)
    assert first.success, failure_messages(first)
    once = _audience_bytes(pipeline_home, SMALL_END)
    second = run_range(SMALL_END, SMALL_END)
    assert second.success, failure_messages(second)
    assert _audience_bytes(pipeline_home, SMALL_END) == once == after_backfill


def test_tier_share_check_compares_with_previous_day(backfilled):
    _, result = backfilled
    checks = {
        e.check_name: e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "tier_assignments"
    }
    share = checks["tier_shares_vs_previous_day"]
    assert share.metadata["previous_day_available"].value is True
    changes = share.metadata["change_pp"].value
    assert set(changes) == TIERS
    assert share.passed == (max(abs(v) for v in changes.values()) <= 5.0)
