"""`config/reporting.yaml`: outcome windows, lapsed tiers, renewals and A/B sample-size limits."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from tierops.lib.configfile import ConfigError, StrictModel, load_model
from tierops.tiering.policy import TierPolicy

FILE = "reporting.yaml"


class ReportingConfig(StrictModel):
    outcome_windows_days: list[Literal[30, 90]] = Field([30, 90], min_length=1)
    reactivation_tiers: list[str] = Field(default_factory=list)
    renewal_cycle_days: Literal[30, 90, 365] | None = None
    trend_days: int = Field(90, ge=2, le=730)
    ab_min_group_size: int = Field(100, ge=1)
    ab_max_mde_pp: float = Field(5.0, gt=0, le=100)

    def check_tiers(self, policy: TierPolicy, file: Path | str) -> None:
        codes = [t.code for t in policy.tiers]
        for i, code in enumerate(self.reactivation_tiers):
            if code not in codes:
                raise ConfigError(
                    file,
                    f"reactivation_tiers[{i}]",
                    f"{code!r} is not a tier of policy {policy.version}; expected one of "
                    f"{', '.join(codes)}",
                )


def load_reporting_config(config_dir: Path, policy: TierPolicy | None = None) -> ReportingConfig:
    path = config_dir / FILE
    config = load_model(ReportingConfig, path) if path.exists() else ReportingConfig()
    if policy is not None:
        config.check_tiers(policy, path)
    return config
