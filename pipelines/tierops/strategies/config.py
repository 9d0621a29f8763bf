"""`config/strategy.yaml`: the operating plan of every tier (goal, KPIs, actions).

The schema checks the file on its own; `check_strategy` then checks it against the tier policy
(tier codes), the channel catalogue and the columns a trigger may use (the `customer_features`
contract plus the per-day event columns below), with the same expression language as tier rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tierops.lib.configfile import ConfigError, StrictModel, load_model
from tierops.strategies.channels import CHANNELS
from tierops.tiering import expressions

ACTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,59}$")
# Columns a trigger may use besides the features: events derived per day on the warehouse.
EVENT_COLUMNS: dict[str, str] = {
    "entered_tier_today": "integer",  # 1 when yesterday's tier was different (or none)
    "previous_tier_code": "varchar",  # yesterday's tier ('' when none)
    "days_since_last_contact": "integer",  # any action, any channel; null when never contacted
}


class Cadence(StrictModel):
    max_contacts: int = Field(1, ge=1, le=100, description="At most N contacts ...")
    per_days: int = Field(7, ge=1, le=365, description="... per D days, per customer and channel")
    quiet_days_after_purchase: int = Field(
        0, ge=0, le=365, description="No contact for this many days after a purchase (0: off)"
    )


class Eligibility(StrictModel):
    require_consent: bool = True
    require_contact: bool = True


class Template(StrictModel):
    id: str = Field(min_length=1, max_length=60)
    style: str = Field("", description="Tone and content notes for whoever writes the copy")


class Success(StrictModel):
    metric: Literal["purchase", "visit", "spend"]
    window_days: int = Field(ge=1, le=365)


class Kpi(StrictModel):
    code: str = Field(min_length=1)
    name_zh: str = Field(min_length=1)
    target: str = ""


class Action(StrictModel):
    id: str
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    channel: str
    trigger: str = Field(min_length=1)
    segment: str | None = Field(
        None, description="Only customers in this segment of config/segments.yaml that day"
    )
    template: Template
    cadence: Cadence | None = None
    eligibility: Eligibility | None = None
    holdout_share: float | None = Field(None, ge=0, le=0.5)
    success: Success

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if not ACTION_ID.match(value):
            raise ValueError(
                f"expected a lower_snake_case action id such as hv_care_call, got {value!r}"
            )
        return value

    @field_validator("channel")
    @classmethod
    def _channel(cls, value: str) -> str:
        if value not in CHANNELS:
            raise ValueError(f"unknown channel {value!r}; expected one of {', '.join(CHANNELS)}")
        return value


class TierPlan(StrictModel):
    goal: str = Field(min_length=1)
    kpis: list[Kpi] = Field(min_length=1, max_length=2)
    actions: list[Action] = Field(default_factory=list)


class Defaults(StrictModel):
    cadence: Cadence = Cadence()
    eligibility: Eligibility = Eligibility()
    holdout_share: float = Field(0.1, ge=0, le=0.5)


class Strategy(StrictModel):
    version: str = Field(min_length=1)
    holdout_salt: str = Field(
        min_length=1, description="Part of the holdout hash; changing it reshuffles every holdout"
    )
    defaults: Defaults = Defaults()
    tiers: dict[str, TierPlan] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_actions(self) -> Strategy:
        seen: dict[str, str] = {}
        for tier, plan in self.tiers.items():
            for i, action in enumerate(plan.actions):
                if action.id in seen:
                    raise ValueError(
                        f"tiers.{tier}.actions[{i}].id: duplicate action id {action.id!r} "
                        f"(also in tier {seen[action.id]})"
                    )
                seen[action.id] = tier
        return self


@dataclass(frozen=True)
class PlannedAction:
    """An action with the defaults applied and its trigger parsed: what the SQL is built from."""

    action: Action
    tier_code: str
    rank: int  # order within the tier: earlier actions win a channel's frequency cap
    trigger: expressions.Expression
    cadence: Cadence
    eligibility: Eligibility
    holdout_share: float

    @property
    def id(self) -> str:
        return self.action.id

    @property
    def channel(self) -> str:
        return self.action.channel


def check_strategy(
    strategy: Strategy,
    tier_codes: list[str],
    feature_columns: set[str],
    file: Path | str,
    segment_codes: list[str] | None = None,
    unavailable: frozenset[str] | set[str] = frozenset(),
) -> list[PlannedAction]:
    """Check tier codes, segments and triggers; errors name the key and what was expected.

    `unavailable`: feature columns no configured feed supplies; a trigger using one would never
    fire, so it is an error."""
    columns = feature_columns | set(EVENT_COLUMNS)
    planned: list[PlannedAction] = []
    for tier, plan in strategy.tiers.items():
        if tier not in tier_codes:
            raise ConfigError(
                file,
                f"tiers.{tier}",
                f"unknown tier {tier!r}; expected one of the policy's tiers: {', '.join(tier_codes)}",
            )
        for i, action in enumerate(plan.actions):
            if action.segment is not None and action.segment not in (segment_codes or []):
                raise ConfigError(
                    file,
                    f"tiers.{tier}.actions[{i}].segment",
                    f"unknown segment {action.segment!r}; expected one of config/segments.yaml: "
                    f"{', '.join(segment_codes or []) or '(none defined)'}",
                )
            key = f"tiers.{tier}.actions[{i}].trigger"
            try:
                trigger = expressions.parse(action.trigger, columns, allow_quantiles=False)
            except expressions.ExpressionError as exc:
                raise ConfigError(file, key, str(exc)) from None
            missing = sorted(trigger.columns & set(unavailable))
            if missing:
                raise ConfigError(file, key, unavailable_message(missing))
            planned.append(
                PlannedAction(
                    action=action,
                    tier_code=tier,
                    rank=i + 1,
                    trigger=trigger,
                    cadence=action.cadence or strategy.defaults.cadence,
                    eligibility=action.eligibility or strategy.defaults.eligibility,
                    holdout_share=(
                        strategy.defaults.holdout_share
                        if action.holdout_share is None
                        else action.holdout_share
                    ),
                )
            )
    return planned


def unavailable_message(columns: list[str]) -> str:
    return (
        f"uses {', '.join(columns)}, which no configured feed supplies (see config/channels/); "
        "expected an expression over the available features"
    )


def load_strategy(config_dir: Path) -> Strategy:
    return load_model(Strategy, config_dir / "strategy.yaml")
