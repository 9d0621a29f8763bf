"""`tierops_calibrate`: the recalibration workflow as a Dagster job (Launchpad → config)."""

from datetime import date

from dagster import (
    Config,
    JobDefinition,
    MetadataValue,
    Nothing,
    OpExecutionContext,
    Out,
    in_process_executor,
    job,
    op,
)
from pydantic import Field

from tierops.drift.recalibration import excluded_days, recalibrate
from tierops.settings import Settings
from tierops.tiering.assets import compile_policy
from tierops.warehouse import WAREHOUSE_POOL, Warehouse

CALIBRATE_JOB = "tierops_calibrate"


class CalibrationConfig(Config):
    start: str = Field(description="first day of the calibration window, YYYY-MM-DD")
    end: str = Field(description="last day, inclusive")
    exclude: list[str] = Field(default=[], description="START:END ranges to leave out")
    exclude_promotions: bool = Field(
        default=False, description="leave out config/promotions.yaml (plus settle days)"
    )
    impact_date: str | None = Field(default=None, description="default: newest snapshot day")
    note: str = ""


def calibrate_job(settings: Settings) -> JobDefinition:
    @op(pool=WAREHOUSE_POOL, out=Out(Nothing))
    def calibrate_candidate(
        context: OpExecutionContext, config: CalibrationConfig, warehouse: Warehouse
    ) -> None:
        """Store a CANDIDATE threshold set and its impact report; adopts nothing."""
        compiled = compile_policy(settings)
        start, end = date.fromisoformat(config.start), date.fromisoformat(config.end)
        exclude = excluded_days(
            start, end, config.exclude, config.exclude_promotions, settings.config_dir
        )
        with warehouse.connect() as conn:
            report = recalibrate(
                conn,
                compiled,
                start,
                end,
                settings.outputs_dir,
                exclude=exclude,
                impact_day=date.fromisoformat(config.impact_date) if config.impact_date else None,
                source=f"dagster run {context.run_id}",
                note=config.note,
            )
        version = report.candidate.version
        context.log.info(
            f"candidate v{version}: {report.moved} customers would change tier on {report.day}; "
            f"adopt with `tierops thresholds adopt {version}`"
        )
        context.add_output_metadata(
            {
                "candidate_version": version,
                "impact_date": report.day.isoformat(),
                "customers_moving": report.moved,
                "customers": report.migration.customers,
                "excluded_days": len(exclude),
                "migration": MetadataValue.md(f"```\n{report.migration.table()}\n```"),
                "report": MetadataValue.path(str(report.folder / "impact.json")),
            }
        )

    @job(
        name=CALIBRATE_JOB,
        executor_def=in_process_executor,
        description=(
            "Calibrate a candidate threshold set on a window and write its impact report "
            "(outputs/calibration/v<version>/); `tierops thresholds adopt` makes it active."
        ),
    )
    def tierops_calibrate():
        calibrate_candidate()

    return tierops_calibrate
