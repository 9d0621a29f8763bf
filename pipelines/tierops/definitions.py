"""The Dagster code location: assembles assets, checks, jobs, schedules and resources."""

from __future__ import annotations

import warnings
from collections import defaultdict

from dagster import AssetKey, BetaWarning, Definitions, JobDefinition, PreviewWarning
from dagster_dbt import DbtCliResource

from tierops.crm.assets import build_crm_asset
from tierops.drift.assets import build_drift_asset
from tierops.drift.jobs import calibrate_job
from tierops.exports.assets import build_export_asset
from tierops.ingestion.assets import build_feed_asset, feed_asset_key
from tierops.ingestion.mapping import load_mappings
from tierops.jobs import NIGHTLY_JOB, nightly_job, nightly_schedule
from tierops.partitions import daily_partitions
from tierops.reporting.assets import (
    build_experiment_asset,
    build_kpi_asset,
    build_report_asset,
)
from tierops.segments.assets import build_segments_asset
from tierops.settings import Settings, get_settings
from tierops.strategies.assets import build_contact_ledger_asset
from tierops.tiering.assets import build_tiering_asset
from tierops.transform.dbt_assets import build_dbt_assets
from tierops.transform.project import DBT_PROJECT, dbt_executable, prepare_manifest
from tierops.warehouse import Warehouse

# backfill_policy and pools are marked beta/preview; they are what keeps backfills fast and safe
warnings.filterwarnings("ignore", category=BetaWarning)
warnings.filterwarnings("ignore", category=PreviewWarning)


def build_definitions(settings: Settings) -> Definitions:
    partitions = daily_partitions(settings)
    mappings = load_mappings(settings.config_dir)
    feeds_by_table: dict[str, list[AssetKey]] = defaultdict(list)
    for mapping in mappings:
        feeds_by_table[mapping.entity].append(feed_asset_key(mapping))
        feeds_by_table["quarantine"].append(feed_asset_key(mapping))
    job = nightly_job(partitions)
    assets = [
        *(build_feed_asset(m, settings, partitions) for m in mappings),
        build_dbt_assets(settings, feeds_by_table),
        build_tiering_asset(settings, partitions),
        build_drift_asset(settings, partitions),
        build_segments_asset(settings, partitions),
        build_contact_ledger_asset(settings, partitions),
        build_crm_asset(settings, partitions),
        build_export_asset(settings, partitions),
        build_kpi_asset(settings, partitions),
        build_experiment_asset(settings, partitions),
    ]
    check_keys = [key for a in assets for key in a.check_keys]
    assets.append(build_report_asset(settings, partitions, check_keys))
    return Definitions(
        assets=assets,
        jobs=[job, calibrate_job(settings)],
        schedules=[nightly_schedule(job, settings)],
        resources={
            "dbt": DbtCliResource(project_dir=DBT_PROJECT, dbt_executable=dbt_executable()),
            "warehouse": Warehouse(
                path=str(settings.warehouse_path),
                lock_timeout_seconds=settings.project.warehouse_lock_timeout_seconds,
            ),
        },
    )


DBT_PROJECT.prepare_if_dev()
prepare_manifest()
defs = build_definitions(get_settings())


def tierops_nightly() -> JobDefinition:
    """Module-level handle so the CLI can run the job reconstructably (runs show in the UI)."""
    return defs.resolve_job_def(NIGHTLY_JOB)
