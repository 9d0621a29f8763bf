"""Shared fixtures: a small generated data set and a pipeline home per test session.

Everything runs through the public interfaces: the generator writes landing files, Dagster
materializes the real assets (ingestion, dbt, tiering, exports) against a DuckDB file in a
temporary folder.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

REPO = Path(__file__).resolve().parents[1]
SMALL_START = date(2025, 1, 1)
SMALL_END = date(2025, 6, 30)


@dataclass(frozen=True)
class PipelineHome:
    home: Path
    config_dir: Path

    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def truth(self) -> Path:
        return self.home / "truth"

    @property
    def outputs(self) -> Path:
        return self.home / "outputs"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"


def make_home(root: Path, landing_from: Path | None = None) -> PipelineHome:
    """A pipeline home with its own copy of the config (tests may edit it)."""
    config = root / "config"
    shutil.copytree(REPO / "config", config)
    home = PipelineHome(home=root / "data", config_dir=config)
    home.home.mkdir(parents=True, exist_ok=True)
    if landing_from is not None:
        shutil.copytree(landing_from, home.landing)
    return home


@pytest.fixture(scope="session")
def small_landing(tmp_path_factory) -> tuple[Path, Path]:
    """Landing files + truth for 800 customers over six months (generated once per session)."""
    from tierops.generator import GeneratorConfig, generate

    root = tmp_path_factory.mktemp("small_data")
    config = GeneratorConfig(
        customers=800, start=SMALL_START, end=SMALL_END, seed=11, bad_row_rate=0.02
    )
    generate(config, root / "landing", root / "truth")
    return root / "landing", root / "truth"


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest():
    """The dbt manifest the Dagster definitions are built from (prepared explicitly, not by dagster dev)."""
    from tierops.transform.project import prepare_manifest

    return prepare_manifest()


def _activate(home: PipelineHome, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIEROPS_HOME", str(home.home))
    monkeypatch.setenv("TIEROPS_CONFIG_DIR", str(home.config_dir))
    monkeypatch.delenv("TIEROPS_LANDING_DIR", raising=False)
    monkeypatch.delenv("TIEROPS_WAREHOUSE", raising=False)


@pytest.fixture
def pipeline_home(tmp_path, small_landing, monkeypatch) -> PipelineHome:
    """A fresh pipeline home with the small data set landed, for tests that change things."""
    landing, truth = small_landing
    home = make_home(tmp_path, landing_from=landing)
    shutil.copytree(truth, home.truth)
    _activate(home, monkeypatch)
    return home


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory, small_landing):
    """A home where the whole small data set was processed in one backfill run (read-only use)."""
    from tests.helpers import failure_messages, run_range

    landing, truth = small_landing
    home = make_home(tmp_path_factory.mktemp("backfilled"), landing_from=landing)
    shutil.copytree(truth, home.truth)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        result = run_range(SMALL_START, SMALL_END)
        assert result.success, failure_messages(result)
        yield home, result
