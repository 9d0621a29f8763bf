"""Writers for exported tables: Excel-friendly CSV and the manifest that lists them."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
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


XLSX_MAX_ROWS = 1_048_575  # per sheet, below the header row
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
_MODIFIED = re.compile(rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)")


def write_xlsx(
    path: Path, reader: pa.RecordBatchReader, headers: list[str], sheet: str = "list"
) -> int:
    """An Excel workbook (one sheet per million rows). Timestamps inside the file are fixed, so
    the same rows always give the same bytes (re-runs are byte-identical)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    fixed = dt.datetime(2000, 1, 1)
    wb.properties.created = fixed
    rows = 0
    ws = None
    for batch in reader:
        for record in zip(*(c.to_pylist() for c in batch.columns), strict=True):
            if ws is None or rows % XLSX_MAX_ROWS == 0:
                ws = wb.create_sheet(f"{sheet[:25]}_{rows // XLSX_MAX_ROWS + 1}"[:31])
                ws.append(headers)
            ws.append(list(record))
            rows += 1
    if ws is None:
        wb.create_sheet(f"{sheet[:25]}_1"[:31]).append(headers)
    buffer = io.BytesIO()
    wb.save(buffer)
    with atomic_open(path, "wb") as fh:
        fh.write(_normalised_zip(buffer.getvalue()))
    return rows


def _normalised_zip(data: bytes) -> bytes:
    """Rewrite a zip with fixed entry times (openpyxl stamps the current time on every entry)."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=_ZIP_EPOCH)
            entry.compress_type = zipfile.ZIP_DEFLATED
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl sets `modified` to now on save
                data = _MODIFIED.sub(rb"\g<1>2000-01-01T00:00:00Z\g<2>", data)
            dst.writestr(entry, data)
    return out.getvalue()


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
