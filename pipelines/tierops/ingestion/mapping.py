"""Channel mapping files (`config/channels/*.yaml`): how one source feed lands on the contract.

Adding a channel means adding one of these files; the Dagster assets, lineage, validation and dbt
sources all follow from it.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from tierops.ingestion.schema import ENTITIES, IDENTIFIER_TYPES, Entity
from tierops.lib.configfile import ConfigError, StrictModel, load_model

AMOUNT_UNITS = {"yuan": 1.0, "jiao": 0.1, "fen": 0.01, "cent": 0.01, "unit": 1.0}
TIMESTAMP_FORMATS = ("iso8601", "epoch_ms", "epoch_s")
FEED_NAME = re.compile(r"^[a-z][a-z0-9_]{1,40}$")


class ColumnSpec(StrictModel):
    """Where a canonical field comes from and how to read it."""

    column: str | None = None
    const: str | int | float | bool | None = None
    format: str | None = None
    unit: str | None = None
    values: dict[str, str | bool] | None = None
    default: str | int | float | bool | None = None

    @model_validator(mode="after")
    def _one_source(self) -> ColumnSpec:
        if (self.column is None) == (self.const is None):
            raise ValueError("expected exactly one of `column` (a source column) or `const`")
        return self

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, value: str | None) -> str | None:
        if value is not None and value not in AMOUNT_UNITS:
            raise ValueError(f"expected one of {sorted(AMOUNT_UNITS)}, got {value!r}")
        return value


def _as_spec(value: Any) -> Any:
    return {"column": value} if isinstance(value, str) else value


class SourceSpec(StrictModel):
    format: Literal["csv", "jsonl", "parquet", "sql"]
    path: str | None = Field(
        None,
        description="File pattern relative to the landing folder, e.g. web/orders_{date:%Y%m%d}.csv",
    )
    encoding: str = "utf-8"
    delimiter: str = ","
    explode: str | None = Field(
        None, description="JSON array field holding one record per line item"
    )
    url_env: str | None = Field(None, description="Environment variable with a SQLAlchemy URL")
    query: str | None = Field(None, description="SQL with :start and :end (exclusive) parameters")
    missing: Literal["error", "empty"] = "error"

    @model_validator(mode="after")
    def _shape(self) -> SourceSpec:
        if self.format == "sql":
            if not self.url_env or not self.query:
                raise ValueError("a sql source needs `url_env` and `query`")
            if ":start" not in self.query or ":end" not in self.query:
                raise ValueError("the query must filter on :start and :end (end exclusive)")
        else:
            if not self.path or "{date" not in self.path:
                raise ValueError("a file source needs `path` containing a {date:...} placeholder")
        if self.explode and self.format != "jsonl":
            raise ValueError("`explode` only applies to jsonl sources")
        try:
            "x".encode(self.encoding)
        except LookupError as exc:
            raise ValueError(f"unknown encoding {self.encoding!r}") from exc
        return self

    def file_for(self, day: date) -> str:
        assert self.path is not None
        return self.path.format(date=day)


class QualitySpec(StrictModel):
    max_quarantine_share: float = Field(0.01, ge=0, le=1)
    severity: Literal["warn", "error"] = "warn"


class FeedMapping(StrictModel):
    feed: str
    title: str = ""
    entity: Literal["order_lines", "events", "members", "subscriptions"]
    channel: str
    source: SourceSpec
    timezone: str | None = None
    fields: dict[str, ColumnSpec]
    identifiers: dict[str, ColumnSpec]
    quality: QualitySpec = QualitySpec()

    @field_validator("feed")
    @classmethod
    def _feed_name(cls, value: str) -> str:
        if not FEED_NAME.match(value):
            raise ValueError("expected lower_snake_case, 2–41 characters, starting with a letter")
        return value

    @field_validator("fields", "identifiers", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: _as_spec(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _against_contract(self) -> FeedMapping:
        entity = ENTITIES[self.entity]
        for name, spec in self.fields.items():
            if name not in entity.field_names:
                raise ValueError(
                    f"fields.{name}: not a field of {self.entity}; expected one of "
                    f"{', '.join(entity.field_names)}"
                )
            _check_spec(entity, name, spec)
        missing = [f.name for f in entity.fields if f.required and f.name not in self.fields]
        if missing:
            raise ValueError(
                f"fields: required canonical field(s) not mapped: {', '.join(missing)}"
            )
        if not self.identifiers:
            raise ValueError("identifiers: map at least one customer identifier")
        for name in self.identifiers:
            if name not in IDENTIFIER_TYPES:
                raise ValueError(
                    f"identifiers.{name}: unknown identifier type; expected one of "
                    f"{', '.join(IDENTIFIER_TYPES)}"
                )
        return self

    @property
    def entity_def(self) -> Entity:
        return ENTITIES[self.entity]

    def source_columns(self) -> list[str]:
        specs = [*self.fields.values(), *self.identifiers.values()]
        return sorted({s.column for s in specs if s.column is not None})


def _check_spec(entity: Entity, name: str, spec: ColumnSpec) -> None:
    field = entity.field(name)
    if spec.unit and field.type != "decimal":
        raise ValueError(f"fields.{name}: `unit` only applies to amounts (decimal fields)")
    if field.type == "timestamp" and spec.format is None and spec.column is not None:
        raise ValueError(
            f"fields.{name}: timestamps need `format`: one of {', '.join(TIMESTAMP_FORMATS)} "
            "or a strftime pattern such as %Y/%m/%d %H:%M:%S"
        )
    if field.type == "enum" and spec.values:
        bad = sorted({str(v) for v in spec.values.values()} - set(field.choices))
        if bad:
            raise ValueError(
                f"fields.{name}.values: {', '.join(bad)} not allowed; expected values in "
                f"{', '.join(field.choices)}"
            )


def load_mappings(config_dir: Path) -> list[FeedMapping]:
    """Every `config/channels/*.yaml`, validated; feed names must be unique."""
    folder = config_dir / "channels"
    files = sorted(folder.glob("*.yaml")) + sorted(folder.glob("*.yml"))
    if not files:
        raise ConfigError(folder, "", "no channel mapping files (*.yaml) found")
    mappings: list[FeedMapping] = []
    seen: dict[str, Path] = {}
    for path in files:
        mapping = load_model(FeedMapping, path)
        if mapping.feed in seen:
            raise ConfigError(
                path, "feed", f"duplicate feed name {mapping.feed!r}, also in {seen[mapping.feed]}"
            )
        seen[mapping.feed] = path
        mappings.append(mapping)
    return mappings
