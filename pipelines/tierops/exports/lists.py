"""A list is one query written three ways: CSV (UTF-8 with BOM) and XLSX for people, with
Chinese headers and masked contacts, and Parquet for systems, with machine column names and
hashed contacts (clear text for trusted destinations). A list longer than `xlsx_max_rows`
(config/destinations.yaml) gets no XLSX: its CSV and Parquet are complete, and the manifest
says why the XLSX is missing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tierops.exports.files import WrittenFile, describe, write_csv_bom, write_parquet
from tierops.exports.pii import Pii
from tierops.exports.xlsx import write_xlsx

BATCH_ROWS = 100_000


@dataclass(frozen=True)
class ListSpec:
    path: str  # relative to the day folder, without extension: audiences/tier_new
    kind: str  # tier_audience | tier_delta | action_treatment | action_holdout | action_delta | …
    key: str  # tier code, action id, …
    query: Callable[[Pii], tuple[str, list]]
    headers: dict[str, str] = field(default_factory=dict)  # column → header a person reads
    formats: tuple[str, ...] = ("csv", "xlsx", "parquet")


def write_list(
    conn: duckdb.DuckDBPyConnection,
    spec: ListSpec,
    root: Path,
    human: Pii,
    system: Pii,
    xlsx_max_rows: int,
) -> tuple[list[WrittenFile], str | None]:
    """The list's files, and why its XLSX was not written (None when it was or is not asked)."""
    written: list[WrittenFile] = []
    skipped = None
    rows = None
    for fmt in spec.formats:
        if fmt == "xlsx" and rows is not None and rows > xlsx_max_rows:
            skipped = (
                f"{rows:,} rows > xlsx_max_rows {xlsx_max_rows:,} (config/destinations.yaml): "
                "no .xlsx, the .csv and .parquet are complete"
            )
            continue
        pii = system if fmt == "parquet" else human
        sql, params = spec.query(pii)
        reader = conn.sql(sql, params=params).to_arrow_reader(BATCH_ROWS)
        path = root / f"{spec.path}.{fmt}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "parquet":
            rows = write_parquet(path, reader)
        else:
            headers = [spec.headers.get(name, name) for name in reader.schema.names]
            if fmt == "csv":
                rows = write_csv_bom(path, reader, headers)
            else:
                rows = write_xlsx(path, reader, headers, sheet=f"{spec.key[:25]}_1")
        written.append(describe(path, root, rows, kind=spec.kind, key=spec.key))
    return written, skipped
