"""`config/checks.yaml`: thresholds and severities of the tier and drift checks."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from tierops.lib.configfile import ConfigError, StrictModel, load_model

Severity = Literal["warn", "error"]


class PsiSettings(StrictModel):
    """A PSI check fires above max(psi_floor, chi-square critical value at `alpha`)."""

    psi_floor: float = Field(0.1, gt=0, description="PSI that always counts as a shift")
    alpha: float = Field(
        0.01, gt=0, lt=0.5, description="false-alarm rate the sample-size-aware limit allows"
    )


class ShareChangeCheck(PsiSettings):
    max_abs_change_pp: float = Field(
        5.0,
        gt=0,
        le=100,
        description="Largest allowed day-on-day change of a tier's share, in percentage points",
    )
    severity: Severity = "warn"


class BaselineShareCheck(PsiSettings):
    max_abs_change_pp: float = Field(8.0, gt=0, le=100)
    severity: Severity = "warn"


class TierBounds(StrictModel):
    min_share: float | None = Field(None, ge=0, le=1)
    max_share: float | None = Field(None, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> TierBounds:
        low, high = self.min_share, self.max_share
        if low is not None and high is not None and low > high:
            raise ValueError(f"min_share {self.min_share} is above max_share {self.max_share}")
        return self


class SkewCheck(StrictModel):
    bounds: dict[str, TierBounds] = Field(
        default_factory=dict,
        description="tier code → share bounds; tiers of the policy in force (none by default)",
    )
    severity: Severity = "warn"


class RfmShiftCheck(PsiSettings):
    psi_floor: float = Field(0.05, gt=0, description="PSI that always counts as a shift")
    features: list[str] = Field(
        default_factory=lambda: ["days_since_last_order", "orders_30d", "monetary_365d"],
        min_length=1,
    )
    bins: int = Field(10, ge=2, le=50, description="equal-frequency bins of the baseline")
    severity: Severity = "warn"


class CoverageCheck(StrictModel):
    min_abs_change_pp: float = Field(
        2.0, ge=0, le=100, description="deviation from the nominal share always tolerated"
    )
    alpha: float = Field(0.01, gt=0, lt=0.5)
    severity: Severity = "warn"


class ChecksConfig(StrictModel):
    tier_share_change: ShareChangeCheck = ShareChangeCheck()
    tier_shares_vs_baseline: BaselineShareCheck = BaselineShareCheck()
    tier_skew: SkewCheck = SkewCheck()
    rfm_shift: RfmShiftCheck = RfmShiftCheck()
    cut_point_coverage: CoverageCheck = CoverageCheck()


def load_checks_config(config_dir: Path) -> ChecksConfig:
    path = config_dir / "checks.yaml"
    return load_model(ChecksConfig, path) if path.exists() else ChecksConfig()


def check_tier_bounds(config: ChecksConfig, tier_codes: list[str], file: Path | str) -> None:
    """tier_skew bounds may only name tiers of the policy in force (a typo would never fire)."""
    for tier in config.tier_skew.bounds:
        if tier not in tier_codes:
            raise ConfigError(
                file,
                f"tier_skew.bounds.{tier}",
                f"unknown tier {tier!r}; expected one of the policy's tiers: {', '.join(tier_codes)}",
            )


def checked_features(
    config: ChecksConfig,
    columns: set[str],
    config_dir: Path,
    unavailable: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """The rfm_shift features, each one a column of customer_features that a configured feed
    supplies (not in `unavailable`), else a ConfigError."""
    for i, feature in enumerate(config.rfm_shift.features):
        if feature in unavailable:
            raise ConfigError(
                config_dir / "checks.yaml",
                f"rfm_shift.features[{i}]",
                f"{feature!r} is not supplied by any configured feed (see config/channels/); "
                "expected an available feature such as days_since_last_order, orders_30d",
            )
        if feature not in columns:
            raise ConfigError(
                config_dir / "checks.yaml",
                f"rfm_shift.features[{i}]",
                f"unknown column {feature!r}; expected a numeric column of customer_features "
                "such as days_since_last_order, orders_30d, orders_365d, monetary_365d",
            )
    return config.rfm_shift.features
