"""The dbt project and its manifest, prepared explicitly outside `dagster dev`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from dagster_dbt import DbtProject

from tierops.settings import DBT_PROJECT_DIR

DBT_PROJECT = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
_WATCHED = ("models", "macros", "tests", "dbt_project.yml", "profiles.yml")


def dbt_executable() -> str:
    """The dbt next to this interpreter, so a venv works without being on PATH."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def manifest_is_stale(manifest: Path = DBT_PROJECT.manifest_path) -> bool:
    if not manifest.exists():
        return True
    built = manifest.stat().st_mtime
    for name in _WATCHED:
        path = DBT_PROJECT_DIR / name
        files = [path] if path.is_file() else path.rglob("*") if path.exists() else []
        if any(f.is_file() and f.stat().st_mtime > built for f in files):
            return True
    return False


def prepare_manifest(force: bool = False) -> Path:
    """`dbt parse` when the manifest is missing or older than the project files."""
    if force or manifest_is_stale():
        env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
        result = subprocess.run(
            [
                dbt_executable(),
                "parse",
                "--quiet",
                "--project-dir",
                str(DBT_PROJECT_DIR),
                "--profiles-dir",
                str(DBT_PROJECT_DIR),
            ],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"dbt parse failed:\n{result.stdout}\n{result.stderr}")
    return DBT_PROJECT.manifest_path


@cache
def _manifest() -> dict:
    with open(DBT_PROJECT.manifest_path, encoding="utf-8") as fh:
        return json.load(fh)


def feature_sources() -> dict[str, str]:
    """Feature columns that need a canonical table besides orders (`meta.requires` in the
    contract of customer_features): column → table (events, members …)."""
    node = _manifest()["nodes"].get("model.tierops.customer_features")
    if node is None:
        raise KeyError("dbt model 'customer_features' is not in the manifest; run `dbt parse`")
    out = {}
    for name, col in node["columns"].items():
        meta = {**(col.get("meta") or {}), **((col.get("config") or {}).get("meta") or {})}
        if meta.get("requires"):
            out[name] = str(meta["requires"])
    return out


def model_columns(model: str) -> dict[str, str]:
    """Declared (contracted) columns of a dbt model: name → data type."""
    node = _manifest()["nodes"].get(f"model.tierops.{model}")
    if node is None:
        raise KeyError(f"dbt model {model!r} is not in the manifest; run `dbt parse`")
    return {name: (col.get("data_type") or "") for name, col in node["columns"].items()}
