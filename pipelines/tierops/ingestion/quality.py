"""Great Expectations suites (`expectations/<entity>.json`) applied to canonical rows.

GX decides which rows break a rule; this module turns its verdicts into one readable reason per
row, so a quarantined row says what was wrong, in which source column, with which value.
GX is imported lazily: it costs seconds and only ingestion steps need it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from tierops.ingestion.mapping import FeedMapping
from tierops.settings import EXPECTATIONS_DIR


@dataclass
class ValidationOutcome:
    """Reasons of the rows to quarantine (indexed by row position), per-expectation counts."""

    rows: int
    reasons: pd.Series
    failures: dict[str, int] = field(default_factory=dict)
    suite: str = ""

    @property
    def bad_mask(self) -> np.ndarray:
        mask = np.zeros(self.rows, dtype=bool)
        mask[self.reasons.index.to_numpy(dtype=np.int64)] = True
        return mask


def load_suite_spec(entity: str, folder: Path = EXPECTATIONS_DIR) -> dict[str, Any]:
    path = folder / f"{entity}.json"
    if not path.is_file():
        raise FileNotFoundError(f"expectation suite {path} not found for entity {entity!r}")
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


@cache
def _validation_definition(entity: str, folder: str):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig
    from great_expectations.execution_engine import pandas_execution_engine

    # GX fingerprints every in-memory batch under 1 GB by hashing all its values (md5 over
    # pandas' row hashes), only to label the batch in the result. On a million-row batch that
    # costs more than the expectations themselves; the batch is ours and never looked up by
    # fingerprint, so the marker is skipped.
    if hasattr(pandas_execution_engine, "HASH_THRESHOLD"):
        pandas_execution_engine.HASH_THRESHOLD = 0
    spec = load_suite_spec(entity, Path(folder))
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas(f"lake_{entity}")
        .add_dataframe_asset(entity)
        .add_batch_definition_whole_dataframe("rows")
    )
    suite = context.suites.add(gx.ExpectationSuite(**spec))
    return context.validation_definitions.add(
        gx.ValidationDefinition(data=batch, suite=suite, name=f"{entity}_rows")
    )


@cache
def suite_columns(entity: str, folder: str) -> tuple[str, ...] | None:
    """The columns the suite's expectations read; None if one looks at the whole table."""
    names: set[str] = set()
    for exp in load_suite_spec(entity, Path(folder)).get("expectations", []):
        kwargs = exp.get("kwargs", {})
        found = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
        found += list(kwargs.get("column_list", []))
        if not found:
            return None
        names.update(found)
    return tuple(sorted(names))


def validate(
    table: pa.Table, mapping: FeedMapping, folder: Path = EXPECTATIONS_DIR
) -> ValidationOutcome:
    """Run the entity's suite over canonical rows (from normalize(): with `parse_errors`)."""
    columns = suite_columns(mapping.entity, str(folder))
    names = [c for c in table.column_names if c != "parse_errors"] if columns is None else columns
    # only the columns the suite reads: GX copies and scans what it is given
    # plain numpy dtypes (integers with nulls become float64): GX compares those vectorised,
    # nullable extension dtypes one Python call per value
    checked = table.select(list(names)).to_pandas()
    errors = table["parse_errors"]
    failed = pc.indices_nonzero(pc.is_valid(errors)).to_numpy()
    reasons = pd.Series(
        errors.take(failed).to_numpy(zero_copy_only=False), index=failed, dtype="str"
    )
    if table.num_rows == 0:
        return ValidationOutcome(rows=0, reasons=reasons, suite=mapping.entity)
    definition = _validation_definition(mapping.entity, str(folder))
    result = definition.run(
        batch_parameters={"dataframe": checked}, result_format={"result_format": "COMPLETE"}
    )
    failures: dict[str, int] = {}
    for res in result.results:
        if res.success:
            continue
        config = res.expectation_config
        index = res.result.get("unexpected_index_list") or []
        if not index:
            raise RuntimeError(
                f"suite {mapping.entity}: {config.type} failed without row-level result"
            )
        rows = pd.Index(index)
        label = (config.meta or {}).get("reason") or config.type
        failures[label] = failures.get(label, 0) + len(rows)
        text = _row_reasons(table, reasons, rows, config.type, config.kwargs, label, mapping)
        keep = text != ""
        reasons = _append(reasons, rows[keep.to_numpy()], text[keep])
    return ValidationOutcome(
        rows=table.num_rows, reasons=reasons.sort_index(), failures=failures, suite=mapping.entity
    )


def _row_reasons(
    table: pa.Table,
    reasons: pd.Series,
    rows: pd.Index,
    kind: str,
    kwargs: dict,
    label: str,
    mapping: FeedMapping,
) -> pd.Series:
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    sources = ", ".join(f"'{_source_of(mapping, c)}'" for c in columns)
    picked = pa.array(rows.to_numpy(dtype=np.int64))
    shown = [[_show(v) for v in table[col].take(picked).to_pylist()] for col in columns]
    values = pd.Series([" / ".join(parts) for parts in zip(*shown, strict=True)], index=rows)
    text = f"{label}: {'/'.join(columns)} = " + values + f" (source column {sources})"
    if kind == "expect_column_values_to_not_be_null":
        # a value that failed to parse already has a better reason than "empty"
        parsed_badly = (
            reasons.reindex(rows)
            .fillna("")
            .str.contains(f"{columns[0]}: cannot parse", regex=False)
        )
        text = text.mask(parsed_badly.to_numpy(), "")
        text = text.where(text == "", f"{label} (source column {sources})")
    return text


def _show(value: Any) -> str:
    return "(empty)" if value is None else str(value)


def _source_of(mapping: FeedMapping, canonical: str) -> str:
    if canonical == "day_offset":
        canonical = mapping.entity_def.event_time
    spec = mapping.fields.get(canonical)
    if spec is None:
        return "derived"
    return spec.column or "const"


def _append(reasons: pd.Series, rows: pd.Index, text: pd.Series) -> pd.Series:
    """Add `text` to the reasons of `rows` (a row's first reason, or after '; ')."""
    if len(rows) == 0:
        return reasons
    current = reasons.reindex(rows).fillna("").to_numpy()
    added = text.to_numpy()
    joined = np.where(current == "", added, current + "; " + added)
    merged = pd.Series(joined, index=rows, dtype="str")
    return pd.concat([reasons.drop(rows.intersection(reasons.index)), merged])
