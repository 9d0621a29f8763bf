"""Write one day's file of a feed, atomically and byte-for-byte reproducibly."""

from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from tierops.lib.files import atomic_path, write_bytes

# No value we write contains a comma, quote or newline, so nothing needs quoting; nulls are empty.
CSV_OPTIONS = pacsv.WriteOptions(quoting_style="none", quoting_header="none", eol="\n")


def write_csv(path: Path, table: pa.Table, encoding: str = "utf-8") -> None:
    sink = io.BytesIO()
    pacsv.write_csv(table, sink, CSV_OPTIONS)
    data = sink.getvalue()
    write_bytes(path, data if encoding == "utf-8" else data.decode("utf-8").encode(encoding))


def write_jsonl(path: Path, lines: pa.Array) -> None:
    """Lines already hold serialised JSON objects; an empty day is an empty file."""
    terminated = pc.binary_join_element_wise(lines, "\n", "").cast(pa.binary())
    whole = pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), terminated)
    write_bytes(path, pc.binary_join(whole, b"")[0].as_py())


def write_parquet(path: Path, table: pa.Table) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd", use_dictionary=True, write_statistics=True)
