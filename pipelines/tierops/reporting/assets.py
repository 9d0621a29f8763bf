"""Reporting assets: per-tier KPIs on the warehouse and the run report page."""

from datetime import timedelta

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from tierops.partitions import run_window
from tierops.reporting.config import load_reporting_config
from tierops.reporting.kpis import compute_kpis, day_kpis
from tierops.settings import Settings
from tierops.tiering.assets import TIER_ASSIGNMENTS
from tierops.tiering.policy import load_policy
from tierops.warehouse import WAREHOUSE_POOL, Warehouse

TIER_KPIS = AssetKey(["tier_kpis"])
GROUP = "reporting"


def kpi_summary(rows: list[dict]) -> dict[str, dict[str, float | None]]:
    """{kpi[_Nd]: {tier: value}} rounded for metadata and logs."""
    out: dict[str, dict[str, float | None]] = {}
    for r in rows:
        name = r["kpi"] + (f"_{r['window_days']}d" if r["window_days"] else "")
        value = r["value"]
        out.setdefault(name, {})[r["tier_code"]] = None if value is None else round(value, 4)
    return out


def build_kpi_asset(settings: Settings, partitions: PartitionsDefinition) -> AssetsDefinition:
    @asset(
        key=TIER_KPIS,
        deps=[TIER_ASSIGNMENTS, AssetKey(["customer_features"])],
        group_name=GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "sql"},
        description=(
            "Per-tier KPIs per day (warehouse table tier_kpis): share, LTV, repurchase, "
            "first-to-second purchase, reactivation and renewal rates over outcome windows."
        ),
    )
    def tier_kpis(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        config = load_reporting_config(settings.config_dir, load_policy(settings.config_dir))
        start, end = run_window(context)
        day = end - timedelta(days=1)
        with warehouse.connect() as conn:
            rows_written = compute_kpis(conn, config, start, end)
            summary = kpi_summary(day_kpis(conn, day))
        context.log.info(f"KPIs for {day}: {summary}")
        return MaterializeResult(
            metadata={
                "as_of_date": day.isoformat(),
                "rows_written": rows_written,
                "tier_share": MetadataValue.json(summary.get("customers", {})),
                **{
                    name: MetadataValue.json(values)
                    for name, values in summary.items()
                    if name != "customers"
                },
            }
        )

    return tier_kpis
