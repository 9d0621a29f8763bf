"""Read one day of one feed into an Arrow table of raw strings, remembering each row's origin.

Everything is read as text: parsing is the normaliser's job, so a bad value becomes a quarantine
row with its raw text instead of an exception deep inside a reader.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tierops.ingestion.mapping import FeedMapping


class IngestionError(RuntimeError):
    """A file or source that cannot be read as declared: the partition fails with this message."""


@dataclass(frozen=True)
class RawBatch:
    """One source file (or query) for one day: raw text columns plus `source_row` (1-based).

    Kept as Arrow until a whole batch of days is combined: converting each small file to pandas
    separately would cost more than parsing it.
    """

    table: pa.Table
    source: str
    day: date
    path: str = ""  # the file, for messages
    json_lines: bool = False  # `table` holds numbered JSON lines, parsed per batch (jsonlines)

    @property
    def rows(self) -> int:
        return self.table.num_rows


@cache
def _scratch_db() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB per process for parsing and normalising (never the warehouse)."""
    return duckdb.connect()


def scratch() -> duckdb.DuckDBPyConnection:
    """A connection of its own (thread-safe; temp tables and registrations are private)."""
    return _scratch_db().cursor()


def read_day(mapping: FeedMapping, landing_dir: Path, day: date) -> RawBatch:
    src = mapping.source
    if src.format == "sql":
        return RawBatch(_read_sql(mapping, day), f"sql:{mapping.feed}", day)
    rel = src.file_for(day)
    path = landing_dir / rel
    if not path.is_file():
        if src.missing == "empty":
            return RawBatch(_empty(mapping), rel, day)
        raise IngestionError(
            f"{mapping.feed}: expected file {path} for {day.isoformat()} was not found "
            f"(pattern {src.path!r} under {landing_dir}). If the source did not deliver, re-run "
            "the day once it has; set `source.missing: empty` in the mapping if no file means no data."
        )
    if src.format == "csv":
        table = _read_csv(path, src.encoding, src.delimiter)
    elif src.format == "jsonl":
        from tierops.ingestion.jsonlines import read_lines

        lines = read_lines(path, src.encoding)
        if lines.num_rows == 0:  # an empty JSONL file has no columns: an empty day
            return RawBatch(_empty(mapping), rel, day)
        # columns are known once the lines are parsed (jsonlines.parse, per batch of days)
        return RawBatch(lines, rel, day, path=str(path), json_lines=True)
    else:
        table = _read_parquet(path)
    require_columns(mapping, table.column_names, path)
    return RawBatch(table, rel, day)


def _empty(mapping: FeedMapping) -> pa.Table:
    return _numbered(pa.table({c: pa.array([], pa.string()) for c in mapping.source_columns()}))


def _numbered(table: pa.Table) -> pa.Table:
    return table.append_column(
        "source_row", pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    )


def require_columns(mapping: FeedMapping, columns: list[str], path: Path) -> None:
    present = set(columns)
    missing = [c for c in mapping.source_columns() if c not in present]
    if missing:
        targets = {
            spec.column: name
            for name, spec in [*mapping.fields.items(), *mapping.identifiers.items()]
        }
        detail = ", ".join(f"'{c}' (for {targets.get(c, '?')})" for c in missing)
        found = ", ".join(repr(c) for c in columns if c != "source_row")
        raise IngestionError(
            f"{path}: missing column {detail} declared in config/channels/{mapping.feed}.yaml; "
            f"the file has columns: {found}"
        )


def _read_csv(path: Path, encoding: str, delimiter: str) -> pa.Table:
    names = _csv_header(path, encoding, delimiter)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                encoding=encoding, block_size=1 << 24, use_threads=False
            ),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise IngestionError(_explain_csv_error(path, encoding, delimiter, exc)) from exc
    return _numbered(table)


def _csv_header(path: Path, encoding: str, delimiter: str) -> list[str]:
    with open(path, "rb") as fh:
        first = fh.readline()
    if not first.strip():
        raise IngestionError(f"{path}: empty file, expected at least a header row")
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        line = first.decode(codec)
    except UnicodeDecodeError as exc:
        raise IngestionError(
            f"{path}: header row is not valid {encoding} (byte {exc.start}); check `source.encoding` "
            "in the channel mapping (POS exports are often gbk)"
        ) from exc
    return next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter))


def _explain_csv_error(path: Path, encoding: str, delimiter: str, exc: Exception) -> str:
    """Re-read with the slower pandas parser to say which line is broken."""
    try:
        pd.read_csv(path, dtype=str, encoding=encoding, sep=delimiter, keep_default_na=False)
    except UnicodeDecodeError as err:
        with open(path, "rb") as fh:
            data = fh.read(err.start + 1)
        line = data.count(b"\n") + 1
        return (
            f"{path}: line {line} is not valid {encoding} (byte offset {err.start}); check "
            "`source.encoding` in the channel mapping"
        )
    except (pd.errors.ParserError, ValueError) as err:
        return f"{path}: malformed CSV: {err}"
    return f"{path}: cannot read CSV: {exc}"


def _read_parquet(path: Path) -> pa.Table:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestionError(f"{path}: not a readable Parquet file: {exc}") from exc
    columns = []
    for col in table.columns:
        if pa.types.is_timestamp(col.type) and col.type.tz is not None:
            # ISO text with an explicit UTC offset: the normaliser converts zones like any feed
            col = pc.strftime(
                col.cast(pa.timestamp("us", tz="UTC")), format="%Y-%m-%dT%H:%M:%S+00:00"
            )
        elif not pa.types.is_string(col.type):
            col = col.cast(pa.string())
        columns.append(pc.fill_null(col, ""))
    return _numbered(pa.table(columns, names=table.column_names))


def _read_sql(mapping: FeedMapping, day: date) -> pa.Table:
    """Run the mapping's query for one business day through SQLAlchemy."""
    import sqlalchemy

    src = mapping.source
    url = os.environ.get(src.url_env or "")
    if not url:
        raise IngestionError(
            f"{mapping.feed}: environment variable {src.url_env} (SQLAlchemy URL) is not set"
        )
    start = datetime.combine(day, time.min)
    end = start + timedelta(days=1)
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            frame = pd.read_sql(
                sqlalchemy.text(src.query), conn, params={"start": start, "end": end}
            )
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise IngestionError(f"{mapping.feed}: query failed for {day}: {exc}") from exc
    finally:
        engine.dispose()
    text = frame.astype(object).where(frame.notna(), "").astype("str")
    table = _numbered(pa.Table.from_pandas(text, preserve_index=False))
    require_columns(mapping, table.column_names, Path(f"sql:{mapping.feed}"))
    return table
