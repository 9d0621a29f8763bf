"""Reporting assets: per-tier KPIs on the warehouse and the run report page."""

from collections.abc import Sequence
from datetime import timedelta

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from tierops.exports.assets import AUDIENCE_FILES
from tierops.partitions import run_window
from tierops.reporting.config import load_reporting_config
from tierops.reporting.experiments import ActionSpec, compute_experiment_log
from tierops.reporting.kpis import compute_kpis, day_kpis
from tierops.reporting.page import CheckResult, write_index, write_report
from tierops.reporting.report import gather_report
from tierops.settings import Settings
from tierops.strategies.assets import CONTACT_LEDGER, plan_strategy
from tierops.tiering.assets import TIER_ASSIGNMENTS, PolicyInForce, policy_in_force
from tierops.warehouse import WAREHOUSE_POOL, Warehouse

TIER_KPIS = AssetKey(["tier_kpis"])
EXPERIMENT_LOG = AssetKey(["experiment_log"])
RUN_REPORT = AssetKey(["run_report"])
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
        in_force = policy_in_force(settings)
        config = load_reporting_config(in_force.config_dir, in_force.policy)
        start, end = run_window(context)
        day = end - timedelta(days=1)
        with warehouse.connect() as conn:
            rows_written = compute_kpis(conn, config, start, end)
            summary = kpi_summary(day_kpis(conn, day))
        context.log.info(f"KPIs for {day}: {summary}")
        return MaterializeResult(
            metadata={
                "as_of_date": day.isoformat(),
                **in_force.metadata(settings),
                "reactivation_tiers": MetadataValue.json(list(config.reactivation_tiers)),
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


def action_specs(settings: Settings, in_force: PolicyInForce | None = None) -> list[ActionSpec]:
    """Every action of the strategy.yaml of the policy in force with its tier and success
    definition."""
    in_force = in_force or policy_in_force(settings)
    if not (in_force.config_dir / "strategy.yaml").exists():
        return []
    _, planned = plan_strategy(settings, in_force)
    return [
        ActionSpec(
            action_id=p.id,
            tier_code=p.tier_code,
            channel=p.channel,
            metric=p.action.success.metric,
            window_days=p.action.success.window_days,
        )
        for p in planned
    ]


def build_experiment_asset(
    settings: Settings, partitions: PartitionsDefinition
) -> AssetsDefinition:
    @asset(
        key=EXPERIMENT_LOG,
        deps=[CONTACT_LEDGER, AssetKey(["customer_features"])],
        group_name=GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "sql"},
        description=(
            "A/B readout per day and action (treatment vs holdout: conversion difference with "
            "95% CI, revenue per customer difference, sample-size warnings) in experiment_log."
        ),
    )
    def experiment_log(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        in_force = policy_in_force(settings)
        config = load_reporting_config(in_force.config_dir, in_force.policy)
        actions = action_specs(settings, in_force)
        start, end = run_window(context)
        day = end - timedelta(days=1)
        with warehouse.connect() as conn:
            rows = compute_experiment_log(
                conn,
                actions,
                start,
                end,
                min_group_size=config.ab_min_group_size,
                max_mde=config.ab_max_mde_pp / 100,
            )
        today = [r for r in rows if r["as_of_date"] == day]
        verdicts = {r["action_id"]: r["verdict"] for r in today}
        context.log.info(f"A/B readouts for {day}: {verdicts}")
        return MaterializeResult(
            metadata={
                "as_of_date": day.isoformat(),
                **in_force.metadata(settings),
                "rows_written": len(rows),
                "actions": len(actions),
                "verdicts": MetadataValue.json(verdicts),
                "conversion_diff_pp": MetadataValue.json(
                    {
                        r["action_id"]: None
                        if r["rate_diff"] is None
                        else round(100 * r["rate_diff"], 2)
                        for r in today
                    }
                ),
            }
        )

    return experiment_log


def latest_check_results(
    context: AssetExecutionContext, keys: Sequence[AssetCheckKey]
) -> list[CheckResult] | None:
    """The latest result of every given asset check (feeds, dbt tests, tiers, drift), failures
    first; None when the instance has none yet."""
    records = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    out = []
    for key, record in records.items():
        data = record.event.dagster_event.event_specific_data if record.event else None
        if isinstance(data, AssetCheckEvaluation):
            result = CheckResult(
                asset=key.asset_key.to_user_string(),
                name=key.name,
                passed=data.passed,
                severity=data.severity.value,
                description=data.description or "",
                run="this run" if record.run_id == context.run_id else record.run_id[:8],
            )
        else:
            result = CheckResult(key.asset_key.to_user_string(), key.name, None, "", "")
        out.append(result)
    out.sort(key=lambda c: (c.passed is not False, c.asset, c.name))
    return out or None


def build_report_asset(
    settings: Settings, partitions: PartitionsDefinition, check_keys: Sequence[AssetCheckKey]
) -> AssetsDefinition:
    """`check_keys`: the checks whose latest results the page shows (every check of the graph)."""

    @asset(
        key=RUN_REPORT,
        deps=[TIER_KPIS, EXPERIMENT_LOG, AUDIENCE_FILES],
        group_name=GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"html"},
        description=(
            "outputs/<date>/report.html (self-contained: tiers, migration, checks, KPIs, A/B "
            "readouts, downloads) and outputs/index.html, for the last day of the run."
        ),
    )
    def run_report(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        in_force = policy_in_force(settings)
        policy = in_force.policy
        config = load_reporting_config(in_force.config_dir, policy)
        _, end = run_window(context)
        day = end - timedelta(days=1)
        day_dir = settings.outputs_dir / day.isoformat()
        checks = latest_check_results(context, check_keys)
        with warehouse.connect(read_only=True) as conn:
            data = gather_report(
                conn,
                day,
                day_dir,
                policy,
                config,
                checks,
                replaced_policy=in_force.compiled.replaced,
                unavailable_features=in_force.compiled.unavailable,
            )
        path = write_report(day_dir, data)
        index = write_index(settings.outputs_dir)
        summary = kpi_summary(data.kpis)
        failed = [f"{c.asset}:{c.name}" for c in checks or [] if c.passed is False]
        context.log.info(f"report for {day}: {path}")
        return MaterializeResult(
            metadata={
                "as_of_date": day.isoformat(),
                **in_force.metadata(settings),
                "report": MetadataValue.path(str(path)),
                "index": MetadataValue.path(str(index)),
                "customers": data.customers,
                "tier_counts": MetadataValue.json(data.counts),
                "repurchase_rate_30d": MetadataValue.json(summary.get("repurchase_rate_30d", {})),
                "failed_checks": MetadataValue.json(failed),
                "experiments": len(data.experiments or []),
                "files_linked": len(data.files),
            }
        )

    return run_report
