"""Raw text columns → canonical typed columns, following one feed mapping.

One DuckDB query per batch of days over the raw Arrow table (no copy into pandas): each canonical
field is a SQL expression built from the mapping. A value that is present but cannot be parsed
becomes null and adds a reason naming the source column and the raw text to `parse_errors`
(null when the row parsed cleanly); the quality step quarantines that row.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from tierops.ingestion import jsonlines
from tierops.ingestion.mapping import AMOUNT_UNITS, ColumnSpec, FeedMapping
from tierops.ingestion.readers import RawBatch, scratch
from tierops.ingestion.schema import IDENTIFIER_TYPES, CanonicalField, Entity

TRUE_WORDS = frozenset({"y", "yes", "true", "t", "1", "是"})
FALSE_WORDS = frozenset({"n", "no", "false", "f", "0", "否"})
# an explicit UTC offset at the end of an ISO 8601 text (RE2 syntax)
_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
# what Python's str.strip() removes in practice (incl. the ideographic space of CJK exports)
_TRIMMED = "_trimmed:"  # prefix of the trimmed copies of the source columns
_RAW = "_raw:"  # prefix of the source columns as delivered (for messages)
_SQL_TYPES = {
    "int": "BIGINT",
    "decimal": "DOUBLE",
    "timestamp": "TIMESTAMP",
    "date": "DATE",
    "bool": "BOOLEAN",
}


def combine(batches: list[RawBatch], mapping: FeedMapping) -> pa.Table:
    """Stack the raw tables of several files (one per day) so they are normalised in one pass.

    Adds `_source_file` and `_file_day`; text columns a file lacks are filled with ''.
    """
    tables = [
        b.table.append_column(
            "_source_file", pa.array([b.source] * b.rows, pa.string())
        ).append_column("_file_day", pa.array([b.day] * b.rows, pa.date32()))
        for b in batches
        if not b.json_lines
    ]
    json_batches = [b for b in batches if b.json_lines]
    if json_batches:  # a feed has one format: the other batches here are empty days
        tables.append(jsonlines.parse(json_batches, mapping))
    table = pa.concat_tables(tables, promote_options="default")
    columns = [
        col.fill_null("") if pa.types.is_string(col.type) and col.null_count else col
        for col in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def normalize(raw: pa.Table, mapping: FeedMapping, business_tz: ZoneInfo) -> pa.Table:
    """Canonical Arrow table plus `file_day`, `day_offset` and `parse_errors`, in `raw`'s order.

    `raw` comes from combine(): text columns plus source_row, _source_file and _file_day.
    """
    source_tz = ZoneInfo(mapping.timezone) if mapping.timezone else business_tz
    entity = mapping.entity_def
    # Plain text columns (ids, sku, …) are trimmed in Arrow and never enter DuckDB: moving
    # strings in and out of it costs more than the rest of the query.
    plain: dict[str, pa.ChunkedArray] = {}
    # steps so each expression is computed once per row (DuckDB does not share repeated
    # subexpressions): texts, parsed intermediates, typed values, then the parse errors
    texts: dict[str, str] = {}
    parsed: dict[str, str] = {}
    typed: list[str] = []
    errors: list[str] = []
    used: set[str] = set()  # source columns the query reads
    for field in entity.fields:
        spec = mapping.fields.get(field.name)
        name = _ident(field.name)
        if spec is None:
            typed.append(f"{_default(field, raw)} AS {name}")
            continue
        if field.type == "string" and not spec.values and spec.column is not None:
            plain[field.name] = _arrow_text(raw, spec)
            continue
        text = _ident(f"_t_{field.name}")
        texts[text] = _text(spec)
        value, checked = _convert(field, spec, text, source_tz, business_tz, parsed)
        typed.append(f"{value} AS {name}")
        if spec.column is not None:
            used.add(spec.column)
        if checked:
            errors.append(
                f"CASE WHEN {text} IS NOT NULL AND {name} IS NULL "
                f"THEN {_parse_reason(field, spec)} END"
            )
    for id_type in IDENTIFIER_TYPES:
        spec = mapping.identifiers.get(id_type)
        if spec is not None and spec.column is not None:
            plain[f"id_{id_type}"] = _arrow_text(raw, spec)
        else:
            typed.append(f"{_text(spec) if spec else 'NULL::VARCHAR'} AS id_{id_type}")
    plain["source_file"] = raw["_source_file"]
    event_time = _ident(entity.event_time)
    parse_errors = f"nullif(concat_ws('; ', {', '.join(errors)}), '')" if errors else "NULL"
    query = f"""
        WITH texts AS (
            SELECT *, {", ".join(f"{v} AS {k}" for k, v in texts.items()) or "1 AS _none"}
            FROM raw
        ), parsed AS (
            SELECT *, {", ".join(f"{v} AS {k}" for k, v in parsed.items()) or "1 AS _none2"}
            FROM texts
        ), typed AS (
            SELECT {", ".join(typed)},
                   {_lit(mapping.channel)} AS channel,
                   source_row::BIGINT AS source_row,
                   _file_day AS file_day,
                   {", ".join([*texts, *(_ident(_RAW + c) for c in sorted(used))]) or "1 AS _none"}
            FROM parsed
        )
        SELECT {", ".join(_typed_names(entity, plain))},
               date_diff('day', file_day, {event_time}::DATE) AS day_offset,
               {parse_errors}::VARCHAR AS parse_errors
        FROM typed
    """
    needed = [*sorted(used), "source_row", "_file_day"]
    needed += [c for c in ("_item_no",) if c in raw.column_names]
    # raw text under a prefix: a source column may carry a canonical field's name (line_no)
    registered = raw.select(needed).rename_columns([_RAW + c if c in used else c for c in needed])
    # a projection without ORDER BY keeps the input order (DuckDB's preserve_insertion_order)
    con = scratch()
    try:
        con.register("raw", _with_trimmed(registered, raw, sorted(used)))
        typed_table = con.sql(query).arrow().read_all()
    finally:
        con.close()
    order = [
        *entity.field_names,
        *(f"id_{t}" for t in IDENTIFIER_TYPES),
        "channel",
        "source_file",
        "source_row",
        "file_day",
        "day_offset",
        "parse_errors",
    ]
    columns = [plain[n] if n in plain else typed_table[n] for n in order]
    return pa.table(columns, names=order)


def _typed_names(entity: Entity, plain: dict[str, pa.ChunkedArray]) -> list[str]:
    """The columns the DuckDB query returns (everything not computed in Arrow)."""
    names = [*entity.field_names, *(f"id_{t}" for t in IDENTIFIER_TYPES)]
    names += ["channel", "source_row", "file_day"]
    return [_ident(n) for n in names if n not in plain]


def _arrow_text(raw: pa.Table, spec: ColumnSpec) -> pa.ChunkedArray:
    """Trimmed text (Unicode whitespace, like str.strip()), '' → null, then the default."""
    text = pc.utf8_trim_whitespace(raw[spec.column])
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
    if spec.default is not None:
        text = pc.fill_null(text, str(spec.default))
    return text


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: object) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _default(field: CanonicalField, raw: pa.Table) -> str:
    if field.name == "line_no":
        if "_item_no" in raw.column_names:
            return "coalesce(try_cast(try_cast(_item_no AS DOUBLE) AS BIGINT), 1)"
        return "1::BIGINT"
    return f"NULL::{_SQL_TYPES.get(field.type, 'VARCHAR')}"


def _with_trimmed(table: pa.Table, raw: pa.Table, columns: list[str]) -> pa.Table:
    """Add raw's columns with Unicode whitespace trimmed (like str.strip()); Arrow does this
    several times faster than DuckDB's trim, and the raw text stays for messages."""
    for column in columns:
        table = table.append_column(_TRIMMED + column, pc.utf8_trim_whitespace(raw[column]))
    return table


def _text(spec: ColumnSpec) -> str:
    """Trimmed text, '' → null, then the mapping's default."""
    if spec.const is not None:
        return f"{_lit(spec.const)}::VARCHAR"
    value = f"nullif({_ident(_TRIMMED + spec.column)}, '')"
    if spec.default is not None:
        value = f"coalesce({value}, {_lit(spec.default)})"
    return value


def _case_map(expr: str, table: dict[str, str], else_: str, typ: str = "VARCHAR") -> str:
    if not table:
        return else_
    whens = " ".join(f"WHEN {_lit(k)} THEN {v}" for k, v in table.items())
    return f"(CASE {expr} {whens} ELSE {else_} END)::{typ}"


def _convert(
    field: CanonicalField,
    spec: ColumnSpec,
    text: str,
    source_tz: ZoneInfo,
    business_tz: ZoneInfo,
    parsed: dict[str, str],
) -> tuple[str, bool]:
    """(SQL for the typed value of the trimmed `text` column, whether it can fail to parse).

    Intermediate columns the value refers to are added to `parsed` (name → SQL over texts).
    """
    if field.type in ("string", "enum"):
        if spec.values:
            table = {str(k): _lit(v) for k, v in spec.values.items()}
            return _case_map(text, table, text), False  # unknown codes stay for the in-set check
        if field.type == "enum":
            return f"lower({text})", False
        return text, False
    if field.type in ("int", "decimal"):
        number = f"try_cast({text} AS DOUBLE)"
        if field.type == "int":
            whole = f"CASE WHEN {number} = floor({number}) THEN try_cast({number} AS BIGINT) END"
            return whole, True
        factor = AMOUNT_UNITS[spec.unit or "yuan"]
        value = f"round({number} * {factor!r}, 4)" if factor != 1 else number
        return value, True
    if field.type == "bool":
        if spec.values:
            table = {str(k).lower(): "true" if v else "false" for k, v in spec.values.items()}
        else:
            table = {
                **dict.fromkeys(TRUE_WORDS, "true"),
                **dict.fromkeys(FALSE_WORDS, "false"),
            }
        return _case_map(f"lower({text})", table, "NULL", "BOOLEAN"), True
    if field.type == "date":
        return f"try_strptime({text}, {_lit(spec.format or '%Y-%m-%d')})::DATE", True
    return _timestamp(text, spec.format or "iso8601", source_tz, business_tz, parsed), True


def _timestamp(
    text: str, fmt: str, source_tz: ZoneInfo, business_tz: ZoneInfo, parsed: dict[str, str]
) -> str:
    """Naive timestamps in the business time zone (the zone of every partition).

    Instants are carried as naive UTC timestamps; the parse itself is an intermediate column.
    """

    def step(suffix: str, expr: str) -> str:
        name = _ident(text.strip('"') + suffix)
        parsed[name] = expr
        return name

    if fmt in ("epoch_ms", "epoch_s"):
        micros = 1000 if fmt == "epoch_ms" else 1_000_000
        number = f"try_cast({text} AS DOUBLE)"
        utc = step("_utc", f"try(make_timestamp(round({number} * {micros})::BIGINT))")
        return _from_utc(utc, business_tz)
    if fmt == "iso8601":
        has_offset = step("_has_offset", f"regexp_matches({text}, {_lit(_OFFSET)})")
        utc = step("_utc", f"make_timestamp(epoch_us(try_cast({text} AS TIMESTAMPTZ)))")
        local = step(
            "_local", f"coalesce(try_cast({text} AS TIMESTAMP), try_strptime({text}, '%Y%m%d'))"
        )
        return (
            f"CASE WHEN {has_offset} THEN {_from_utc(utc, business_tz)} "
            f"ELSE {_between_zones(local, source_tz, business_tz)} END"
        )
    if "%z" in fmt or "%Z" in fmt:
        utc = step("_utc", f"make_timestamp(epoch_us(try_strptime({text}, {_lit(fmt)})))")
        return _from_utc(utc, business_tz)
    local = step("_local", f"try_strptime({text}, {_lit(fmt)})")
    return _between_zones(local, source_tz, business_tz)


# Within these years a zone without clock changes is a fixed offset: plain arithmetic instead
# of a time zone library call per value (several times faster); other values take the library.
_FIXED_FROM, _FIXED_TO = "2001-01-01", "2037-01-01"


def _fixed_offset(tz: ZoneInfo) -> int | None:
    """The zone's UTC offset in seconds if it was the same all through 2000–2037."""
    offsets = {
        datetime(year, month, day, tzinfo=tz).utcoffset()
        for year in range(2000, 2038)
        for month in range(1, 13)
        for day in (1, 15)
    }
    if len(offsets) != 1:
        return None
    (offset,) = offsets
    return int(offset.total_seconds()) if offset is not None else None


def _in_fixed_years(ts: str) -> str:
    return f"{ts} >= TIMESTAMP '{_FIXED_FROM}' AND {ts} < TIMESTAMP '{_FIXED_TO}'"


def _from_utc(utc: str, tz: ZoneInfo) -> str:
    """Naive UTC → naive wall-clock time in `tz`."""
    library = f"timezone({_lit(tz.key)}, timezone('UTC', {utc}))"
    offset = _fixed_offset(tz)
    if offset is None:
        return library
    return f"CASE WHEN {_in_fixed_years(utc)} THEN {utc} + INTERVAL ({offset}) SECOND ELSE {library} END"


def _between_zones(naive: str, source_tz: ZoneInfo, business_tz: ZoneInfo) -> str:
    """Wall-clock time in `source_tz` → wall-clock time in `business_tz`."""
    src, dst = _fixed_offset(source_tz), _fixed_offset(business_tz)
    library = _from_utc(f"make_timestamp(epoch_us({_localize(naive, source_tz)}))", business_tz)
    if src is None or dst is None:
        return library
    shifted = naive if src == dst else f"{naive} + INTERVAL ({dst - src}) SECOND"
    return f"CASE WHEN {_in_fixed_years(naive)} THEN {shifted} ELSE {library} END"


def _localize(naive: str, tz: ZoneInfo) -> str:
    """Wall-clock time in `tz` → instant; times a clock change skips or repeats → null."""
    aware = f"timezone({_lit(tz.key)}, {naive})"
    back = f"timezone({_lit(tz.key)}, {aware}"
    unique = (
        f"{back}) = {naive} AND {back} + INTERVAL 1 HOUR) <> {naive} "
        f"AND {back} - INTERVAL 1 HOUR) <> {naive}"
    )
    return f"CASE WHEN {unique} THEN {aware} END"


def _parse_reason(field: CanonicalField, spec: ColumnSpec) -> str:
    expected = {
        "int": "a whole number",
        "decimal": "a number",
        "bool": "one of " + ", ".join(sorted(map(str, spec.values or {"Y": 1, "N": 0}))),
        "date": f"a date like {spec.format or '%Y-%m-%d'}",
        "timestamp": f"a timestamp ({spec.format})",
    }[field.type]
    raw_value = _ident(_RAW + spec.column) if spec.column is not None else _lit(spec.const)
    prefix = f"{field.name}: cannot parse column '{spec.column}' value '"
    suffix = f"' as {expected}"
    return f"{_lit(prefix)} || {raw_value} || {_lit(suffix)}"
