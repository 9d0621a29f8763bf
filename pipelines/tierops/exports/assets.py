"""The export asset: today's lists for every tier and action, plus a manifest with checksums,
written to every destination."""

from datetime import timedelta

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    Failure,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from tierops.crm.assets import CRM_MEMBERSHIP, crm_config
from tierops.drift.assets import TIER_DRIFT
from tierops.drift.checks import blocking_failures
from tierops.exports.day import export_day
from tierops.exports.destinations import load_destinations, pii_salt
from tierops.partitions import run_window
from tierops.segments.assets import SEGMENT_MEMBERSHIPS, plan_segments
from tierops.settings import Settings
from tierops.strategies.assets import CONTACT_LEDGER, plan_strategy
from tierops.tiering.assets import TIER_ASSIGNMENTS, policy_in_force
from tierops.warehouse import WAREHOUSE_POOL, Warehouse

AUDIENCE_FILES = AssetKey(["audience_files"])


def build_export_asset(settings: Settings, partitions: PartitionsDefinition) -> AssetsDefinition:
    @asset(
        key=AUDIENCE_FILES,
        deps=[
            TIER_ASSIGNMENTS,
            TIER_DRIFT,
            CONTACT_LEDGER,
            CRM_MEMBERSHIP,
            SEGMENT_MEMBERSHIPS,
            AssetKey(["customer_contacts"]),
        ],
        group_name="exports",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"csv", "parquet"},
        description=(
            "<day>/audiences/tier_<code>[.delta], actions/<action>[.holdout|.delta] and "
            "crm/membership_sync|changes, segments/<code> and overlap as CSV "
            "(UTF-8 with BOM) and XLSX with masked contacts, Parquet with hashed contacts, plus "
            "manifest.json, for the last day of the run, in every destination."
        ),
    )
    def audience_files(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        in_force = policy_in_force(settings)
        strategy, planned = plan_strategy(settings, in_force)
        crm = crm_config(settings, in_force)
        segments, _ = plan_segments(settings, in_force)
        destinations = load_destinations(settings.config_dir)
        salt = pii_salt(destinations, settings)
        _, end = run_window(context)
        day = end - timedelta(days=1)
        with warehouse.connect(read_only=True) as conn:
            blocked = blocking_failures(conn, day)
            if blocked:
                raise Failure(
                    description=(
                        f"audiences for {day} were NOT exported: drift check(s) of severity error "
                        f"failed: {'; '.join(f'{o.check}: {o.summary}' for o in blocked)}. Review "
                        "them (tierops ui: asset tier_drift, Checks tab), recalibrate or correct "
                        "the data, then re-run the day."
                    ),
                    metadata={
                        "as_of_date": day.isoformat(),
                        "blocked_by": [o.check for o in blocked],
                    },
                )
            published = export_day(
                conn, settings, destinations, salt, in_force, strategy, planned, crm, segments, day
            )
        first = published[0]
        context.log.info(
            f"files for {day} in {', '.join(p.manifest for p in published)}: "
            f"{first.header['tier_counts']}"
        )
        return MaterializeResult(
            metadata={
                "as_of_date": day.isoformat(),
                **in_force.metadata(settings),
                "unavailable_features": MetadataValue.json(list(in_force.compiled.unavailable)),
                "manifest": MetadataValue.path(first.manifest),
                "destinations": MetadataValue.json({p.destination: p.manifest for p in published}),
                "rows_per_tier": MetadataValue.json(first.header["tier_counts"]),
                "tier_changes": MetadataValue.json(first.header["tier_changes"]),
                "per_action": MetadataValue.json(first.header["action_counts"]),
                "crm_and_segments": MetadataValue.json(first.header["other_counts"]),
                "files": len(first.files),
                "strategy_version": strategy.version,
            }
        )

    return audience_files
