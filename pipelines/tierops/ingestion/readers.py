"""Read one day of one feed into a frame of raw strings, remembering each row's origin.

Everything is read as text: parsing is the normaliser's job, so a bad value becomes a quarantine
row with its raw text instead of an exception deep inside a reader.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

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

    @property
    def rows(self) -> int:
        return self.table.num_rows


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
        table = _read_jsonl(path, src.encoding, src.explode)
        if table.num_rows == 0:  # an empty JSONL file has no columns: an empty day
            return RawBatch(_empty(mapping), rel, day)
    else:
        table = _read_parquet(path)
    if table.num_rows == 0 and src.explode:
        # an empty JSONL file has no columns at all; that is an empty day, not a schema change
        for column in mapping.source_columns():
            if column not in table.column_names:
                table = table.append_column(column, pa.array([], pa.string()))
    _require_columns(mapping, table, path)
    return RawBatch(table, rel, day)


def _empty(mapping: FeedMapping) -> pa.Table:
    return _numbered(pa.table({c: pa.array([], pa.string()) for c in mapping.source_columns()}))


def _numbered(table: pa.Table) -> pa.Table:
    return table.append_column(
        "source_row", pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64))
    )


def _require_columns(mapping: FeedMapping, table: pa.Table, path: Path) -> None:
    present = set(table.column_names)
    missing = [c for c in mapping.source_columns() if c not in present]
    if missing:
        targets = {
            spec.column: name
            for name, spec in [*mapping.fields.items(), *mapping.identifiers.items()]
        }
        detail = ", ".join(f"'{c}' (for {targets.get(c, '?')})" for c in missing)
        found = ", ".join(repr(c) for c in table.column_names if c != "source_row")
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


def _read_jsonl(path: Path, encoding: str, explode: str | None) -> pa.Table:
    rows: list[dict] = []
    with open(path, encoding=encoding) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise IngestionError(
                    f"{path}: line {line_no} is not valid JSON: {exc.msg}"
                ) from exc
            if not isinstance(record, dict):
                raise IngestionError(f"{path}: line {line_no} is not a JSON object")
            head = {k: _text(v) for k, v in record.items() if k != explode}
            head["source_row"] = line_no
            items = record.get(explode) if explode else None
            if explode and isinstance(items, list) and items:
                for pos, item in enumerate(items, start=1):
                    row = dict(head)
                    row["_item_no"] = str(pos)
                    if isinstance(item, dict):
                        row.update({f"{explode}.{k}": _text(v) for k, v in item.items()})
                    rows.append(row)
            else:
                rows.append(head)
    names = sorted({k for row in rows for k in row if k != "source_row"})
    columns = {n: pa.array([row.get(n, "") for row in rows], pa.string()) for n in names}
    columns["source_row"] = pa.array([row["source_row"] for row in rows], pa.int64())
    return pa.table(columns)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


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
    _require_columns(mapping, table, Path(f"sql:{mapping.feed}"))
    return table
