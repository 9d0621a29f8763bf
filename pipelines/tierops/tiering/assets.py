"""The tiering asset: runs the compiled policy on the warehouse for every day of the window."""

from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
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

from tierops.checks.config import load_checks_config
from tierops.ingestion.mapping import load_mappings
from tierops.lib.configfile import ConfigError
from tierops.partitions import run_window
from tierops.settings import Settings
from tierops.tiering.engine import (
    ASSIGNMENTS_COLUMNS,
    ASSIGNMENTS_DDL,
    THRESHOLDS_COLUMNS,
    THRESHOLDS_DDL,
    CompiledPolicy,
    statements,
)
from tierops.tiering.policy import TierPolicy, check_expressions, load_policy, with_line
from tierops.tiering.thresholds import resolve_for_run
from tierops.transform.project import feature_sources, model_columns
from tierops.warehouse import WAREHOUSE_POOL, Warehouse, execute_in_transaction

TIER_ASSIGNMENTS = AssetKey(["tier_assignments"])
SHARE_CHECK = "tier_shares_vs_previous_day"


REDUCED_PRESET = Path("presets") / "orders_only.yaml"
# Files that name tiers. They belong to a policy: config/ holds those of config/tier_policy.yaml,
# config/presets/<name>/ those of config/presets/<name>.yaml (read in reduced mode, or copied over
# config/ with the preset's policy to switch industry).
TIER_FILES = ("strategy.yaml", "crm.yaml", "segments.yaml", "reporting.yaml", "checks.yaml")


def compile_policy(
    settings: Settings, file: Path | None = None, entities: set[str] | None = None
) -> CompiledPolicy:
    """Load and validate the policy against the feature contract and the configured feeds.

    Touches no data. When the feeds cannot supply a feature the policy uses (no behaviour events,
    no CRM) and the policy allows it, the orders-only preset runs instead (reduced mode); the
    result names the features that were unavailable.
    """
    file = file or settings.config_dir / "tier_policy.yaml"
    columns = model_columns("customer_features")
    compiled = _compile(settings, file, columns)
    if entities is None:
        entities = {m.entity for m in load_mappings(settings.config_dir)}
    unavailable = tuple(sorted(c for c, e in feature_sources().items() if e not in entities))
    missing = sorted(compiled.used_columns & set(unavailable))
    if not missing:
        return replace(compiled, unavailable=unavailable)
    needs = sorted({feature_sources()[c] for c in missing})
    problem = (
        f"uses {', '.join(missing)}, which need a feed of {' and '.join(needs)}; no file in "
        f"{settings.config_dir / 'channels'} provides one"
    )
    if compiled.policy.when_features_missing == "fail":
        raise ConfigError(file, "when_features_missing", problem + " (policy says: fail)")
    return _compile_reduced(settings, columns, unavailable, compiled.policy.version)


def _compile_reduced(
    settings: Settings, columns: dict[str, str], unavailable: tuple[str, ...], replaced: str
) -> CompiledPolicy:
    reduced_file = settings.config_dir / REDUCED_PRESET
    reduced = _compile(settings, reduced_file, columns)
    still = sorted(reduced.used_columns & set(unavailable))
    if still:
        raise ConfigError(reduced_file, "", f"reduced mode also needs {', '.join(still)}")
    return replace(reduced, unavailable=unavailable, replaced=replaced)


@dataclass(frozen=True)
class PolicyInForce:
    """The policy tiers are actually assigned with, and the folder of the files that go with it.

    Full mode: config/tier_policy.yaml with config/strategy.yaml, crm.yaml, segments.yaml,
    reporting.yaml and checks.yaml. Reduced mode: config/presets/orders_only.yaml with the same
    files from config/presets/orders_only/, so strategies, CRM levels, segments, KPIs and tier
    checks name the tiers that were actually assigned. Tier codes in those files are checked
    against this policy.
    """

    compiled: CompiledPolicy
    config_dir: Path

    @property
    def policy(self) -> TierPolicy:
        return self.compiled.policy

    @property
    def tier_codes(self) -> list[str]:
        return [t.code for t in self.compiled.policy.tiers]

    @property
    def mode(self) -> str:
        return "reduced" if self.compiled.replaced else "full"

    def metadata(self, settings: Settings) -> dict[str, str]:
        """Policy, mode and config folder, for the metadata of every step that reads tier files."""
        try:
            folder = str(self.config_dir.relative_to(settings.config_dir.parent))
        except ValueError:
            folder = str(self.config_dir)
        return {
            "policy_version": self.policy.version,
            "mode": self.mode,
            "tier_config_dir": folder,
        }


def reduced_fallback(settings: Settings) -> PolicyInForce | None:
    """The policy and files reduced mode would switch to if a feed went missing (for `tierops
    validate`, so a typo there shows up before the night it is needed); None when the
    configured policy says `when_features_missing: fail` or already runs reduced."""
    compiled = compile_policy(settings)
    if compiled.replaced or compiled.policy.when_features_missing != "reduced":
        return None
    columns = model_columns("customer_features")
    unavailable = tuple(sorted(set(feature_sources())))
    reduced = _compile_reduced(settings, columns, unavailable, compiled.policy.version)
    return policy_in_force(settings, reduced)


def policy_in_force(settings: Settings, compiled: CompiledPolicy | None = None) -> PolicyInForce:
    """The policy in force (configured, or the orders-only preset in reduced mode) and the folder
    its strategy/CRM/segments/reporting files are read from. Touches no data."""
    compiled = compiled or compile_policy(settings)
    folder = settings.config_dir
    if compiled.replaced:
        folder = settings.config_dir / REDUCED_PRESET.with_suffix("")
    return PolicyInForce(compiled=compiled, config_dir=folder)


def _compile(settings: Settings, file: Path, columns: dict[str, str]) -> CompiledPolicy:
    policy = load_policy(settings.config_dir, file)
    try:
        parsed = check_expressions(policy, set(columns), file)
    except ConfigError as exc:
        raise with_line(exc) from None
    types = dict(columns)
    types.update({c: "integer" for c in (policy.scores.columns() if policy.scores else [])})
    return CompiledPolicy(policy=policy, expressions=parsed, column_types=types)


def ensure_output_tables(conn: duckdb.DuckDBPyConnection) -> None:
    """Create the output tables, adding columns a newer tierops writes to an older warehouse."""
    for table, ddl, columns in (
        ("tier_assignments", ASSIGNMENTS_DDL, ASSIGNMENTS_COLUMNS),
        ("tier_thresholds", THRESHOLDS_DDL, THRESHOLDS_COLUMNS),
    ):
        conn.execute(ddl)
        have = {
            r[0]
            for r in conn.execute(
                "select column_name from information_schema.columns where table_name = ?",
                [table],
            ).fetchall()
        }
        for name, kind in columns.items():
            if name not in have:
                conn.execute(
                    f"alter table {table} add column {name} {kind.replace(' not null', '')}"
                )


def tier_counts(conn: duckdb.DuckDBPyConnection, day: date) -> dict[str, int]:
    rows = conn.execute(
        "select tier_code, count(*) from tier_assignments where as_of_date = ? and is_primary "
        "group by tier_code order by tier_code",
        [day],
    ).fetchall()
    return {code: int(n) for code, n in rows}


def shares(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()} if total else {}


def share_changes(today: dict[str, int], previous: dict[str, int]) -> dict[str, float]:
    """Change of each tier's share in percentage points (tiers missing on one side count as 0)."""
    now, before = shares(today), shares(previous)
    return {
        t: round(100 * (now.get(t, 0.0) - before.get(t, 0.0)), 3)
        for t in sorted(set(now) | set(before))
    }


def build_tiering_asset(settings: Settings, partitions: PartitionsDefinition) -> AssetsDefinition:
    @asset(
        key=TIER_ASSIGNMENTS,
        deps=[AssetKey(["customer_features"])],
        group_name="tiering",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        pool=WAREHOUSE_POOL,
        kinds={"duckdb", "sql"},
        description="Every customer's tier per day, from config/tier_policy.yaml, with the rule and values that decided it.",
        check_specs=[
            AssetCheckSpec(
                SHARE_CHECK,
                asset=TIER_ASSIGNMENTS,
                description="Each tier's share of customers moved at most N percentage points since the previous day",
            )
        ],
    )
    def tier_assignments(context: AssetExecutionContext, warehouse: Warehouse) -> MaterializeResult:
        try:
            compiled = compile_policy(settings)
        except ConfigError as exc:
            raise ConfigError(exc.file, exc.key, exc.problem + " (no data was changed)") from None
        in_force = policy_in_force(settings, compiled)
        if compiled.replaced:
            context.log.warning(
                f"reduced mode: policy {compiled.replaced} needs features the feeds cannot supply; "
                f"tiering with {compiled.policy.version} (recency, order count, total amount); "
                f"strategy, CRM, segments, reporting and checks from {in_force.config_dir}. "
                f"Unavailable features: {', '.join(compiled.unavailable)}"
            )
        elif compiled.unavailable:
            context.log.info(f"features without a feed: {', '.join(compiled.unavailable)}")
        check_cfg = load_checks_config(in_force.config_dir).tier_share_change
        start, end = run_window(context)
        last = end - timedelta(days=1)
        with warehouse.connect() as conn:
            ensure_output_tables(conn)
            frozen, calibrated_now = resolve_for_run(conn, compiled, start, last)
            if calibrated_now:
                context.log.warning(
                    f"no threshold set existed: calibrated v{frozen.version} on {last} and made it "
                    "active; later runs reuse it until `tierops calibrate` makes a new one"
                )
            execute_in_transaction(
                conn,
                statements(
                    compiled,
                    start,
                    end,
                    threshold_version=frozen.version if frozen else None,
                    calibrated={n: v.value for n, v in frozen.values.items()} if frozen else None,
                ),
            )
            today = tier_counts(conn, last)
            previous = tier_counts(conn, last - timedelta(days=1))
            days_written = conn.execute(
                "select count(distinct as_of_date), count(*) from tier_assignments "
                "where as_of_date >= ? and as_of_date < ?",
                [start, end],
            ).fetchone()
        changes = share_changes(today, previous)
        worst = max((abs(v) for v in changes.values()), default=0.0)
        passed = not previous or worst <= check_cfg.max_abs_change_pp
        severity = (
            AssetCheckSeverity.ERROR if check_cfg.severity == "error" else AssetCheckSeverity.WARN
        )
        total = sum(today.values())
        context.log.info(f"tiers on {last}: {today}")
        return MaterializeResult(
            metadata={
                "as_of_date": last.isoformat(),
                "policy_version": compiled.policy.version,
                "mode": "reduced" if compiled.replaced else "full",
                "configured_policy": compiled.replaced or compiled.policy.version,
                "tier_config_dir": in_force.metadata(settings)["tier_config_dir"],
                "unavailable_features": MetadataValue.json(list(compiled.unavailable)),
                "threshold_version": frozen.version if frozen else None,
                "thresholds": MetadataValue.json(
                    {v.label: v.value for v in frozen.values.values()} if frozen else {}
                ),
                "threshold_adjustments": MetadataValue.json(
                    [f"{a.cut}: {a.describe()}" for a in compiled.policy.threshold_adjustments]
                ),
                "assignment": compiled.policy.assignment,
                "customers": total,
                "tier_counts": MetadataValue.json(today),
                "tier_shares_pct": MetadataValue.json(
                    {k: round(100 * v, 2) for k, v in shares(today).items()}
                ),
                "days_in_window": int(days_written[0]),
                "rows_written": int(days_written[1]),
            },
            check_results=[
                AssetCheckResult(
                    check_name=SHARE_CHECK,
                    passed=passed,
                    severity=severity,
                    metadata={
                        "as_of_date": last.isoformat(),
                        "change_pp": MetadataValue.json(changes),
                        "largest_change_pp": MetadataValue.float(worst),
                        "limit_pp": MetadataValue.float(check_cfg.max_abs_change_pp),
                        "previous_day_available": bool(previous),
                    },
                    description=(
                        "no previous day to compare with"
                        if not previous
                        else f"largest change {worst:.2f} pp (limit {check_cfg.max_abs_change_pp} pp)"
                    ),
                )
            ],
        )

    return tier_assignments
