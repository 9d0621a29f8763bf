"""Jobs and the nightly schedule."""

from __future__ import annotations

from dagster import (
    AssetSelection,
    DailyPartitionsDefinition,
    ScheduleDefinition,
    build_schedule_from_partitioned_job,
    define_asset_job,
    in_process_executor,
)
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition

from tierops.settings import Settings

NIGHTLY_JOB = "tierops_nightly"


def nightly_job(partitions: DailyPartitionsDefinition) -> UnresolvedAssetJobDefinition:
    # In-process: steps of one run follow each other in one process, so they never contend for
    # the DuckDB file; the `duckdb` pool serialises steps across runs.
    return define_asset_job(
        NIGHTLY_JOB,
        selection=AssetSelection.all(),
        partitions_def=partitions,
        executor_def=in_process_executor,
        description="Ingest every feed, rebuild identities and features, assign tiers, write audiences.",
    )


def nightly_schedule(job: UnresolvedAssetJobDefinition, settings: Settings) -> ScheduleDefinition:
    hour, minute = (int(x) for x in settings.project.nightly_at.split(":"))
    return build_schedule_from_partitioned_job(
        job,
        hour_of_day=hour,
        minute_of_hour=minute,
        name="tierops_nightly_schedule",
        description="Every night, process yesterday's partition.",
    )
