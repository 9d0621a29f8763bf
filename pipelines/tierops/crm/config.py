"""`config/crm.yaml`: membership levels, their benefits, the tier → level map and the grace period."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, model_validator

from tierops.lib.configfile import ConfigError, StrictModel, load_model

CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


class Benefits(StrictModel):
    points_multiplier: float = Field(1.0, ge=0, le=100)
    dedicated_service: bool = False
    birthday_gift: str = ""
    free_shipping: bool = False


class Level(StrictModel):
    code: str = Field(pattern=CODE.pattern)
    name_zh: str = Field(min_length=1)
    name_en: str = Field(min_length=1)
    rank: int = Field(ge=1, le=100)
    benefits: Benefits = Benefits()


class CrmConfig(StrictModel):
    version: str = Field(min_length=1)
    grace_days: int = Field(30, ge=1, le=365)
    levels: list[Level] = Field(min_length=1)
    tier_levels: dict[str, str] = Field(min_length=1)

    @model_validator(mode="after")
    def _structure(self) -> CrmConfig:
        codes: dict[str, int] = {}
        ranks: dict[int, str] = {}
        for i, level in enumerate(self.levels):
            if level.code in codes:
                raise ValueError(f"levels[{i}].code: duplicate level {level.code!r}")
            if level.rank in ranks:
                raise ValueError(
                    f"levels[{i}].rank: rank {level.rank} is also used by {ranks[level.rank]!r}"
                )
            codes[level.code] = i
            ranks[level.rank] = level.code
        for tier, level in self.tier_levels.items():
            if level not in codes:
                raise ValueError(
                    f"tier_levels.{tier}: unknown level {level!r}; expected one of "
                    f"{', '.join(codes)}"
                )
        return self

    def level(self, code: str) -> Level:
        return next(lv for lv in self.levels if lv.code == code)


def check_crm(config: CrmConfig, tier_codes: list[str], file: Path | str) -> None:
    """Every tier must map to a level, and only known tiers may be mapped."""
    for tier in config.tier_levels:
        if tier not in tier_codes:
            raise ConfigError(
                file,
                f"tier_levels.{tier}",
                f"unknown tier {tier!r}; expected one of the policy's tiers: {', '.join(tier_codes)}",
            )
    missing = [t for t in tier_codes if t not in config.tier_levels]
    if missing:
        raise ConfigError(
            file, "tier_levels", f"no level for tier(s) {', '.join(missing)}; map every tier"
        )


def load_crm(config_dir: Path, tier_codes: list[str]) -> CrmConfig:
    path = config_dir / "crm.yaml"
    config = load_model(CrmConfig, path)
    check_crm(config, tier_codes, path)
    return config
