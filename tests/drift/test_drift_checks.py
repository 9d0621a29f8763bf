"""Drift checks on generated data with and without a promotion, and the recalibration workflow.

Both data sets: 1,500 customers with a year of history. February is processed and a threshold
set is calibrated on its last two weeks; March is processed as one run. In the `promotion` data
set every purchase rate doubles from 1 to 14 March; the checks must fire on the days after it,
and must stay quiet on the same days without the promotion.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import duckdb
import pytest
import yaml
from dagster import AssetSelection

from tests.conftest import _activate, make_home
from tests.helpers import definitions, failure_messages, run_range, warehouse_rows
from tierops.cli import main
from tierops.drift.checks import blocking_failures, stored_results
from tierops.drift.recalibration import impact_rows
from tierops.generator import GeneratorConfig, Promotion, generate
from tierops.ingestion.assets import feed_asset_key
from tierops.ingestion.mapping import load_mappings

HISTORY_START = date(2024, 1, 1)
FEB, FEB_END = date(2025, 2, 1), date(2025, 2, 28)
MARCH, MARCH_END = date(2025, 3, 1), date(2025, 3, 24)
PROMOTION = Promotion("double", MARCH, 14, 2.0)
AFTER = [PROMOTION.end + timedelta(days=i) for i in range(1, (MARCH_END - PROMOTION.end).days + 1)]
DRIFT_CHECKS = {"rfm_shift", "tier_shares_vs_baseline", "cut_point_coverage", "tier_skew"}


def _tiers(home, day) -> dict[str, str]:
    return dict(
        warehouse_rows(
            home,
            "select customer_id, tier_code from tier_assignments where as_of_date = ? "
            "and is_primary",
            [day],
        )
    )


@pytest.fixture(scope="module", params=["flat", "promotion"])
def drift_home(request, tmp_path_factory):
    kind = request.param
    root = tmp_path_factory.mktemp(f"drift_{kind}")
    home = make_home(root)
    config = GeneratorConfig(
        customers=1500,
        start=HISTORY_START,
        end=date(2025, 7, 31),  # "new" customers arrive in the last two months: after March
        seed=5,
        bad_row_rate=0.0,
        promotions=(PROMOTION,) if kind == "promotion" else (),
    )
    generate(config, home.landing, home.truth)
    state: dict = {"kind": kind}
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        defs = definitions()
        feeds = AssetSelection.assets(*(feed_asset_key(m) for m in load_mappings(home.config_dir)))
        history = run_range(HISTORY_START, FEB - timedelta(days=1), selection=feeds, defs=defs)
        assert history.success, failure_messages(history)
        february = run_range(FEB, FEB_END, defs=defs)
        assert february.success, failure_messages(february)

        # recalibrate on the last two weeks of February: a candidate with an impact report
        before_adopt = _tiers(home, FEB_END)
        if kind == "promotion":
            assert main(["calibrate", "--start", "2025-02-15", "--end", FEB_END.isoformat()]) == 0
        else:
            job = defs.resolve_job_def("tierops_calibrate")
            run_config = {
                "ops": {
                    "calibrate_candidate": {
                        "config": {"start": "2025-02-15", "end": FEB_END.isoformat()}
                    }
                }
            }
            calibration = job.execute_in_process(run_config=run_config, resources=defs.resources)
            assert calibration.success
            state["job_metadata"] = next(
                e.event_specific_data.metadata
                for e in calibration.all_events
                if e.event_type_value == "STEP_OUTPUT"
            )
        state["statuses_before_adopt"] = dict(
            warehouse_rows(home, "select version, status from tier_threshold_sets")
        )
        assert main(["thresholds", "adopt", "2"]) == 0
        readopted = run_range(FEB_END, FEB_END, defs=defs)
        assert readopted.success, failure_messages(readopted)
        state["before_adopt"] = before_adopt
        state["after_adopt"] = _tiers(home, FEB_END)

        march = run_range(MARCH, MARCH_END, defs=defs)
        assert march.success, failure_messages(march)
        state["march"] = march

        # errors block the export: make R/F/M shifts blocking and re-run the last day
        checks = yaml.safe_load((home.config_dir / "checks.yaml").read_text(encoding="utf-8"))
        checks["rfm_shift"]["severity"] = "error"
        (home.config_dir / "checks.yaml").write_text(yaml.safe_dump(checks), encoding="utf-8")
        shutil.rmtree(home.outputs / MARCH_END.isoformat(), ignore_errors=True)
        state["blocked_run"] = run_range(MARCH_END, MARCH_END, defs=defs)
        yield home, state


def test_checks_fire_after_the_promotion_and_stay_quiet_without_it(drift_home):
    home, state = drift_home
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        results = stored_results(con, MARCH, MARCH_END + timedelta(days=1))
    days = {r.day for r in results}
    assert days == {MARCH + timedelta(days=i) for i in range((MARCH_END - MARCH).days + 1)}
    failed = {(r.day, r.check) for r in results if not r.passed}
    if state["kind"] == "promotion":
        for day in AFTER:
            fired = {c for d, c in failed if d == day} & DRIFT_CHECKS
            assert fired, f"no drift check fired on {day}"
        rfm = next(r for r in results if r.day == AFTER[0] and r.check == "rfm_shift")
        shifted = {f: m for f, m in rfm.metadata["features"].items() if m["psi"] > m["psi_limit"]}
        assert set(shifted) & {"days_since_last_order", "orders_30d"}
        # the promotion pulled purchases into the last 30 days: more customers with 2+ orders
        bins = shifted.get("orders_30d", rfm.metadata["features"]["orders_30d"])
        top = list(bins["share_pct_by_bin"].values())[-1]
        assert top[1] > top[0]
    else:
        assert not failed, sorted(failed)


def test_check_results_are_readable_in_dagster(drift_home):
    _, state = drift_home
    evaluations = {
        e.check_name: e
        for e in state["march"].get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "tier_drift"
    }
    assert set(evaluations) == {
        "tier_shares_vs_previous_run",
        "tier_shares_vs_baseline",
        "tier_skew",
        "rfm_shift",
        "cut_point_coverage",
    }
    rfm = evaluations["rfm_shift"]
    assert rfm.metadata["as_of_date"].value == MARCH_END.isoformat()
    features = rfm.metadata["details"].value["features"]
    assert set(features) == {"days_since_last_order", "orders_30d", "monetary_365d"}
    for values in features.values():
        assert values["psi_limit"] >= 0.05
        assert rfm.passed == all(v["psi"] <= v["psi_limit"] for v in features.values())
    coverage = evaluations["cut_point_coverage"].metadata["details"].value["cut_points"]
    assert "p90(monetary_365d)" in coverage  # and the sub-tiers' cut points
    assert abs(coverage["p90(monetary_365d)"]["at_calibration_pct"] - 10.0) < 1.0
    for cut in coverage.values():
        assert cut["limit_pp"] >= 2.0
        change = cut["share_at_or_above_pct"] - cut["at_calibration_pct"]
        assert change == pytest.approx(cut["change_pp"], abs=0.02)
    if state["kind"] == "promotion":
        assert "failing_days_in_run" in rfm.metadata
        assert AFTER[0].isoformat() in rfm.metadata["failing_days_in_run"].value


def test_error_severity_blocks_that_days_export(drift_home):
    home, state = drift_home
    result = state["blocked_run"]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        blocking = blocking_failures(con, MARCH_END)
    manifest = home.outputs / MARCH_END.isoformat() / "manifest.json"
    if state["kind"] == "promotion":
        assert not result.success
        assert [o.check for o in blocking] == ["rfm_shift"]
        message = " ".join(failure_messages(result))
        assert f"audiences for {MARCH_END} were NOT exported" in message
        assert "rfm_shift" in message
        assert not manifest.exists()
    else:
        assert result.success, failure_messages(result)
        assert blocking == []
        assert manifest.exists()


def test_adopting_changes_assignments_exactly_as_the_impact_report_said(drift_home):
    home, state = drift_home
    assert state["statuses_before_adopt"] == {1: "active", 2: "candidate"}
    assert warehouse_rows(home, "select version, status from tier_threshold_sets order by 1") == [
        (1, "retired"),
        (2, "active"),
    ]
    report = json.loads((home.outputs / "calibration" / "v2" / "impact.json").read_text())
    assert report["impact_date"] == FEB_END.isoformat()
    assert report["active_version"] == 1 and report["candidate_version"] == 2
    before, after = state["before_adopt"], state["after_adopt"]
    moved = {c for c in before if before[c] != after.get(c)}
    assert report["customers_moving"] == len(moved) > 0
    per_customer = warehouse_rows(
        home,
        "select customer_id, from_tier, to_tier from threshold_impact where threshold_version = 2",
    )
    assert {c: f for c, f, _ in per_customer} == before
    assert {c: t for c, _, t in per_customer} == after
    cells = {(c["from_tier"], c["to_tier"]): c["customers"] for c in report["migration"]}
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        assert cells == {(f, t): n for f, t, n in impact_rows(con, 2)}
    csv_lines = (home.outputs / "calibration" / "v2" / "migration.csv").read_text().splitlines()
    assert len(csv_lines) == len(cells) + 1
    assert warehouse_rows(
        home,
        "select distinct threshold_version from tier_assignments where as_of_date = ?",
        [FEB_END],
    ) == [(2,)]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        rerun = stored_results(con, FEB_END, FEB_END + timedelta(days=1))
    previous = next(r for r in rerun if r.check == "tier_shares_vs_previous_run")
    assert "threshold set v1, today v2" in previous.summary
    if state["kind"] == "flat":  # calibrated by the Dagster job: its metadata tells the same
        metadata = state["job_metadata"]
        assert metadata["candidate_version"].value == 2
        assert metadata["customers_moving"].value == len(moved)
        assert "high_value" in metadata["migration"].value


def test_calibration_can_leave_out_a_promotion(drift_home, capsys):
    home, _ = drift_home
    window = ["--start", "2025-02-15", "--end", MARCH_END.isoformat()]
    assert main(["calibrate", *window, "--exclude", f"{MARCH}:{MARCH_END}"]) == 0
    calendar = {
        "settle_days": 10,
        "promotions": [{"name": "double", "start": MARCH, "end": PROMOTION.end}],
    }
    (home.config_dir / "promotions.yaml").write_text(yaml.safe_dump(calendar), encoding="utf-8")
    assert main(["calibrate", *window, "--exclude-promotions"]) == 0
    sets = warehouse_rows(
        home,
        "select version, status, excluded_dates, window_end, rows_used from tier_threshold_sets "
        "order by version",
    )
    assert [s[:2] for s in sets] == [
        (1, "retired"),
        (2, "active"),
        (3, "candidate"),
        (4, "candidate"),
    ]
    v2, v3, v4 = sets[1], sets[2], sets[3]
    march_days = ",".join((MARCH + timedelta(days=i)).isoformat() for i in range(24))
    assert v3[2] == v4[2] == march_days  # promotion + settle days = 1..24 March
    # leaving March out of 15 Feb .. 24 Mar uses exactly the customer-days of the v2 window
    assert v3[4] == v4[4] == v2[4]
    values = dict(warehouse_rows(home, "select version, value from tier_threshold_values"))
    assert values[3] == values[4] == values[2]
    capsys.readouterr()
    assert main(["thresholds", "list"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[:2] for line in listing[1:]] == [
        ["4", "candidate"],
        ["3", "candidate"],
        ["2", "active"],
        ["1", "retired"],
    ]
    with pytest.raises(SystemExit, match="version 9 does not exist"):
        main(["thresholds", "adopt", "9"])
