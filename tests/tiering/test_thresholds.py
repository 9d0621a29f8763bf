"""Frozen threshold sets: calibrated once, reused by every later run until recalibrated."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import pytest
from dagster import AssetSelection

from tests.conftest import SMALL_END, SMALL_START, _activate, make_home
from tests.helpers import failure_messages, run_range, warehouse_rows
from tests.test_cli import _cli

FIRST_END = date(2025, 5, 31)
TIERS_ONLY = AssetSelection.assets("tier_assignments")


def _live_p90(home, day: date) -> float:
    """The 90th percentile of the day's own data, computed independently of tierops' code."""
    return warehouse_rows(
        home,
        "select quantile_cont(monetary_365d, 0.9) from customer_features "
        "where as_of_date = ? and orders_365d > 0 and (orders_total > 0 or is_member = 1)",
        [day],
    )[0][0]


@pytest.fixture(scope="module")
def calibrated_home(tmp_path_factory, small_landing):
    """Five months processed (the first run calibrates v1 on its last day), then June as new data."""
    landing, truth = small_landing
    home = make_home(tmp_path_factory.mktemp("thresholds"), landing_from=landing)
    shutil.copytree(truth, home.truth)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        first = run_range(SMALL_START, FIRST_END)
        assert first.success, failure_messages(first)
        sets_after_first = warehouse_rows(home, "select version, status from tier_threshold_sets")
        second = run_range(FIRST_END + timedelta(days=1), SMALL_END)
        assert second.success, failure_messages(second)
        yield home, sets_after_first


def test_first_run_calibrates_and_adopts_v1_on_its_last_day(calibrated_home):
    home, sets_after_first = calibrated_home
    assert sets_after_first == [(1, "active")]
    row = warehouse_rows(
        home,
        "select window_start, window_end, policy_version, quantile_population, rows_used, source "
        "from tier_threshold_sets where version = 1",
    )[0]
    assert row[:4] == (FIRST_END, FIRST_END, "retail-v1", "orders_365d > 0")
    population = warehouse_rows(
        home,
        "select count(*) from customer_features where as_of_date = ? and orders_365d > 0",
        [FIRST_END],
    )[0][0]
    assert row[4] == population
    assert "automatic" in row[5]
    (value,) = warehouse_rows(
        home,
        "select value from tier_threshold_values where version = 1 "
        "and name = 'q0900_monetary_365d'",
    )[0]
    assert value == pytest.approx(_live_p90(home, FIRST_END))


def test_new_data_does_not_move_frozen_thresholds(calibrated_home):
    home, _ = calibrated_home
    frozen = warehouse_rows(
        home,
        "select value from tier_threshold_values where version = 1 "
        "and name = 'q0900_monetary_365d'",
    )[0][0]
    # the June data really has a different 90th percentile: live cut points would move
    assert abs(_live_p90(home, SMALL_END) - frozen) > 1.0
    used = warehouse_rows(
        home,
        "select distinct threshold_version, value, calibrated_value from tier_thresholds "
        "where name = 'q0900_monetary_365d'",
    )
    assert used == [(1, frozen, frozen)]
    versions = warehouse_rows(home, "select distinct threshold_version from tier_assignments")
    assert versions == [(1,)]
    # every high-value customer of the last day cleared the frozen cut, none cleared it elsewhere
    wrong = warehouse_rows(
        home,
        "select count(*) from tier_assignments where as_of_date = ? and "
        "((tier_code = 'high_value') <> (monetary_365d >= ?)) and rule_id in "
        "('high_value', 'fallback')",
        [SMALL_END, frozen],
    )[0][0]
    assert wrong == 0
    evidence = warehouse_rows(
        home,
        "select evidence from tier_assignments where as_of_date = ? and tier_code = 'high_value' "
        "limit 1",
        [SMALL_END],
    )[0][0]
    assert f"p90(monetary_365d)={round(frozen, 2)}" in evidence


def test_share_at_calibration_matches_the_declared_quantile(calibrated_home):
    home, _ = calibrated_home
    (share,) = warehouse_rows(
        home,
        "select share_at_or_above from tier_thresholds where as_of_date = ? "
        "and name = 'q0900_monetary_365d'",
        [FIRST_END],
    )[0]
    independent = warehouse_rows(
        home,
        "select avg(case when monetary_365d >= (select value from tier_threshold_values "
        "where version = 1 and name = 'q0900_monetary_365d') then 1.0 else 0.0 end) "
        "from customer_features "
        "where as_of_date = ? and orders_365d > 0",
        [FIRST_END],
    )[0][0]
    assert share == pytest.approx(independent)
    assert abs(share - 0.10) <= 0.01


def test_calibrate_command_stores_candidates_until_adopted(calibrated_home, tmp_path):
    home, _ = calibrated_home
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()

    proc = _cli(["calibrate", "--end", SMALL_END.isoformat()], home, dagster_home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "v2 is stored as a candidate; v1 stays active" in proc.stderr
    statuses = dict(warehouse_rows(home, "select version, status from tier_threshold_sets"))
    assert statuses == {1: "active", 2: "candidate"}
    v2 = warehouse_rows(
        home,
        "select value from tier_threshold_values where version = 2 "
        "and name = 'q0900_monetary_365d'",
    )[0][0]
    assert v2 == pytest.approx(_live_p90(home, SMALL_END))

    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        rerun = run_range(SMALL_END, SMALL_END, selection=TIERS_ONLY)
        assert rerun.success, failure_messages(rerun)
        assert warehouse_rows(home, "select distinct threshold_version from tier_assignments") == [
            (1,)
        ]

        proc = _cli(
            ["calibrate", "--start", "2025-06-24", "--end", SMALL_END.isoformat(), "--adopt"],
            home,
            dagster_home,
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "v3 is now the ACTIVE set" in proc.stderr
        statuses = dict(warehouse_rows(home, "select version, status from tier_threshold_sets"))
        assert statuses == {1: "retired", 2: "candidate", 3: "active"}
        rows_used = warehouse_rows(
            home, "select rows_used from tier_threshold_sets where version = 3"
        )[0][0]
        pooled = warehouse_rows(
            home,
            "select count(*) from customer_features where as_of_date between ? and ? "
            "and orders_365d > 0",
            [date(2025, 6, 24), SMALL_END],
        )[0][0]
        assert rows_used == pooled

        rerun = run_range(SMALL_END, SMALL_END, selection=TIERS_ONLY)
        assert rerun.success, failure_messages(rerun)
    by_day = dict(
        warehouse_rows(
            home, "select as_of_date, max(threshold_version) from tier_assignments group by 1"
        )
    )
    assert by_day[SMALL_END] == 3
    assert by_day[SMALL_END - timedelta(days=1)] == 1  # history keeps the set it was made with
