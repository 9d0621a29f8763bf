"""Writers for exported tables: Excel-friendly CSV and the manifest that lists them."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tierops.lib.files import atomic_open, atomic_path, sha256_of

UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class WrittenFile:
    path: str  # relative to the manifest's folder
    rows: int
    bytes: int
    sha256: str
    kind: str
    key: str


def write_csv_bom(
    path: Path, reader: pa.RecordBatchReader, headers: list[str] | None = None
) -> int:
    """Stream batches into a UTF-8-with-BOM CSV (Excel then shows Chinese correctly)."""
    schema = reader.schema
    if headers:
        schema = pa.schema([f.with_name(h) for f, h in zip(schema, headers, strict=True)])
    rows = 0
    with atomic_open(path, "wb") as fh:
        fh.write(UTF8_BOM)
        with pacsv.CSVWriter(
            fh, schema, write_options=pacsv.WriteOptions(quoting_style="needed")
        ) as writer:
            for batch in reader:
                batch = pa.RecordBatch.from_arrays(batch.columns, schema=schema)
                writer.write_batch(batch)
                rows += batch.num_rows
    return rows


def write_parquet(path: Path, reader: pa.RecordBatchReader) -> int:
    rows = 0
    with atomic_path(path) as tmp, pq.ParquetWriter(tmp, reader.schema) as writer:
        for batch in reader:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def describe(path: Path, root: Path, rows: int, kind: str, key: str) -> WrittenFile:
    return WrittenFile(
        path=path.relative_to(root).as_posix(),
        rows=rows,
        bytes=path.stat().st_size,
        sha256=sha256_of(path),
        kind=kind,
        key=key,
    )


def write_manifest(path: Path, header: dict, files: list[WrittenFile]) -> None:
    body = {**header, "files": [asdict(f) for f in sorted(files, key=lambda f: f.path)]}
    with atomic_open(path, "w", encoding="utf-8") as fh:
        json.dump(body, fh, ensure_ascii=False, indent=2, sort_keys=True)
        fh.write("\n")
