"""`config/tier_policy.yaml`: which tiers exist, in which priority, and the rule for each."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from sqlglot import exp

from tierops.lib.configfile import ConfigError, StrictModel, load_model
from tierops.tiering import expressions

TIER_CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class Tier(StrictModel):
    code: str
    name_zh: str
    name_en: str
    rule: str | None = Field(
        None, description="Expression over feature columns; omit only for the fallback tier"
    )
    description: str = ""

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        if not TIER_CODE.match(value):
            raise ValueError("expected a lower_snake_case code such as high_value")
        return value


class ThresholdAdjustment(StrictModel):
    """A business adjustment on top of a calibrated cut point; recorded with every tier it moves."""

    cut: str = Field(description="The cut point as written in rules, e.g. p90(monetary_365d)")
    set_to: float | None = None
    multiply: float | None = None
    add: float | None = None
    reason: str = Field(min_length=3)
    until: date | None = Field(None, description="Last day the adjustment applies (inclusive)")

    @model_validator(mode="after")
    def _one_change(self) -> ThresholdAdjustment:
        given = [k for k in ("set_to", "multiply", "add") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"expected exactly one of set_to, multiply, add; got {', '.join(given) or 'none'}"
            )
        return self

    def apply(self, value: float | None) -> float | None:
        if self.set_to is not None:
            return self.set_to
        if value is None:
            return None
        return value * self.multiply if self.multiply is not None else value + (self.add or 0.0)

    def describe(self) -> str:
        change = (
            f"set to {self.set_to:g}"
            if self.set_to is not None
            else f"x{self.multiply:g}"
            if self.multiply is not None
            else f"{self.add:+g}"
        )
        until = f" until {self.until}" if self.until else ""
        return f"{change}{until}: {self.reason}"


class TierPolicy(StrictModel):
    version: str = Field(min_length=1)
    industry: Literal["retail", "saas", "content", "services"] = "retail"
    assignment: Literal["priority", "overlapping"] = "priority"
    population: str = Field(
        "orders_total > 0 or is_member = 1", description="Who receives a tier at all"
    )
    quantile_population: str = Field(
        "orders_365d > 0", description="Whose values define pNN(...) cut points"
    )
    tiers: list[Tier] = Field(min_length=1)
    fallback: str
    threshold_adjustments: list[ThresholdAdjustment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _structure(self) -> TierPolicy:
        seen: dict[str, int] = {}
        for i, tier in enumerate(self.tiers):
            if tier.code in seen:
                raise ValueError(
                    f"tiers[{i}].code: duplicate tier code {tier.code!r} (also tiers[{seen[tier.code]}])"
                )
            seen[tier.code] = i
        if self.fallback not in seen:
            raise ValueError(
                f"fallback: {self.fallback!r} is not a tier code; expected one of {', '.join(seen)}"
            )
        for i, tier in enumerate(self.tiers):
            if tier.rule is None and tier.code != self.fallback:
                raise ValueError(f"tiers[{i}].rule: required for every tier except the fallback")
        return self

    def tier(self, code: str) -> Tier:
        return next(t for t in self.tiers if t.code == code)


def check_expressions(
    policy: TierPolicy, columns: set[str], file: Path | str
) -> dict[str, expressions.Expression]:
    """Parse every expression against the feature columns; errors name the key and position."""
    parsed: dict[str, expressions.Expression] = {}
    targets = [
        ("population", policy.population, False),
        ("quantile_population", policy.quantile_population, False),
    ]
    targets += [(f"tiers[{i}].rule", t.rule, True) for i, t in enumerate(policy.tiers) if t.rule]
    for key, text, allow_q in targets:
        try:
            parsed[key] = expressions.parse(text, columns, allow_quantiles=allow_q)
        except expressions.ExpressionError as exc:
            raise ConfigError(file, key, str(exc)) from None
    used = {q for e in parsed.values() for q in e.quantiles}
    for i, adj in enumerate(policy.threshold_adjustments):
        key = f"threshold_adjustments[{i}].cut"
        try:
            cut = expressions.parse(adj.cut, columns)
        except expressions.ExpressionError as exc:
            raise ConfigError(file, key, str(exc)) from None
        ref = next(iter(cut.quantiles), None)
        if ref is None or cut.columns or not isinstance(cut.tree, (exp.Anonymous, exp.Quantile)):
            raise ConfigError(
                file, key, f"expected one cut point such as p90(monetary_365d), got {adj.cut!r}"
            )
        if ref not in used:
            labels = ", ".join(sorted(q.label for q in used)) or "none"
            raise ConfigError(
                file, key, f"{ref.label} is not used by any rule; expected one of: {labels}"
            )
        parsed[key] = cut
    return parsed


def adjustments_by_cut(
    policy: TierPolicy, parsed: dict[str, expressions.Expression]
) -> dict[str, ThresholdAdjustment]:
    """Adjustment per cut-point name (QuantileRef.name)."""
    out = {}
    for i, adj in enumerate(policy.threshold_adjustments):
        ref = next(iter(parsed[f"threshold_adjustments[{i}].cut"].quantiles))
        out[ref.name] = adj
    return out


def load_policy(config_dir: Path) -> TierPolicy:
    return load_model(TierPolicy, config_dir / "tier_policy.yaml")
