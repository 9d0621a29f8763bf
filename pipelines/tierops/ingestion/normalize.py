"""Raw text columns → canonical typed columns, following one feed mapping.

Vectorised pandas per file. A value that is present but cannot be parsed becomes null here and a
reason naming the source column and the raw text; the quality step quarantines that row.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa

from tierops.ingestion.mapping import AMOUNT_UNITS, ColumnSpec, FeedMapping
from tierops.ingestion.readers import RawBatch
from tierops.ingestion.schema import IDENTIFIER_TYPES, CanonicalField

TRUE_WORDS = frozenset({"y", "yes", "true", "t", "1", "是"})
FALSE_WORDS = frozenset({"n", "no", "false", "f", "0", "否"})
_OFFSET = r"(?:Z|[+-]\d{2}:?\d{2})$"


def combine(batches: list[RawBatch]) -> pd.DataFrame:
    """Stack the raw tables of several files (one per day) so they are normalised in one pass."""
    tables = [
        b.table.append_column(
            "_source_file", pa.array([b.source] * b.rows, pa.string())
        ).append_column("_file_day", pa.array([b.day] * b.rows, pa.date32()))
        for b in batches
    ]
    table = pa.concat_tables(tables, promote_options="default")
    raw = table.to_pandas()
    raw["_file_day"] = pd.to_datetime(raw["_file_day"]).astype("datetime64[us]")
    text_cols = [c for c in raw.columns if c not in ("source_row", "_file_day")]
    raw[text_cols] = raw[text_cols].fillna("").astype("str")
    return raw


def normalize(raw: pd.DataFrame, mapping: FeedMapping, business_tz: ZoneInfo) -> pd.DataFrame:
    """Canonical frame with a `parse_errors` column ('' when the row parsed cleanly).

    `raw` comes from combine(): text columns plus source_row, _source_file and _file_day.
    """
    source_tz = ZoneInfo(mapping.timezone) if mapping.timezone else business_tz
    out = pd.DataFrame(index=raw.index)
    errors = pd.Series("", index=raw.index, dtype="str")
    for field in mapping.entity_def.fields:
        spec = mapping.fields.get(field.name)
        if spec is None:
            out[field.name] = _default_column(field, raw)
            continue
        values, bad = _convert(raw, field, spec, source_tz, business_tz)
        out[field.name] = values
        if bad.any():
            errors = _append(errors, bad, _parse_reason(raw, field, spec, bad))
    for id_type in IDENTIFIER_TYPES:
        spec = mapping.identifiers.get(id_type)
        out[f"id_{id_type}"] = (
            _text(raw, spec) if spec else pd.Series(None, index=raw.index, dtype="str")
        )
    out["channel"] = mapping.channel
    out["source_file"] = raw["_source_file"]
    out["source_row"] = raw["source_row"].astype("int64")
    out["file_day"] = raw["_file_day"]
    event_time = out[mapping.entity_def.event_time]
    out["day_offset"] = (event_time.dt.normalize() - raw["_file_day"]).dt.days
    out["parse_errors"] = errors
    return out


def _default_column(field: CanonicalField, raw: pd.DataFrame) -> pd.Series:
    if field.name == "line_no":
        if "_item_no" in raw:
            return pd.to_numeric(raw["_item_no"], errors="coerce").fillna(1).astype("Int64")
        return pd.Series(1, index=raw.index, dtype="Int64")
    return _empty(field, raw.index)


def _empty(field: CanonicalField, index: pd.Index) -> pd.Series:
    dtype = {
        "int": "Int64",
        "decimal": "float64",
        "timestamp": "datetime64[us]",
        "date": "datetime64[us]",
        "bool": "boolean",
    }.get(field.type, "str")
    return pd.Series(pd.NA if dtype in ("Int64", "boolean") else None, index=index, dtype=dtype)


def _text(raw: pd.DataFrame, spec: ColumnSpec) -> pd.Series:
    if spec.const is not None:
        return pd.Series(str(spec.const), index=raw.index, dtype="str")
    values = raw[spec.column].astype("str").str.strip()
    values = values.mask(values == "")
    if spec.default is not None:
        values = values.fillna(str(spec.default))
    return values


def _convert(
    raw: pd.DataFrame,
    field: CanonicalField,
    spec: ColumnSpec,
    source_tz: ZoneInfo,
    business_tz: ZoneInfo,
) -> tuple[pd.Series, pd.Series]:
    """Return (typed values, mask of rows whose raw value was present but unparseable)."""
    text = _text(raw, spec)
    present = text.notna()
    if field.type in ("string", "enum"):
        values = text
        if spec.values:
            mapped = text.map({k: str(v) for k, v in spec.values.items()})
            values = mapped.fillna(text)  # unknown codes stay visible for the in-set expectation
        elif field.type == "enum":
            values = text.str.lower()
        return values.astype("str"), pd.Series(False, index=raw.index)
    if field.type in ("int", "decimal"):
        numbers = pd.to_numeric(text, errors="coerce")
        if field.type == "int":
            whole = numbers.notna() & (numbers % 1 == 0)
            values = numbers.where(whole).astype("Int64")
            return values, present & ~whole
        factor = AMOUNT_UNITS[spec.unit or "yuan"]
        values = (numbers * factor).round(4) if factor != 1 else numbers
        return values.astype("float64"), present & numbers.isna()
    if field.type == "bool":
        lowered = text.str.lower()
        if spec.values:
            table = {str(k).lower(): bool(v) for k, v in spec.values.items()}
        else:
            table = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
        values = lowered.map(table).astype("boolean")
        return values, present & values.isna()
    if field.type == "date":
        parsed = pd.to_datetime(text, format=spec.format or "%Y-%m-%d", errors="coerce")
        return parsed.astype("datetime64[us]"), present & parsed.isna()
    values = _timestamps(text, spec.format or "iso8601", source_tz, business_tz)
    return values, present & values.isna()


def _timestamps(text: pd.Series, fmt: str, source_tz: ZoneInfo, business_tz: ZoneInfo) -> pd.Series:
    """Parse to naive timestamps in the business time zone (the zone of every partition)."""
    result = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    valid = text.dropna()
    if valid.empty:
        return result
    if fmt in ("epoch_ms", "epoch_s"):
        numbers = pd.to_numeric(valid, errors="coerce")
        aware = pd.to_datetime(
            numbers, unit="ms" if fmt == "epoch_ms" else "s", utc=True, errors="coerce"
        )
    elif fmt == "iso8601":
        has_offset = valid.str.contains(_OFFSET, regex=True)
        parts = []
        if has_offset.any():
            parts.append(
                pd.to_datetime(valid[has_offset], format="ISO8601", utc=True, errors="coerce")
            )
        if (~has_offset).any():
            naive = pd.to_datetime(valid[~has_offset], format="ISO8601", errors="coerce")
            parts.append(_localize(naive, source_tz).dt.tz_convert("UTC"))
        aware = pd.concat(parts).reindex(valid.index)
    else:
        parsed = pd.to_datetime(valid, format=fmt, errors="coerce", utc="%z" in fmt)
        aware = parsed if "%z" in fmt else _localize(parsed, source_tz)
    local = aware.dt.tz_convert(business_tz).dt.tz_localize(None)
    result.loc[valid.index] = local.astype("datetime64[us]")
    return result


def _localize(naive: pd.Series, tz: ZoneInfo) -> pd.Series:
    return naive.dt.tz_localize(tz, ambiguous="NaT", nonexistent="NaT")


def _parse_reason(
    raw: pd.DataFrame, field: CanonicalField, spec: ColumnSpec, bad: pd.Series
) -> pd.Series:
    expected = {
        "int": "a whole number",
        "decimal": "a number",
        "bool": "one of " + ", ".join(sorted(map(str, spec.values or {"Y": 1, "N": 0}))),
        "date": f"a date like {spec.format or '%Y-%m-%d'}",
        "timestamp": f"a timestamp ({spec.format})",
    }[field.type]
    values = raw.loc[bad, spec.column].astype("str")
    return (
        f"{field.name}: cannot parse column '{spec.column}' value '" + values + f"' as {expected}"
    )


def _append(errors: pd.Series, mask: pd.Series, reasons: pd.Series) -> pd.Series:
    current = errors[mask]
    joined = np.where(current == "", reasons, current + "; " + reasons)
    errors = errors.copy()
    errors.loc[mask] = joined
    return errors
