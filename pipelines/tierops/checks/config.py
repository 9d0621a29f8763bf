"""`config/checks.yaml`: thresholds and severities of the tier checks."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from tierops.lib.configfile import StrictModel, load_model


class ShareChangeCheck(StrictModel):
    max_abs_change_pp: float = Field(
        5.0,
        gt=0,
        le=100,
        description="Largest allowed day-on-day change of a tier's share, in percentage points",
    )
    severity: Literal["warn", "error"] = "warn"


class ChecksConfig(StrictModel):
    tier_share_change: ShareChangeCheck = ShareChangeCheck()


def load_checks_config(config_dir: Path) -> ChecksConfig:
    path = config_dir / "checks.yaml"
    return load_model(ChecksConfig, path) if path.exists() else ChecksConfig()
