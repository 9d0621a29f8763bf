"""JSON Lines landing files → raw text rows, parsed by DuckDB for a whole batch of days at once.

Reading a day only splits the file into numbered lines; the JSON of every line of the batch is
then parsed in one pass of DuckDB's JSON functions (per-file queries would cost more in overhead
than parsing). Values become text like every other feed: strings as they are, numbers and
booleans as their JSON text, nested objects or arrays as compact JSON, null or missing as ''.
With `explode`, each element of that array becomes a row (`<explode>.<key>` columns and
`_item_no`); a line without elements stays one row.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierops.ingestion.mapping import FeedMapping
from tierops.ingestion.readers import IngestionError, RawBatch, require_columns, scratch


def read_lines(path: Path, encoding: str) -> pa.Table:
    """`source_row` (line number) and `line` for every non-blank line of the file."""
    with open(path, encoding=encoding, newline=None) as fh:
        text = fh.read()  # universal newlines, like iterating the file
    lines = pa.array(text.split("\n"), pa.string())
    numbers = pa.array(np.arange(1, len(lines) + 1, dtype=np.int64))
    keep = pc.not_equal(pc.utf8_trim_whitespace(lines), "")
    return pa.table({"source_row": numbers, "line": lines}).filter(keep)


def parse(batches: list[RawBatch], mapping: FeedMapping) -> pa.Table:
    """Raw rows of the batches' lines, with `_source_file` and `_file_day`, in file order."""
    explode = mapping.source.explode
    lines = pa.concat_tables(
        b.table.append_column("_file", pa.array(np.full(b.rows, i, dtype=np.int32)))
        for i, b in enumerate(batches)
    )
    con = scratch()
    try:
        con.register("lines", lines)
        _check_objects(con, batches)
        head = _keys_by_file(con, "lines", "line")
        head = {f: [k for k in keys if k != explode] for f, keys in head.items()}
        per_file = {i: list(head.get(i, [])) for i in range(len(batches))}
        item_keys: list[str] = []
        if explode:
            _create_items(con, _json_path(explode))
            items = _keys_by_file(con, "items", "item")
            item_keys = sorted({k for keys in items.values() for k in keys})
            exploded = {
                f
                for (f,) in con.sql(
                    "SELECT DISTINCT _file FROM items WHERE item_no IS NOT NULL"
                ).fetchall()
            }
            for f in per_file:
                per_file[f] += [f"{explode}.{k}" for k in items.get(f, [])]
                if f in exploded:
                    per_file[f].append("_item_no")
        for i, batch in enumerate(batches):
            require_columns(mapping, per_file[i], Path(batch.path or batch.source))
        table = _rows(
            con,
            sorted({k for keys in head.values() for k in keys}),
            explode,
            item_keys,
            any("_item_no" in names for names in per_file.values()),
        )
    finally:
        con.close()
    files = table["_file"]
    sources = pa.array([b.source for b in batches], pa.string())
    days = pa.array([b.day for b in batches], pa.date32())
    table = table.drop_columns(["_file"])
    return table.append_column("_source_file", pc.take(sources, files)).append_column(
        "_file_day", pc.take(days, files)
    )


def _check_objects(con, batches: list[RawBatch]) -> None:
    bad = con.sql(
        "SELECT _file, source_row, line, json_valid(line) FROM lines "
        "WHERE NOT json_valid(line) OR json_type(line) <> 'OBJECT' "
        "ORDER BY _file, source_row LIMIT 1"
    ).fetchall()
    if not bad:
        return
    index, line_no, line, valid = bad[0]
    path = batches[index].path or batches[index].source
    if valid:
        raise IngestionError(f"{path}: line {line_no} is not a JSON object")
    try:
        json.loads(line)
        detail = "not valid JSON"
    except json.JSONDecodeError as exc:
        detail = exc.msg
    raise IngestionError(f"{path}: line {line_no} is not valid JSON: {detail}")


def _keys_by_file(con, table: str, column: str) -> dict[int, list[str]]:
    rows = con.sql(
        f"SELECT _file, list(DISTINCT k ORDER BY k) FROM "
        f"(SELECT _file, unnest(json_keys({column})) AS k FROM {table} "
        f"WHERE json_type({column}) = 'OBJECT') GROUP BY _file"
    ).fetchall()
    return {f: list(keys) for f, keys in rows}


def _create_items(con, array: str) -> None:
    """One row per array element (item_no 1…n), or one row with a null item."""
    con.sql(
        f"""CREATE TEMP TABLE items AS
            SELECT _file, source_row, line,
                   unnest(CASE WHEN n > 0 THEN json_extract(line, {array} || '[*]')
                               ELSE [NULL::JSON] END) AS item,
                   unnest(CASE WHEN n > 0 THEN range(1, n + 1) ELSE [NULL] END) AS item_no
            FROM (SELECT _file, source_row, line,
                         CASE WHEN json_type(line, {array}) = 'ARRAY'
                              THEN json_array_length(line, {array})::BIGINT ELSE 0 END AS n
                  FROM lines)"""
    )


def _rows(
    con, keys: list[str], explode: str | None, item_keys: list[str], with_item_no: bool
) -> pa.Table:
    columns = {k: f"coalesce(v[{i + 1}], '')" for i, k in enumerate(keys)}
    columns.update(
        {
            f"{explode}.{k}": f"coalesce(CASE WHEN json_type(item) = 'OBJECT' THEN w[{i + 1}] END, '')"
            for i, k in enumerate(item_keys)
        }
    )
    if with_item_no:
        columns["_item_no"] = "coalesce(item_no::VARCHAR, '')"
    select = "".join(f"{expr} AS {_sql_name(n)}, " for n, expr in sorted(columns.items()))
    head = f"json_extract_string(line, {_paths(keys)})" if keys else "NULL"
    source = "items" if explode else "lines"
    item = f"json_extract_string(item, {_paths(item_keys)})" if item_keys else "NULL"
    extra = f", item_no, item, {item} AS w" if explode else ""
    return (
        con.sql(
            f"SELECT {select}source_row, _file FROM "
            f"(SELECT _file, source_row, {head} AS v{extra} FROM {source})"
        )
        .arrow()
        .read_all()
    )


def _paths(keys: list[str]) -> str:
    return "[" + ", ".join(_json_path(k) for k in keys) + "]"


def _json_path(key: str) -> str:
    return "'$.\"" + key.replace("'", "''").replace('"', '\\"') + "\"'"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
