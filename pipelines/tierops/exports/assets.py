"""The export asset: today's audience files for every tier, plus a manifest with checksums."""

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

from tierops.exports.audiences import (
    write_action_audiences,
    write_day_manifest,
    write_tier_audiences,
)
from tierops.partitions import run_window
from tierops.settings import Settings
from tierops.strategies.assets import CONTACT_LEDGER, plan_strategy
from tierops.tiering.assets import TIER_ASSIGNMENTS
from tierops.tiering.policy import load_policy
from tierops.warehouse import WAREHOUSE_POOL, Warehouse

AUDIENCE_FILES = AssetKey(["audience_files"])


def build_export_asset(settings: Settings, partitions: PartitionsDefinition) -> AssetsDefinition:
    @asset(
        key=AUDIENCE_FILES,
        deps=[TIER_ASSIGNMENTS, CONTACT_LEDGER, AssetKey(["customer_contacts"])],
        group_name="exports",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"csv"},
        description=(
            "outputs/<date>/audiences/tier_<code>.csv, actions/<action>.csv and .holdout.csv "
            "(UTF-8 with BOM, PII masked) and manifest.json, for the last day of the run."
        ),
    )
    def audience_files(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        policy = load_policy(settings.config_dir)
        strategy, planned = plan_strategy(settings)
        _, end = run_window(context)
        day = end - timedelta(days=1)
        day_dir = settings.outputs_dir / day.isoformat()
        with warehouse.connect(read_only=True) as conn:
            files = write_tier_audiences(conn, policy, day, day_dir)
            files += write_action_audiences(conn, planned, day, day_dir)
        manifest = write_day_manifest(day_dir, day, policy, strategy, files)
        counts = {f.key: f.rows for f in files if f.kind == "tier_audience"}
        contacts = {f.key: f.rows for f in files if f.kind == "action_treatment"}
        context.log.info(f"audiences for {day} in {day_dir}: {counts}")
        return MaterializeResult(
            metadata={
                "as_of_date": day.isoformat(),
                "folder": MetadataValue.path(str(day_dir)),
                "manifest": MetadataValue.path(str(manifest)),
                "rows_per_tier": MetadataValue.json(counts),
                "contacts_per_action": MetadataValue.json(contacts),
                "files": len(files),
            }
        )

    return audience_files
