"""The CRM membership asset: levels with hysteresis for every day of the run."""

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

from tierops.crm.config import CrmConfig, load_crm
from tierops.crm.sync import statements
from tierops.partitions import run_window
from tierops.settings import Settings
from tierops.tiering.assets import TIER_ASSIGNMENTS, PolicyInForce, policy_in_force
from tierops.warehouse import WAREHOUSE_POOL, Warehouse, execute_in_transaction

CRM_MEMBERSHIP = AssetKey(["crm_membership"])


def crm_config(settings: Settings, in_force: PolicyInForce | None = None) -> CrmConfig:
    """The crm.yaml of the policy in force, every tier of that policy mapped to a level."""
    in_force = in_force or policy_in_force(settings)
    return load_crm(in_force.config_dir, in_force.tier_codes)


def build_crm_asset(settings: Settings, partitions: PartitionsDefinition) -> AssetsDefinition:
    @asset(
        key=CRM_MEMBERSHIP,
        deps=[TIER_ASSIGNMENTS],
        group_name="exports",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "sql"},
        description=(
            "Membership level per customer and day from the crm.yaml of the tier policy in "
            "force: best level earned in the last grace_days days (upgrades at once, "
            "downgrades after the grace period)."
        ),
    )
    def crm_membership(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        in_force = policy_in_force(settings)
        config = crm_config(settings, in_force)
        start, end = run_window(context)
        last = end - timedelta(days=1)
        with warehouse.connect() as conn:
            execute_in_transaction(conn, statements(config, start, end))
            levels = dict(
                conn.execute(
                    "select level_code, count(*) from crm_membership where as_of_date = ? "
                    "group by 1 order by 1",
                    [last],
                ).fetchall()
            )
            changes = dict(
                conn.execute(
                    "select change, count(*) from crm_membership where as_of_date = ? "
                    "group by 1 order by 1",
                    [last],
                ).fetchall()
            )
            grace = conn.execute(
                "select count(*) from crm_membership where as_of_date = ? and in_grace", [last]
            ).fetchone()[0]
        context.log.info(f"membership levels on {last}: {levels}; changes {changes}")
        return MaterializeResult(
            metadata={
                "as_of_date": last.isoformat(),
                **in_force.metadata(settings),
                "crm_version": config.version,
                "grace_days": config.grace_days,
                "customers_per_level": MetadataValue.json({k: int(v) for k, v in levels.items()}),
                "changes_today": MetadataValue.json({k: int(v) for k, v in changes.items()}),
                "kept_by_grace_period": int(grace),
            }
        )

    return crm_membership
