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

from tierops.ingestion.mapping import FeedMapping
from tierops.settings import EXPECTATIONS_DIR


@dataclass
class ValidationOutcome:
    """Per-row reasons ('' = valid) and per-expectation counts for metadata and checks."""

    reasons: pd.Series
    failures: dict[str, int] = field(default_factory=dict)
    suite: str = ""

    @property
    def bad_mask(self) -> pd.Series:
        return self.reasons != ""


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


def validate(
    frame: pd.DataFrame, mapping: FeedMapping, folder: Path = EXPECTATIONS_DIR
) -> ValidationOutcome:
    """Run the entity's suite over canonical rows (index must be unique)."""
    reasons = frame["parse_errors"].astype("str").copy()
    if frame.empty:
        return ValidationOutcome(reasons=reasons, suite=mapping.entity)
    checked = frame.drop(columns=["parse_errors"])
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
        text = _row_reasons(frame, rows, config.type, config.kwargs, label, mapping)
        keep = text != ""
        reasons = _append(reasons, rows[keep.to_numpy()], text[keep])
    return ValidationOutcome(reasons=reasons, failures=failures, suite=mapping.entity)


def _row_reasons(
    frame: pd.DataFrame, rows: pd.Index, kind: str, kwargs: dict, label: str, mapping: FeedMapping
) -> pd.Series:
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
    sources = ", ".join(f"'{_source_of(mapping, c)}'" for c in columns)
    values = frame.loc[rows, columns[0]].map(_show)
    for col in columns[1:]:
        values = values + " / " + frame.loc[rows, col].map(_show)
    text = f"{label}: {'/'.join(columns)} = " + values + f" (source column {sources})"
    if kind == "expect_column_values_to_not_be_null":
        # a value that failed to parse already has a better reason than "empty"
        parsed_badly = frame.loc[rows, "parse_errors"].str.contains(
            f"{columns[0]}: cannot parse", regex=False
        )
        text = text.mask(parsed_badly.to_numpy(), "")
        text = text.where(text == "", f"{label} (source column {sources})")
    return text


def _show(value: Any) -> str:
    return "(empty)" if pd.isna(value) else str(value)


def _source_of(mapping: FeedMapping, canonical: str) -> str:
    if canonical == "day_offset":
        canonical = mapping.entity_def.event_time
    spec = mapping.fields.get(canonical)
    if spec is None:
        return "derived"
    return spec.column or "const"


def _append(reasons: pd.Series, rows: pd.Index, text: pd.Series) -> pd.Series:
    if len(rows) == 0:
        return reasons
    current = reasons.loc[rows].to_numpy()
    joined = np.where(current == "", text.to_numpy(), current + "; " + text.to_numpy())
    reasons = reasons.copy()
    reasons.loc[rows] = joined
    return reasons
