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
from tierops.ingestion.schema import IDENTIFIER_TYPES, CanonicalField

TRUE_WORDS = frozenset({"y", "yes", "true", "t", "1", "是"})
FALSE_WORDS = frozenset({"n", "no", "false", "f", "0", "否"})
# an explicit UTC offset at the end of an ISO 8601 text (RE2 syntax)
_OFFSET = r"(Z|[+-]\d{2}:?\d{2})$"
# what Python's str.strip() removes in practice (incl. the ideographic space of CJK exports)
_TRIMMED = "_trimmed:"  # prefix of the trimmed copies of the source columns
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
    # steps so each expression is computed once per row (DuckDB does not share repeated
    # subexpressions): texts, parsed intermediates, typed values, then the parse errors
    texts: dict[str, str] = {}
    parsed: dict[str, str] = {}
    typed: list[str] = []
    errors: list[str] = []
    for field in entity.fields:
        spec = mapping.fields.get(field.name)
        name = _ident(field.name)
        if spec is None:
            typed.append(f"{_default(field, raw)} AS {name}")
            continue
        text = _ident(f"_t_{field.name}")
        texts[text] = _text(spec)
        value, checked = _convert(field, spec, text, source_tz, business_tz, parsed)
        typed.append(f"{value} AS {name}")
        if checked:
            errors.append(
                f"CASE WHEN {text} IS NOT NULL AND {name} IS NULL "
                f"THEN {_parse_reason(field, spec)} END"
            )
    for id_type in IDENTIFIER_TYPES:
        spec = mapping.identifiers.get(id_type)
        typed.append(f"{_text(spec) if spec else 'NULL::VARCHAR'} AS id_{id_type}")
    raw_cols = sorted({_ident(s.column) for s in mapping.fields.values() if s.column is not None})
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
                   _source_file AS source_file,
                   source_row::BIGINT AS source_row,
                   _file_day AS file_day,
                   {", ".join([*texts, *raw_cols]) or "1 AS _none"}
            FROM parsed
        )
        SELECT {", ".join(_ident(n) for n in entity.field_names)},
               {", ".join(f"id_{t}" for t in IDENTIFIER_TYPES)},
               channel, source_file, source_row, file_day,
               date_diff('day', file_day, {event_time}::DATE) AS day_offset,
               {parse_errors}::VARCHAR AS parse_errors
        FROM typed
    """
    # a projection without ORDER BY keeps the input order (DuckDB's preserve_insertion_order)
    con = scratch()
    try:
        con.register("raw", _with_trimmed(raw, mapping))
        return con.sql(query).arrow().read_all()
    finally:
        con.close()


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


def _with_trimmed(raw: pa.Table, mapping: FeedMapping) -> pa.Table:
    """Add each mapped column with Unicode whitespace trimmed (like str.strip()); Arrow does
    this several times faster than DuckDB's trim, and the raw text stays for messages."""
    for column in mapping.source_columns():
        trimmed = pc.utf8_trim_whitespace(raw[column])
        raw = raw.append_column(_TRIMMED + column, trimmed)
    return raw


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
    raw_value = _ident(spec.column) if spec.column is not None else _lit(spec.const)
    prefix = f"{field.name}: cannot parse column '{spec.column}' value '"
    suffix = f"' as {expected}"
    return f"{_lit(prefix)} || {raw_value} || {_lit(suffix)}"
