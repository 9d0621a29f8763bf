"""The segment asset: memberships of every dated segment for every day of the run."""

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

from tierops.lib.configfile import ConfigError
from tierops.partitions import run_window
from tierops.segments.config import SegmentsConfig, check_segments, load_segments
from tierops.segments.membership import statements
from tierops.settings import Settings
from tierops.tiering import expressions
from tierops.tiering.assets import TIER_ASSIGNMENTS, PolicyInForce, policy_in_force
from tierops.transform.project import model_columns
from tierops.warehouse import WAREHOUSE_POOL, Warehouse, execute_in_transaction

SEGMENT_MEMBERSHIPS = AssetKey(["segment_memberships"])


def plan_segments(
    settings: Settings, in_force: PolicyInForce | None = None
) -> tuple[SegmentsConfig, dict[str, expressions.Expression]]:
    """The segments.yaml of the policy in force, rules parsed and tier codes checked."""
    in_force = in_force or policy_in_force(settings)
    config = load_segments(in_force.config_dir)
    rules = check_segments(
        config,
        in_force.tier_codes,
        set(model_columns("customer_features")),
        in_force.config_dir / "segments.yaml",
        set(in_force.compiled.unavailable),
    )
    return config, rules


def build_segments_asset(settings: Settings, partitions: PartitionsDefinition) -> AssetsDefinition:
    @asset(
        key=SEGMENT_MEMBERSHIPS,
        deps=[TIER_ASSIGNMENTS, AssetKey(["customer_features"])],
        group_name="exports",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "sql"},
        description=(
            "Members of every dated segment of the segments.yaml of the tier policy in force, "
            "per day, with the primary segment by precedence (table segment_memberships)."
        ),
    )
    def segment_memberships(
        context: AssetExecutionContext, warehouse: Warehouse
    ) -> MaterializeResult:
        in_force = policy_in_force(settings)
        try:
            config, rules = plan_segments(settings, in_force)
        except ConfigError as exc:
            raise ConfigError(exc.file, exc.key, exc.problem + " (no data was changed)") from None
        start, end = run_window(context)
        last = end - timedelta(days=1)
        with warehouse.connect() as conn:
            execute_in_transaction(conn, statements(config, rules, start, end))
            rows = conn.execute(
                "select segment_code, count(*), count(*) filter (where is_primary) "
                "from segment_memberships where as_of_date = ? group by 1 order by 1",
                [last],
            ).fetchall()
        sizes = {code: {"members": int(n), "primary": int(p)} for code, n, p in rows}
        active = [s.code for s in config.segments if s.active_on(last)]
        context.log.info(f"segments on {last}: {sizes}")
        return MaterializeResult(
            metadata={
                "as_of_date": last.isoformat(),
                **in_force.metadata(settings),
                "segments_active": MetadataValue.json(active),
                "members_today": MetadataValue.json(sizes),
            }
        )

    return segment_memberships
