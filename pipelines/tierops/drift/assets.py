"""The drift asset: checks every day of the run against the previous day and the calibration."""

from collections import Counter
from datetime import timedelta

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from tierops.checks.config import check_tier_bounds, checked_features, load_checks_config
from tierops.drift.checks import CHECKS, CheckOutcome, evaluate, store
from tierops.partitions import run_window
from tierops.settings import Settings
from tierops.tiering.assets import TIER_ASSIGNMENTS, compile_policy, policy_in_force
from tierops.tiering.thresholds import active_version, load_set
from tierops.warehouse import WAREHOUSE_POOL, Warehouse

TIER_DRIFT = AssetKey(["tier_drift"])


def _result(outcome: CheckOutcome, failing_days: list[str]) -> AssetCheckResult:
    metadata = {
        "as_of_date": outcome.day.isoformat(),
        "summary": MetadataValue.text(outcome.summary),
        "details": MetadataValue.json(outcome.metadata),
    }
    if failing_days:
        metadata["failing_days_in_run"] = MetadataValue.json(failing_days)
    return AssetCheckResult(
        check_name=outcome.check,
        asset_key=TIER_DRIFT,
        passed=outcome.passed,
        severity=(
            AssetCheckSeverity.ERROR if outcome.severity == "error" else AssetCheckSeverity.WARN
        ),
        description=outcome.summary,
        metadata=metadata,
    )


def build_drift_asset(settings: Settings, partitions: PartitionsDefinition) -> AssetsDefinition:
    @asset(
        key=TIER_DRIFT,
        deps=[TIER_ASSIGNMENTS, AssetKey(["customer_features"])],
        group_name="drift",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "sql"},
        description=(
            "Drift checks of every day's tiers (table drift_checks): shares vs the previous day and "
            "the calibration baseline, skew, R/F/M shift, cut-point coverage. A failed check of "
            "severity error blocks that day's audience export."
        ),
        check_specs=[
            AssetCheckSpec(name, asset=TIER_DRIFT, description=text)
            for name, text in CHECKS.items()
        ],
    )
    def tier_drift(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        compiled = compile_policy(settings)
        in_force = policy_in_force(settings, compiled)
        cfg = load_checks_config(in_force.config_dir)
        checked_features(
            cfg, set(compiled.column_types), in_force.config_dir, set(compiled.unavailable)
        )
        check_tier_bounds(cfg, in_force.tier_codes, in_force.config_dir / "checks.yaml")
        start, end = run_window(context)
        last = end - timedelta(days=1)
        with warehouse.connect() as conn:
            version = active_version(conn)
            tset = load_set(conn, version) if version is not None else None
            outcomes = evaluate(conn, compiled, cfg, tset, start, end)
            store(conn, outcomes, start, end, version)
        failing: dict[str, list[str]] = {}
        for o in outcomes:
            if not o.passed:
                failing.setdefault(o.check, []).append(o.day.isoformat())
        todays = {o.check: o for o in outcomes if o.day == last}
        for o in todays.values():
            if not o.passed:
                context.log.warning(f"drift check {o.check} failed on {last}: {o.summary}")
        fails = Counter(o.check for o in outcomes if not o.passed)
        return MaterializeResult(
            metadata={
                "as_of_date": last.isoformat(),
                **in_force.metadata(settings),
                "threshold_version": version,
                "days_checked": len({o.day for o in outcomes}),
                "failed_checks_in_run": MetadataValue.json(dict(fails)),
                "blocking_on_last_day": MetadataValue.json(
                    [o.check for o in todays.values() if o.blocking]
                ),
            },
            check_results=[
                _result(todays[name], failing.get(name, [])) for name in CHECKS if name in todays
            ],
        )

    return tier_drift
