"""The `tierops` command line: thin over Dagster, so its runs are recorded in the instance."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb

from tests.conftest import REPO, SMALL_END, SMALL_START


def _cli(args: list[str], home, dagster_home: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TIEROPS_HOME": str(home.home),
        "TIEROPS_CONFIG_DIR": str(home.config_dir),
        "DAGSTER_HOME": str(dagster_home),
        "PYTHONPATH": str(REPO / "pipelines"),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    return subprocess.run(
        [sys.executable, "-m", "tierops.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_run_command_records_the_run_and_prints_the_summary(pipeline_home, tmp_path):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")

    proc = _cli(["run", "--date", SMALL_END.isoformat()], pipeline_home, dagster_home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"customers on {SMALL_END}" in proc.stderr
    manifest = json.loads(
        (pipeline_home.outputs / SMALL_END.isoformat() / "manifest.json").read_text()
    )
    assert f"{manifest['customers']:,}" in proc.stderr
    report = pipeline_home.outputs / SMALL_END.isoformat() / "report.html"
    assert f"report page: {report}" in proc.stderr
    assert report.is_file()

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        from dagster import DagsterInstance, DagsterRunStatus

        with DagsterInstance.get() as instance:
            runs = instance.get_runs()
            assert len(runs) == 1
            assert runs[0].job_name == "tierops_nightly"
            assert runs[0].status == DagsterRunStatus.SUCCESS
            assert runs[0].tags["dagster/asset_partition_range_start"] == SMALL_END.isoformat()
            assert runs[0].tags["tierops/launched_by"] == "cli"
    finally:
        del os.environ["DAGSTER_HOME"]


def test_validate_reports_a_broken_policy_without_touching_data(pipeline_home, tmp_path):
    policy = pipeline_home.config_dir / "tier_policy.yaml"
    policy.write_text(
        policy.read_text(encoding="utf-8").replace("monetary_365d >= p90", "monetary_356d >= p90"),
        encoding="utf-8",
    )
    proc = _cli(["validate"], pipeline_home, tmp_path)
    assert proc.returncode == 2
    assert "tier_policy.yaml: tiers[3].rule" in proc.stderr
    assert "unknown feature 'monetary_356d'" in proc.stderr
    assert not pipeline_home.warehouse.exists()


def test_backfill_history_ingests_every_day_and_computes_only_the_last(pipeline_home, tmp_path):
    dagster_home = tmp_path / "dagster_home"
    dagster_home.mkdir()
    shutil.copy(REPO / "dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")
    args = [
        "backfill",
        "--history",
        "--start",
        SMALL_START.isoformat(),
        "--end",
        SMALL_END.isoformat(),
    ]
    proc = _cli(args, pipeline_home, dagster_home)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"customers on {SMALL_END}" in proc.stderr

    days = (SMALL_END - SMALL_START).days + 1
    for feed in ("web_orders", "pos_orders", "miniprogram_orders", "marketplace_orders"):
        delivered = list((pipeline_home.home / "lake" / "order_lines" / f"feed={feed}").iterdir())
        assert len(delivered) == days, feed
    days_written = [p.name for p in pipeline_home.outputs.iterdir() if p.is_dir()]
    assert days_written == [SMALL_END.isoformat()]

    with duckdb.connect(str(pipeline_home.warehouse), read_only=True) as con:
        as_of = con.execute("select distinct as_of_date from customer_features").fetchall()
        counted, first = con.execute(
            "select sum(orders_total), min(first_order_date) from customer_features"
        ).fetchone()
        purchases = con.execute("select count(*) from int_orders where is_purchase = 1").fetchone()
    assert as_of == [(SMALL_END,)]
    # the last day's features see the whole history, not just the day itself
    assert 0.9 * purchases[0] <= counted <= purchases[0]
    assert (first - SMALL_START).days <= 3

    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        from dagster import DagsterInstance

        with DagsterInstance.get() as instance:
            last, history = instance.get_runs()  # newest first
        assert history.tags["dagster/asset_partition_range_end"] == (
            (SMALL_END - timedelta(days=1)).isoformat()
        )
        assert {k.to_user_string() for k in history.asset_selection} == {
            "web_orders", "pos_orders", "miniprogram_orders", "marketplace_orders",
            "tracking_events", "crm_members",
        }  # fmt: skip
        assert last.tags["dagster/asset_partition_range_start"] == SMALL_END.isoformat()
        assert last.asset_selection is None
    finally:
        del os.environ["DAGSTER_HOME"]
