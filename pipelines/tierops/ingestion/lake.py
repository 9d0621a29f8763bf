"""The lake: validated canonical Parquet, `lake/<entity>/feed=<feed>/file_date=<day>/data.parquet`.

One file per feed and day, replaced atomically, so re-running a day replaces that day and a killed
run leaves the previous file in place. dbt reads these files as its sources (hive partitioning),
and a distributed engine can mount the same folders as external tables.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from tierops.ingestion.schema import Entity
from tierops.lib.files import atomic_path

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("source_file", pa.string()),
        pa.field("source_row", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("raw_record", pa.string()),
    ]
)


def partition_path(lake_dir: Path, table: str, feed: str, day: date) -> Path:
    return lake_dir / table / f"feed={feed}" / f"file_date={day.isoformat()}" / "data.parquet"


def split_by_day(rows: pd.DataFrame, entity: Entity) -> dict[pd.Timestamp, pa.Table]:
    """One Arrow conversion for the whole batch, then cheap per-day slices in file order."""
    schema = entity.arrow_schema()
    ordered = rows.sort_values(["file_day", "source_file", "source_row"], kind="stable")
    table = pa.Table.from_pandas(ordered[list(schema.names)], schema=schema, preserve_index=False)
    days = ordered["file_day"].to_numpy()
    out: dict[pd.Timestamp, pa.Table] = {}
    if len(days) == 0:
        return out
    change = np.flatnonzero(days[1:] != days[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(days)]])
    for start, end in zip(starts, ends, strict=True):
        out[pd.Timestamp(days[start])] = table.slice(int(start), int(end - start))
    return out


def write_day(lake_dir: Path, entity: Entity, feed: str, day: date, table: pa.Table | None) -> Path:
    """Replace the day's file; a day without valid rows still gets a file with the schema."""
    if table is None:
        table = entity.arrow_schema().empty_table()
    return _write(partition_path(lake_dir, entity.name, feed, day), table)


def quarantine_rows(rows: pd.DataFrame, raw: pd.DataFrame, reasons: pd.Series) -> pd.DataFrame:
    """Bad rows with their raw source values as JSON, built once per batch."""
    source_cols = [c for c in raw.columns if c != "source_row" and not c.startswith("_")]
    raw_bad = raw.loc[rows.index, source_cols]
    records = [
        json.dumps({k: v for k, v in rec.items() if v != ""}, ensure_ascii=False, sort_keys=True)
        for rec in raw_bad.to_dict(orient="records")
    ]
    return pd.DataFrame(
        {
            "file_day": rows["file_day"],
            "source_file": rows["source_file"].astype("str"),
            "source_row": rows["source_row"].astype("int64"),
            "reason": reasons.loc[rows.index].astype("str"),
            "raw_record": pd.Series(records, index=rows.index, dtype="str"),
        }
    ).sort_values(["file_day", "source_file", "source_row"], kind="stable")


def write_quarantine(lake_dir: Path, feed: str, day: date, rows: pd.DataFrame) -> Path:
    table = pa.Table.from_pandas(
        rows[QUARANTINE_SCHEMA.names], schema=QUARANTINE_SCHEMA, preserve_index=False
    )
    return _write(partition_path(lake_dir, "quarantine", feed, day), table)


def _write(path: Path, table: pa.Table) -> Path:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
    return path


def ensure_empty_tables(lake_dir: Path, entities: list[Entity]) -> None:
    """dbt sources glob these folders; an entity nobody feeds yet still needs its schema."""
    for entity in [*entities]:
        folder = lake_dir / entity.name
        if not any(folder.glob("*/*/*.parquet")):
            empty = pa.Table.from_pylist([], schema=entity.arrow_schema())
            _write(partition_path(lake_dir, entity.name, "_none", date(1970, 1, 1)), empty)
    if not any((lake_dir / "quarantine").glob("*/*/*.parquet")):
        _write(
            partition_path(lake_dir, "quarantine", "_none", date(1970, 1, 1)),
            pa.Table.from_pylist([], schema=QUARANTINE_SCHEMA),
        )
