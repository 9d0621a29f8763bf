"""Where things live, resolved once from the environment.

Everything is relative to the checkout unless an environment variable points elsewhere, so a test
can run the whole pipeline inside a temporary folder by setting TIEROPS_HOME and TIEROPS_CONFIG_DIR.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from tierops.lib.configfile import StrictModel, load_model

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"


class ProjectConfig(StrictModel):
    """`config/tierops.yaml`: settings that apply to the whole project."""

    timezone: str = "Asia/Shanghai"
    partitions_start: date = date(2023, 1, 1)
    nightly_at: str = Field("02:30", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    warehouse_lock_timeout_seconds: float = Field(120.0, ge=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"expected an IANA time zone such as Asia/Shanghai, got {value!r}"
            ) from exc
        return value


@dataclass(frozen=True)
class Settings:
    config_dir: Path
    home: Path
    landing_dir: Path

    @classmethod
    def from_env(cls) -> Settings:
        home = Path(os.environ.get("TIEROPS_HOME", PROJECT_ROOT / "data")).resolve()
        config_dir = Path(os.environ.get("TIEROPS_CONFIG_DIR", PROJECT_ROOT / "config")).resolve()
        landing = Path(os.environ.get("TIEROPS_LANDING_DIR", home / "landing")).resolve()
        return cls(config_dir=config_dir, home=home, landing_dir=landing)

    @property
    def lake_dir(self) -> Path:
        """Validated canonical Parquet, one file per feed and day (the dbt sources)."""
        return self.home / "lake"

    @property
    def warehouse_path(self) -> Path:
        return Path(os.environ.get("TIEROPS_WAREHOUSE", self.home / "warehouse.duckdb")).resolve()

    @property
    def outputs_dir(self) -> Path:
        """Files for people and systems: audiences, manifests, reports."""
        return self.home / "outputs"

    @property
    def truth_dir(self) -> Path:
        """Generator ground truth; only tests and benchmarks read it."""
        return self.home / "truth"

    @cached_property
    def project(self) -> ProjectConfig:
        return load_model(ProjectConfig, self.config_dir / "tierops.yaml")

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.project.timezone)

    def dbt_env(self) -> dict[str, str]:
        """Variables the dbt profile and sources read (dbt runs as a subprocess)."""
        return {
            "TIEROPS_WAREHOUSE": str(self.warehouse_path),
            "TIEROPS_LAKE_DIR": str(self.lake_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }


def get_settings() -> Settings:
    return Settings.from_env()
