"""A list is one query written three ways: CSV (UTF-8 with BOM) and XLSX for people, with
Chinese headers and masked contacts, and Parquet for systems, with machine column names and
hashed contacts (clear text for trusted destinations)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from tierops.exports.files import WrittenFile, describe, write_csv_bom, write_parquet, write_xlsx
from tierops.exports.pii import Pii

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
    conn: duckdb.DuckDBPyConnection, spec: ListSpec, root: Path, human: Pii, system: Pii
) -> list[WrittenFile]:
    written = []
    for fmt in spec.formats:
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
                rows = write_xlsx(path, reader, headers, sheet=spec.key)
        written.append(describe(path, root, rows, kind=spec.kind, key=spec.key))
    return written
