"""The warehouse resource: one short-lived DuckDB connection per asset body.

DuckDB allows one writing process per file. Every asset that opens it sits in the `duckdb` pool
(limit 1 in the instance's dagster.yaml), so steps of concurrent runs queue instead of colliding;
if another process (a notebook, a second Dagster instance) still holds the lock, we wait up to
`lock_timeout_seconds` and then fail with a message that says who holds it.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import duckdb
from dagster import ConfigurableResource

WAREHOUSE_POOL = "duckdb"


class WarehouseLockedError(RuntimeError):
    pass


class Warehouse(ConfigurableResource):
    """DuckDB file shared by dbt and the Python assets."""

    path: str
    lock_timeout_seconds: float = 120.0
    threads: int = 2

    @contextlib.contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        conn = self._open(read_only)
        try:
            conn.execute(f"set threads = {int(self.threads)}")
            yield conn
        finally:
            conn.close()

    def _open(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        deadline = time.monotonic() + self.lock_timeout_seconds
        delay = 0.2
        while True:
            try:
                return duckdb.connect(self.path, read_only=read_only)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower():
                    raise
                if time.monotonic() >= deadline:
                    holder = re.search(r"PID (\d+)", str(exc))
                    who = f"process {holder.group(1)}" if holder else "another process"
                    raise WarehouseLockedError(
                        f"warehouse {self.path} is locked by {who} and was not released within "
                        f"{self.lock_timeout_seconds:.0f}s. Another tierops run (or a tool such as a "
                        "notebook or the DuckDB CLI) is using it; wait for it to finish or close it, "
                        "then re-run this partition."
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 5.0)


def table_exists(conn: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the warehouse has this table yet (optional inputs of reports)."""
    return bool(
        conn.execute(
            "select count(*) from information_schema.tables where table_name = ?", [name]
        ).fetchone()[0]
    )


def execute_in_transaction(conn: duckdb.DuckDBPyConnection, statements: Iterable[str]) -> None:
    """Run a step's delete/insert statements as one transaction: all of them or none."""
    conn.execute("begin transaction")
    for sql in statements:
        conn.execute(sql)
    conn.execute("commit")
