"""`config/tier_policy.yaml`: which tiers exist, in which priority, and the rule for each."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

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
    return parsed


def load_policy(config_dir: Path) -> TierPolicy:
    return load_model(TierPolicy, config_dir / "tier_policy.yaml")
