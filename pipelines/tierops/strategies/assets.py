"""The contact ledger asset: decides every day's actions on the warehouse and records them."""

from datetime import date, timedelta

import duckdb
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
from tierops.segments.assets import SEGMENT_MEMBERSHIPS
from tierops.segments.config import load_segments
from tierops.settings import Settings
from tierops.strategies.channels import CHANNELS
from tierops.strategies.config import PlannedAction, Strategy, check_strategy, load_strategy
from tierops.strategies.selection import DECISIONS, window_statements
from tierops.tiering.assets import TIER_ASSIGNMENTS, PolicyInForce, policy_in_force
from tierops.transform.project import model_columns
from tierops.warehouse import WAREHOUSE_POOL, Warehouse, execute_in_transaction

CONTACT_LEDGER = AssetKey(["contact_ledger"])


def plan_strategy(
    settings: Settings, in_force: PolicyInForce | None = None
) -> tuple[Strategy, list[PlannedAction]]:
    """Load the strategy.yaml of the policy in force (config/, or config/presets/orders_only/ in
    reduced mode) and check it against that policy and the feature contract."""
    in_force = in_force or policy_in_force(settings)
    strategy = load_strategy(in_force.config_dir)
    columns = set(model_columns("customer_features"))
    segments = [s.code for s in load_segments(in_force.config_dir).segments]
    planned = check_strategy(
        strategy,
        in_force.tier_codes,
        columns,
        in_force.config_dir / "strategy.yaml",
        segments,
        set(in_force.compiled.unavailable),
    )
    return strategy, planned


def consent_unavailable(planned: list[PlannedAction], unavailable: set[str]) -> list[str]:
    """Actions that require consent on a channel whose consent column no feed supplies."""
    return [
        p.id
        for p in planned
        if p.eligibility.require_consent and CHANNELS[p.channel].consent_column in unavailable
    ]


def funnel(conn: duckdb.DuckDBPyConnection, day: date) -> dict[str, dict[str, int]]:
    """Per action: customers per decision on `day` (zeros included)."""
    rows = conn.execute(
        "select action_id, decision, customers from action_funnel where as_of_date = ?", [day]
    ).fetchall()
    out: dict[str, dict[str, int]] = {}
    for action_id, decision, n in rows:
        out.setdefault(action_id, dict.fromkeys(DECISIONS, 0))[decision] = int(n)
    return out


def build_contact_ledger_asset(
    settings: Settings, partitions: PartitionsDefinition
) -> AssetsDefinition:
    @asset(
        key=CONTACT_LEDGER,
        deps=[TIER_ASSIGNMENTS, SEGMENT_MEMBERSHIPS, AssetKey(["customer_features"])],
        group_name="exports",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "sql"},
        description=(
            "Actions issued per customer and day from the strategy.yaml of the tier policy in force "
            "(treatment and holdout groups) in table contact_ledger, with the per-action funnel in action_funnel."
        ),
    )
    def contact_ledger(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        in_force = policy_in_force(settings)
        try:
            strategy, planned = plan_strategy(settings, in_force)
        except ConfigError as exc:
            raise ConfigError(exc.file, exc.key, exc.problem + " (no data was changed)") from None
        no_consent = consent_unavailable(planned, set(in_force.compiled.unavailable))
        if no_consent:
            context.log.warning(
                "no configured feed supplies consent (optin_* come from the CRM feed): actions "
                f"{', '.join(no_consent)} require consent and contact nobody (decision no_consent)"
            )
        column_types = model_columns("customer_features")
        start, end = run_window(context)
        last = end - timedelta(days=1)
        with warehouse.connect() as conn:
            execute_in_transaction(
                conn, window_statements(strategy, planned, column_types, start, end)
            )
            today = funnel(conn, last)
            issued = conn.execute(
                "select count(*) from contact_ledger where issued_date >= ? and issued_date < ?",
                [start, end],
            ).fetchone()[0]
        contacted = sum(f["treatment"] for f in today.values())
        held_out = sum(f["holdout"] for f in today.values())
        context.log.info(f"actions on {last}: {contacted} contacts, {held_out} held out")
        return MaterializeResult(
            metadata={
                "as_of_date": last.isoformat(),
                **in_force.metadata(settings),
                "strategy_version": strategy.version,
                "actions": len(planned),
                "actions_without_consent_source": MetadataValue.json(no_consent),
                "contacts_today": contacted,
                "holdout_today": held_out,
                "funnel_today": MetadataValue.json(today),
                "ledger_rows_in_window": int(issued),
            }
        )

    return contact_ledger
