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
from tierops.lib.files import write_bytes

EPOCH_ORDINAL = date(1970, 1, 1).toordinal()

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


def split_by_day(rows: pa.Table, entity: Entity) -> dict[date, pa.Table]:
    """Per-day slices of the valid rows in file order (`rows` is in day, file and row order)."""
    schema = entity.arrow_schema()
    table = rows.select(schema.names).cast(schema)
    days = rows["file_day"].combine_chunks().cast(pa.int32()).to_numpy()
    out: dict[date, pa.Table] = {}
    if len(days) == 0:
        return out
    change = np.flatnonzero(days[1:] != days[:-1]) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(days)]])
    for start, end in zip(starts, ends, strict=True):
        day = date.fromordinal(EPOCH_ORDINAL + int(days[start]))
        out[day] = table.slice(int(start), int(end - start))
    return out


def write_day(lake_dir: Path, entity: Entity, feed: str, day: date, table: pa.Table | None) -> Path:
    """Replace the day's file; a day without valid rows still gets a file with the schema."""
    if table is None:
        table = entity.arrow_schema().empty_table()
    path = partition_path(lake_dir, entity.name, feed, day)
    return _write(path, table, entity.dictionary_columns())


def quarantine_rows(canonical: pa.Table, raw: pa.Table, reasons: pd.Series) -> pa.Table:
    """Bad rows (positions = `reasons.index`) with their raw source values as JSON."""
    positions = pa.array(reasons.index.to_numpy(dtype=np.int64), pa.int64())
    source_cols = [c for c in raw.column_names if c != "source_row" and not c.startswith("_")]
    records = [
        json.dumps({k: v for k, v in rec.items() if v != ""}, ensure_ascii=False, sort_keys=True)
        for rec in raw.select(source_cols).take(positions).to_pylist()
    ]
    picked = canonical.select(["file_day", "source_file", "source_row"]).take(positions)
    return pa.table(
        {
            "file_day": picked["file_day"],
            "source_file": picked["source_file"],
            "source_row": picked["source_row"],
            "reason": pa.array(reasons.to_numpy(), pa.string()),
            "raw_record": pa.array(records, pa.string()),
        }
    )


def write_quarantine(lake_dir: Path, feed: str, day: date, rows: pa.Table) -> Path:
    return _write(
        partition_path(lake_dir, "quarantine", feed, day),
        rows.select(QUARANTINE_SCHEMA.names).cast(QUARANTINE_SCHEMA),
    )


def _write(path: Path, table: pa.Table, dictionary: bool | list[str] = True) -> Path:
    """Encode in memory, then one atomic file write (Arrow's own file output costs more per
    file than encoding a day of a small feed)."""
    sink = pa.BufferOutputStream()
    pq.write_table(
        table, sink, compression="zstd", write_statistics=True, use_dictionary=dictionary
    )
    write_bytes(path, sink.getvalue())
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
