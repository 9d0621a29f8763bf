"""`config/segments.yaml`: dated segments with rules in the tier-rule language."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from pydantic import Field, model_validator

from tierops.lib.configfile import ConfigError, StrictModel, load_model
from tierops.tiering import expressions

CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class Segment(StrictModel):
    code: str = Field(pattern=CODE.pattern)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    rule: str = Field(min_length=1)
    tiers: list[str] | None = None
    valid_from: date
    valid_to: date

    @model_validator(mode="after")
    def _dates(self) -> Segment:
        if self.valid_to < self.valid_from:
            raise ValueError(f"valid_to: {self.valid_to} is before valid_from {self.valid_from}")
        return self

    def active_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to


class SegmentsConfig(StrictModel):
    segments: list[Segment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique(self) -> SegmentsConfig:
        seen: dict[str, int] = {}
        for i, s in enumerate(self.segments):
            if s.code in seen:
                raise ValueError(
                    f"segments[{i}].code: duplicate segment {s.code!r} (also segments[{seen[s.code]}])"
                )
            seen[s.code] = i
        return self


def check_segments(
    config: SegmentsConfig,
    tier_codes: list[str],
    columns: set[str],
    file: Path | str,
    unavailable: frozenset[str] | set[str] = frozenset(),
) -> dict[str, expressions.Expression]:
    """Parse every rule against the features and check tier codes; returns code → rule.
    A rule using a feature no configured feed supplies (`unavailable`) is an error."""
    parsed = {}
    for i, segment in enumerate(config.segments):
        for tier in segment.tiers or []:
            if tier not in tier_codes:
                raise ConfigError(
                    file,
                    f"segments[{i}].tiers",
                    f"unknown tier {tier!r}; expected one of the policy's tiers: "
                    f"{', '.join(tier_codes)}",
                )
        try:
            parsed[segment.code] = expressions.parse(segment.rule, columns, allow_quantiles=False)
        except expressions.ExpressionError as exc:
            raise ConfigError(file, f"segments[{i}].rule", str(exc)) from None
        missing = sorted(parsed[segment.code].columns & set(unavailable))
        if missing:
            raise ConfigError(
                file,
                f"segments[{i}].rule",
                f"uses {', '.join(missing)}, which no configured feed supplies (see "
                "config/channels/); expected an expression over the available features",
            )
    return parsed


def load_segments(config_dir: Path) -> SegmentsConfig:
    path = config_dir / "segments.yaml"
    return load_model(SegmentsConfig, path) if path.exists() else SegmentsConfig()
