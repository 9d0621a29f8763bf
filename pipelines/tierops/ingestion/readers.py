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
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tierops.ingestion.mapping import FeedMapping


class IngestionError(RuntimeError):
    """A file or source that cannot be read as declared: the partition fails with this message."""


@dataclass(frozen=True)
class RawBatch:
    """One source file (or query) for one day: raw text columns plus `source_row` (1-based)."""

    frame: pd.DataFrame
    source: str
    day: date


def read_day(mapping: FeedMapping, landing_dir: Path, day: date) -> RawBatch:
    src = mapping.source
    if src.format == "sql":
        return RawBatch(_read_sql(mapping, day), f"sql:{mapping.feed}", day)
    rel = src.file_for(day)
    path = landing_dir / rel
    if not path.is_file():
        if src.missing == "empty":
            empty = pd.DataFrame({c: pd.Series(dtype="str") for c in mapping.source_columns()})
            empty["source_row"] = pd.Series(dtype="int64")
            return RawBatch(empty, rel, day)
        raise IngestionError(
            f"{mapping.feed}: expected file {path} for {day.isoformat()} was not found "
            f"(pattern {src.path!r} under {landing_dir}). If the source did not deliver, re-run "
            "the day once it has; set `source.missing: empty` in the mapping if no file means no data."
        )
    if src.format == "csv":
        frame = _read_csv(path, src.encoding, src.delimiter)
    elif src.format == "jsonl":
        frame = _read_jsonl(path, src.encoding, src.explode)
    else:
        frame = _read_parquet(path)
    _require_columns(mapping, frame, path)
    return RawBatch(frame, rel, day)


def _require_columns(mapping: FeedMapping, frame: pd.DataFrame, path: Path) -> None:
    present = set(frame.columns)
    missing = [c for c in mapping.source_columns() if c not in present]
    if missing and len(frame) == 0 and mapping.source.explode:
        # an empty JSONL file has no columns at all; that is an empty day, not a schema change
        return
    if missing:
        targets = {
            spec.column: name
            for name, spec in [*mapping.fields.items(), *mapping.identifiers.items()]
        }
        detail = ", ".join(f"'{c}' (for {targets.get(c, '?')})" for c in missing)
        found = ", ".join(repr(c) for c in frame.columns if c != "source_row")
        raise IngestionError(
            f"{path}: missing column {detail} declared in config/channels/{mapping.feed}.yaml; "
            f"the file has columns: {found}"
        )


def _read_csv(path: Path, encoding: str, delimiter: str) -> pd.DataFrame:
    names = _csv_header(path, encoding, delimiter)
    try:
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(encoding=encoding, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise IngestionError(_explain_csv_error(path, encoding, delimiter, exc)) from exc
    frame = table.to_pandas()
    frame["source_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame


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


def _read_jsonl(path: Path, encoding: str, explode: str | None) -> pd.DataFrame:
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
    frame = pd.DataFrame(rows)
    if "source_row" not in frame:
        frame["source_row"] = pd.Series(dtype="int64")
    text_cols = [c for c in frame.columns if c != "source_row"]
    frame[text_cols] = frame[text_cols].fillna("").astype("str")
    frame["source_row"] = frame["source_row"].astype("int64")
    return frame


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise IngestionError(f"{path}: not a readable Parquet file: {exc}") from exc
    columns = {}
    for name, col in zip(table.column_names, table.columns, strict=True):
        if pa.types.is_timestamp(col.type):
            # ISO text keeps the offset, so the normaliser converts zones the same way for all feeds
            values = col.to_pandas()
            if getattr(values.dt, "tz", None) is not None:
                values = values.dt.tz_convert("UTC")
                text = values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")
            else:
                text = values.dt.strftime("%Y-%m-%dT%H:%M:%S.%f")
            columns[name] = text.fillna("").astype("str")
        else:
            columns[name] = col.cast(pa.string()).to_pandas().fillna("").astype("str")
    frame = pd.DataFrame(columns)
    frame["source_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    return frame


def _read_sql(mapping: FeedMapping, day: date) -> pd.DataFrame:
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
    frame = frame.astype(object).where(frame.notna(), "").astype("str")
    frame["source_row"] = np.arange(1, len(frame) + 1, dtype=np.int64)
    _require_columns(mapping, frame, Path(f"sql:{mapping.feed}"))
    return frame
