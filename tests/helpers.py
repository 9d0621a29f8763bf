"""Helpers for tests that run the real Dagster assets."""

from __future__ import annotations

from datetime import date

import duckdb
from dagster import AssetSelection, DagsterInstance, Definitions, materialize
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from tierops.definitions import build_definitions
from tierops.settings import Settings


def definitions() -> Definitions:
    return build_definitions(Settings.from_env())


def run_range(
    first: date,
    last: date,
    selection: AssetSelection | None = None,
    defs: Definitions | None = None,
):
    """Materialize the pipeline for [first, last] (inclusive) in one run, like `tierops backfill`."""
    defs = defs or definitions()
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: first.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: last.isoformat(),
    }
    return materialize(
        list(defs.assets),
        selection=selection,
        resources=defs.resources,
        instance=DagsterInstance.ephemeral(),
        tags=tags,
        raise_on_error=False,
    )


def failure_messages(result) -> list[str]:
    out = []
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            out.append((error.cause.message if error.cause else "") + error.message)
    return out


def warehouse_rows(home, sql: str, params=None) -> list[tuple]:
    """Rows of a query on a pipeline home's warehouse, opened read-only for this query only."""
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()
