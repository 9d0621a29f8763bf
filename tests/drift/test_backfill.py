"""Backfills: a range in one run writes the same snapshots as day-by-day runs, and re-running a
corrected week replaces exactly those days."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from dagster import AssetSelection

from tests.conftest import PipelineHome, _activate, make_home
from tests.helpers import definitions, failure_messages, run_range, warehouse_rows
from tierops.generator import GeneratorConfig, generate

HISTORY_START, HISTORY_END = date(2024, 11, 1), date(2025, 1, 31)
FIRST, LAST = date(2025, 2, 1), date(2025, 3, 2)  # 30 days
WEEK = (date(2025, 2, 10), date(2025, 2, 16))
# everything the snapshots and drift checks depend on (plus the identity audit models, which
# the dbt step reads its metadata from), but no exports
THROUGH_DRIFT = AssetSelection.assets("tier_drift", "identity_audit", "identity_merges").upstream()
SNAPSHOT = (
    "select * exclude (evidence), evidence from tier_assignments "
    "where as_of_date between ? and ? order by as_of_date, customer_id, priority"
)
CHECKS = (
    "select as_of_date, check_name, passed, summary, metadata from drift_checks "
    "where as_of_date between ? and ? order by as_of_date, check_name"
)


def _copy(base: PipelineHome, root) -> PipelineHome:
    shutil.copytree(base.home.parent, root, dirs_exist_ok=True)
    return PipelineHome(home=root / "data", config_dir=root / "config")


@pytest.fixture(scope="module")
def base_home(tmp_path_factory) -> PipelineHome:
    """250 customers, history up to January processed (threshold set v1 frozen on 31 January)."""
    home = make_home(tmp_path_factory.mktemp("backfill_base"))
    config = GeneratorConfig(
        customers=250, start=HISTORY_START, end=date(2025, 4, 30), seed=3, bad_row_rate=0.01
    )
    generate(config, home.landing, home.truth)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        result = run_range(HISTORY_START, HISTORY_END, selection=THROUGH_DRIFT)
        assert result.success, failure_messages(result)
    return home


@pytest.fixture(scope="module")
def backfilled_range(base_home, tmp_path_factory) -> PipelineHome:
    home = _copy(base_home, tmp_path_factory.mktemp("backfill_range"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        result = run_range(FIRST, LAST, selection=THROUGH_DRIFT)
        assert result.success, failure_messages(result)
    # one run, one step per asset: dbt, the tiering SQL and the drift checks ran once for 30 days
    steps = [e.step_key for e in result.all_events if e.event_type_value == "STEP_START"]
    assert steps.count("warehouse_models") == steps.count("tier_drift") == 1
    drift_days = {
        e.partition
        for e in result.get_asset_materialization_events()
        if e.asset_key.path == ["tier_drift"]
    }
    assert len(drift_days) == 30
    return home


def test_a_30_day_backfill_equals_30_single_day_runs(base_home, backfilled_range, tmp_path):
    daily = _copy(base_home, tmp_path)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(daily, monkeypatch)
        defs = definitions()
        day = FIRST
        while day <= LAST:
            result = run_range(day, day, selection=THROUGH_DRIFT, defs=defs)
            assert result.success, (day, failure_messages(result))
            day += timedelta(days=1)
    ranged = warehouse_rows(backfilled_range, SNAPSHOT, [FIRST, LAST])
    single = warehouse_rows(daily, SNAPSHOT, [FIRST, LAST])
    assert len(ranged) > 30 * 100
    assert {r[0] for r in ranged} == {FIRST + timedelta(days=i) for i in range(30)}
    assert ranged == single
    assert warehouse_rows(backfilled_range, CHECKS, [FIRST, LAST]) == warehouse_rows(
        daily, CHECKS, [FIRST, LAST]
    )


def test_rerunning_a_corrected_week_replaces_exactly_those_days(backfilled_range, tmp_path):
    home = _copy(backfilled_range, tmp_path)
    before = warehouse_rows(home, SNAPSHOT, [FIRST, LAST])
    # the POS system re-delivers the week without its last receipts of each day
    for i in range(7):
        day = WEEK[0] + timedelta(days=i)
        path = home.landing / "pos" / f"POS_{day:%Y%m%d}.csv"
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(b"".join(lines[: max(2, len(lines) // 3)]))
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        result = run_range(*WEEK, selection=THROUGH_DRIFT)
        assert result.success, failure_messages(result)
    after = warehouse_rows(home, SNAPSHOT, [FIRST, LAST])
    in_week = lambda rows: [r for r in rows if WEEK[0] <= r[0] <= WEEK[1]]  # noqa: E731
    outside = lambda rows: [r for r in rows if not WEEK[0] <= r[0] <= WEEK[1]]  # noqa: E731
    assert outside(after) == outside(before)
    assert in_week(after) != in_week(before)
    duplicates = warehouse_rows(
        home,
        "select count(*) from (select as_of_date, customer_id from tier_assignments "
        "where is_primary group by all having count(*) > 1)",
    )[0][0]
    assert duplicates == 0
    spend = "select sum(monetary_365d) from customer_features where as_of_date = ?"
    assert (
        warehouse_rows(home, spend, [WEEK[1]])[0][0]
        < warehouse_rows(backfilled_range, spend, [WEEK[1]])[0][0]
    )
    per_day = dict(
        warehouse_rows(
            home,
            "select as_of_date, count(*) from drift_checks where as_of_date between ? and ? "
            "group by 1",
            list(WEEK),
        )
    )
    assert set(per_day.values()) == {5}
