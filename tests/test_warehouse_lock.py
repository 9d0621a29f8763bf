"""A second writer waits for the DuckDB lock and then fails with a message that says who holds it."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tierops.warehouse import Warehouse, WarehouseLockedError

HOLDER = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
con.execute("create table if not exists t (x int)")
print("locked", flush=True)
time.sleep(30)
"""


def test_second_writer_fails_clearly_after_timeout(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with (
            pytest.raises(WarehouseLockedError) as err,
            Warehouse(path=str(path), lock_timeout_seconds=1.5).connect(),
        ):
            pass
        waited = time.monotonic() - started
        assert 1.5 <= waited < 10
        message = str(err.value)
        assert f"process {holder.pid}" in message
        assert "re-run this partition" in message
    finally:
        holder.kill()
        holder.wait()


def test_writer_proceeds_once_the_lock_is_released(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER.replace("time.sleep(30)", "time.sleep(1)"), str(path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        with Warehouse(path=str(path), lock_timeout_seconds=20).connect() as con:
            assert con.execute("select count(*) from t").fetchone()[0] == 0
    finally:
        holder.wait()
