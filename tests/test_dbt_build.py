"""`dbt build` on its own (as a data engineer would run it) over lake files written by the feeds."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta

import duckdb
from dagster import AssetSelection

from tests.conftest import SMALL_END, SMALL_START
from tests.helpers import failure_messages, run_range
from tierops.settings import DBT_PROJECT_DIR
from tierops.transform.project import dbt_executable


def test_dbt_build_on_ingested_lake(pipeline_home):
    ingested = run_range(SMALL_START, SMALL_END, AssetSelection.groups("ingestion"))
    assert ingested.success, failure_messages(ingested)
    window_start = SMALL_END - timedelta(days=6)
    env = {
        **os.environ,
        "TIEROPS_LAKE_DIR": str(pipeline_home.home / "lake"),
        "TIEROPS_WAREHOUSE": str(pipeline_home.warehouse),
        "TIEROPS_WINDOW_START": window_start.isoformat(),
        "TIEROPS_WINDOW_END": (SMALL_END + timedelta(days=1)).isoformat(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    proc = subprocess.run(
        [dbt_executable(), "build", "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(pipeline_home.home / "dbt_target")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-4000:]
    assert "ERROR=0" in proc.stdout and "PASS=" in proc.stdout

    con = duckdb.connect(str(pipeline_home.warehouse), read_only=True)
    days = con.execute(
        "select count(distinct as_of_date), min(as_of_date), max(as_of_date) from customer_features"
    ).fetchone()
    assert days == (7, window_start, SMALL_END)
    orders = con.execute("select count(*) from int_orders").fetchone()[0]
    lake_orders = con.execute(
        f"select count(distinct channel || ':' || order_id) from read_parquet('{pipeline_home.home}/lake/order_lines/*/*/*.parquet')"
    ).fetchone()[0]
    assert orders == lake_orders
    # every customer with a purchase on the last day has consistent R/F/M
    bad = con.execute(
        "select count(*) from customer_features where as_of_date = ? and orders_total > 0 "
        "and (days_since_last_order < 0 or orders_365d > orders_total or monetary_365d > monetary_total + 0.01)",
        [SMALL_END],
    ).fetchone()[0]
    assert bad == 0
