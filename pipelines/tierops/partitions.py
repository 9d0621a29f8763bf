"""Daily partitions in the business time zone; a run covers a window of one or more days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dagster import AssetExecutionContext, DailyPartitionsDefinition
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
)

from tierops.settings import Settings


def daily_partitions(settings: Settings) -> DailyPartitionsDefinition:
    project = settings.project
    return DailyPartitionsDefinition(
        start_date=project.partitions_start.isoformat(),
        timezone=project.timezone,
        end_offset=0,  # the newest partition is yesterday: a day is processed once it is over
    )


def run_window(context: AssetExecutionContext) -> tuple[date, date]:
    """[start, end) of the partition range this step covers (one day for a nightly run)."""
    window = context.partition_time_window
    return window.start.date(), window.end.date()


def days_in(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days)]


def window_from_run(context: AssetExecutionContext, settings: Settings) -> tuple[date, date]:
    """The window of an unpartitioned step inside a partitioned run, read from the run's tags.

    Warehouse models are rebuilt for the run's whole window in one dbt call; materialized on
    their own (no partition tags) they cover yesterday, like the nightly run.
    """
    tags = context.run.tags
    if ASSET_PARTITION_RANGE_START_TAG in tags and ASSET_PARTITION_RANGE_END_TAG in tags:
        first = date.fromisoformat(tags[ASSET_PARTITION_RANGE_START_TAG])
        last = date.fromisoformat(tags[ASSET_PARTITION_RANGE_END_TAG])
    elif PARTITION_NAME_TAG in tags:
        first = last = date.fromisoformat(tags[PARTITION_NAME_TAG])
    else:
        first = last = datetime.now(settings.tz).date() - timedelta(days=1)
    return first, last + timedelta(days=1)
