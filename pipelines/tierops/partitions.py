"""Daily partitions in the business time zone; a run covers a window of one or more days."""

from __future__ import annotations

from datetime import date, timedelta

from dagster import AssetExecutionContext, DailyPartitionsDefinition

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
