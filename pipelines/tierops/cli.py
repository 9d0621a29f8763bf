"""`tierops`: a thin command line over Dagster's Python API, so every run is recorded in the
instance and shows up in the UI exactly like a scheduled one."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from tierops.settings import PROJECT_ROOT, Settings, get_settings

if TYPE_CHECKING:
    from tierops.tiering.assets import PolicyInForce

DEMO_START = date(2024, 9, 1)
DEMO_END = date(2025, 11, 30)


def _ensure_dagster_home() -> Path:
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        template = PROJECT_ROOT / "dagster_home" / "dagster.yaml"
        (home / "dagster.yaml").write_text(template.read_text(encoding="utf-8"), encoding="utf-8")
    return home


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date like 2025-06-18, got {text!r}") from None


def _say(message: str) -> None:
    print(f"[tierops] {message}", file=sys.stderr, flush=True)


# --- commands -------------------------------------------------------------------------------


def cmd_generate(args: argparse.Namespace) -> int:
    from tierops.generator import GeneratorConfig, generate

    settings = get_settings()
    extra = tuple(_parse_promotion(p) for p in args.promotion or ())
    config = GeneratorConfig(
        customers=args.customers,
        start=args.start,
        end=args.end,
        seed=args.seed,
        bad_row_rate=args.bad_row_rate,
        extra_promotions=extra,
        industry=args.industry,
    )
    landing = Path(args.landing) if args.landing else settings.landing_dir
    truth = Path(args.truth) if args.truth else settings.truth_dir
    _say(
        f"generating {config.customers:,} customers, {config.start} .. {config.end} into {landing}"
    )
    summary = generate(config, landing, truth, progress=_say)
    _say(
        f"done in {summary.seconds:.1f}s: {summary.orders:,} orders, {summary.events:,} events, "
        f"{summary.members:,} member rows, {summary.files:,} files"
    )
    return 0


def _parse_promotion(text: str):
    from tierops.generator import Promotion

    try:
        name, start, days, mult = text.split(":")
        return Promotion(
            name=name, start=date.fromisoformat(start), days=int(days), order_multiplier=float(mult)
        )
    except ValueError:
        raise SystemExit(
            f"--promotion expects NAME:YYYY-MM-DD:DAYS:MULTIPLIER, got {text!r}"
        ) from None


def cmd_run(args: argparse.Namespace) -> int:
    return _execute(args.date, args.date)


def cmd_backfill(args: argparse.Namespace) -> int:
    if args.end < args.start:
        raise SystemExit("--end must not be before --start")
    if not args.history or args.end == args.start:
        return _execute(args.start, args.end)
    # Initial load: every feed for every day but the last in one run, then one complete run for
    # the last day. Features, tiers and audiences of each past day are not computed (a year of
    # them is customers × 365 rows nobody reads); the last day's features see all history.
    from tierops.ingestion.assets import feed_asset_key
    from tierops.ingestion.mapping import load_mappings

    feeds = [feed_asset_key(m) for m in load_mappings(get_settings().config_dir)]
    code = _execute(args.start, args.end - timedelta(days=1), assets=feeds, what="feeds only")
    return code or _execute(args.end, args.end)


def cmd_demo(args: argparse.Namespace) -> int:
    settings = get_settings()
    started = time.monotonic()
    if not args.skip_generate:
        gen = argparse.Namespace(
            customers=args.customers,
            start=DEMO_START,
            end=DEMO_END,
            seed=7,
            bad_row_rate=0.0005,
            promotion=None,
            industry="retail",
            landing=None,
            truth=None,
        )
        cmd_generate(gen)
    code = _execute(DEMO_START, DEMO_END)
    if code == 0:
        _say(
            f"demo finished in {time.monotonic() - started:.0f}s; outputs in {settings.outputs_dir}"
        )
        report = settings.outputs_dir / DEMO_END.isoformat() / "report.html"
        if report.exists():
            _say(f"report page (open in a browser): {report}")
    return code


def cmd_ui(args: argparse.Namespace) -> int:
    _ensure_dagster_home()
    from tierops.transform.project import prepare_manifest

    prepare_manifest()
    cmd = [
        str(Path(sys.executable).parent / "dagster"),
        "dev",
        "-w",
        str(PROJECT_ROOT / "workspace.yaml"),
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    _say(
        f"starting Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={os.environ['DAGSTER_HOME']})"
    )
    return subprocess.call(cmd, cwd=PROJECT_ROOT)


def cmd_validate(_args: argparse.Namespace) -> int:
    """Check every config file without touching data."""
    from tierops.drift.promotions import load_promotions
    from tierops.exports.destinations import load_destinations
    from tierops.identity.config import load_identity_config
    from tierops.ingestion.mapping import load_mappings
    from tierops.tiering.assets import policy_in_force, reduced_fallback
    from tierops.transform.project import prepare_manifest

    settings = get_settings()
    prepare_manifest()
    mappings = load_mappings(settings.config_dir)
    _say(f"channels: {', '.join(m.feed for m in mappings)}")
    in_force = policy_in_force(settings)
    if in_force.compiled.replaced:
        _say(
            f"reduced mode: the feeds cannot supply {', '.join(in_force.compiled.unavailable)}; "
            f"policy {in_force.compiled.replaced} is replaced by {in_force.policy.version}"
        )
    validate_tier_files(settings, in_force)
    fallback = reduced_fallback(settings)
    if fallback is not None:
        _say("if a feed goes missing (reduced mode):")
        validate_tier_files(settings, fallback)
    load_destinations(settings.config_dir)
    load_identity_config(settings.config_dir)
    load_promotions(settings.config_dir)
    _say("all config files are valid")
    return 0


def validate_tier_files(settings: Settings, in_force: PolicyInForce) -> None:
    """Check a policy and the files naming its tiers (strategy, CRM, segments, reporting,
    checks) in `in_force.config_dir`; prints a summary, raises ConfigError."""
    from tierops.checks.config import check_tier_bounds, checked_features, load_checks_config
    from tierops.crm.assets import crm_config
    from tierops.reporting.config import load_reporting_config
    from tierops.segments.assets import plan_segments
    from tierops.strategies.assets import plan_strategy

    _say(f"tier policy {in_force.policy.version}: {', '.join(in_force.tier_codes)}")
    _say(f"  its strategy, CRM, segment, reporting and check files: {in_force.config_dir}")
    segments, _ = plan_segments(settings, in_force)
    _say(f"  segments: {', '.join(s.code for s in segments.segments) or '(none)'}")
    strategy, planned = plan_strategy(settings, in_force)
    _say(f"  strategy {strategy.version}: {len(planned)} actions over {', '.join(strategy.tiers)}")
    crm = crm_config(settings, in_force)
    _say(f"  crm {crm.version}: {len(crm.levels)} levels, grace {crm.grace_days} days")
    load_reporting_config(in_force.config_dir, in_force.policy)
    checks = load_checks_config(in_force.config_dir)
    checked_features(
        checks,
        set(in_force.compiled.column_types),
        in_force.config_dir,
        set(in_force.compiled.unavailable),
    )
    check_tier_bounds(checks, in_force.tier_codes, in_force.config_dir / "checks.yaml")


def cmd_calibrate(args: argparse.Namespace) -> int:
    """Calibrate a new threshold set on a window, store it as a candidate, report its impact."""
    from tierops.drift.recalibration import excluded_days, recalibrate
    from tierops.tiering.assets import compile_policy
    from tierops.tiering.thresholds import ThresholdError, active_version, set_active
    from tierops.transform.project import prepare_manifest

    settings = get_settings()
    prepare_manifest()
    compiled = compile_policy(settings)
    if not compiled.quantiles:
        _say(f"policy {compiled.policy.version} has no quantile cut points: nothing to calibrate")
        return 0
    with _warehouse().connect() as conn:
        has_features = conn.execute(
            "select count(*) from information_schema.tables where table_name = 'customer_features'"
        ).fetchone()[0]
        if not has_features:
            _say(
                "the warehouse has no customer_features yet: run `tierops run` or `backfill` first"
            )
            return 1
        end = (
            args.end or conn.execute("select max(as_of_date) from customer_features").fetchone()[0]
        )
        start = args.start or end
        try:
            excluded = excluded_days(
                start, end, args.exclude or [], args.exclude_promotions, settings.config_dir
            )
        except ValueError as exc:
            raise SystemExit(f"--{exc}") from None
        before = active_version(conn)
        try:
            report = recalibrate(
                conn,
                compiled,
                start,
                end,
                settings.outputs_dir,
                exclude=excluded,
                impact_day=args.impact_date,
                source=f"tierops calibrate ({settings.warehouse_path.name})",
                note=args.note or "",
            )
        except ThresholdError as exc:
            _say(f"calibration failed: {exc}")
            return 1
        made = report.candidate
        if args.adopt or before is None:
            set_active(conn, made.version)
    _say(
        f"threshold set v{made.version} from {made.window_start} .. {made.window_end}"
        f"{f' without {len(made.excluded_dates)} excluded days' if made.excluded_dates else ''}: "
        f"{made.rows_used:,} customer-days of {made.customers:,} customers "
        f"(policy {made.policy_version}, data fingerprint {made.fingerprint})"
    )
    old = report.previous.values if report.previous else {}
    for name, value in made.values.items():
        shown = "null" if value.value is None else f"{value.value:,.2f}"
        was = old.get(name)
        before_text = f"  (active: {was.value:,.2f})" if was and was.value is not None else ""
        _say(f"  {value.label:<32} {shown:>14}{before_text}")
    _say(
        f"impact on {report.day}: {report.moved:,} of {report.migration.customers:,} customers "
        f"would change tier; report in {report.folder}"
    )
    for line in report.migration.table().splitlines():
        _say(f"  {line}")
    if args.adopt or before is None:
        note = "" if before is None or args.adopt else " (no set was active)"
        _say(f"v{made.version} is now the ACTIVE set{note}; the next run uses it")
    else:
        _say(
            f"v{made.version} is stored as a candidate; v{before} stays active "
            f"(review the report, then `tierops thresholds adopt {made.version}`)"
        )
    return 0


def cmd_thresholds(args: argparse.Namespace) -> int:
    """List threshold set versions, or adopt one."""
    from tierops.drift.recalibration import impact_rows
    from tierops.tiering.thresholds import ThresholdError, load_set, set_active, versions

    if args.action == "adopt":
        with _warehouse().connect() as conn:
            try:
                tset = load_set(conn, args.version)
            except ThresholdError as exc:
                raise SystemExit(str(exc)) from None
            set_active(conn, tset.version)
        _say(
            f"v{tset.version} is now the ACTIVE threshold set. Days already processed keep the "
            "set they were made with; re-run the days that should use it, e.g. "
            "`tierops backfill --start <first> --end <last>`"
        )
        return 0
    with _warehouse().connect() as conn:
        sets = versions(conn)
        moved = {
            t.version: sum(n for f, to, n in impact_rows(conn, t.version) if f != to)
            for t in sets
            if impact_rows(conn, t.version)
        }
    if not sets:
        print("no threshold sets yet (the first tiering run calibrates one)")
        return 0
    print(
        f"{'version':>7}  {'status':<9}  {'window':<23}  {'excl':>4}  {'customers':>9}  "
        f"{'moves':>7}  {'created':<19}  note"
    )
    for t in sets:
        window = f"{t.window_start} .. {t.window_end}"
        moves = f"{moved[t.version]:,}" if t.version in moved else "-"
        print(
            f"{t.version:>7}  {t.status:<9}  {window:<23}  {len(t.excluded_dates):>4}  "
            f"{t.customers:>9,}  {moves:>7}  {t.created_at!s:<19}  {t.note or t.source}"
        )
    return 0


def cmd_clusters(args: argparse.Namespace) -> int:
    """Cluster a sample of one day's customers and compare with the rule tiers (read-only)."""
    from tierops.tiering.assets import compile_policy
    from tierops.tiering.clustering import cluster_report
    from tierops.transform.project import prepare_manifest

    settings = get_settings()
    prepare_manifest()
    compiled = compile_policy(settings)
    with _warehouse().connect(read_only=True) as conn:
        day = (
            args.date or conn.execute("select max(as_of_date) from tier_assignments").fetchone()[0]
        )
        try:
            report = cluster_report(
                conn,
                compiled,
                day,
                settings.outputs_dir,
                k=args.k,
                sample=args.sample,
                features=args.feature or None,
            )
        except ValueError as exc:
            raise SystemExit(str(exc)) from None
    _say(
        f"{report.k} clusters on {report.sample:,} customers of {report.day} "
        f"({', '.join(report.features)}); clusters never assign tiers"
    )
    for line in report.crosstab.to_string().splitlines():
        _say(f"  {line}")
    for feature, cuts in report.suggested.items():
        _say(f"  suggested cut points {feature}: {', '.join(f'{c:,.2f}' for c in cuts)}")
    _say(f"report: {report.folder / 'report.md'}")
    return 0


def _warehouse():
    from tierops.warehouse import Warehouse

    settings = get_settings()
    if not settings.warehouse_path.exists():
        raise SystemExit(f"no warehouse at {settings.warehouse_path}: run `tierops backfill` first")
    return Warehouse(
        path=str(settings.warehouse_path),
        lock_timeout_seconds=settings.project.warehouse_lock_timeout_seconds,
    )


def cmd_migration(args: argparse.Namespace) -> int:
    """Print the tier migration matrix between two snapshot days."""
    from tierops.drift.migration import Side, migration, snapshot_dates

    with _warehouse().connect(read_only=True) as conn:
        days = set(snapshot_dates(conn))
        for day in (args.from_date, args.to_date):
            if day not in days:
                raise SystemExit(
                    f"no tier snapshot for {day}; run `tierops run --date {day}` first"
                )
        matrix = migration(conn, Side(args.from_date), Side(args.to_date), args.subtiers)
    if args.json:
        print(json.dumps(matrix.as_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"tier migration {args.from_date} -> {args.to_date} (rows: from, columns: to)")
    print(matrix.table())
    share = matrix.moved / matrix.customers if matrix.customers else 0.0
    print(f"{matrix.moved:,} of {matrix.customers:,} customers changed tier ({share:.1%})")
    return 0


# --- running the job ------------------------------------------------------------------------


def _execute(first: date, last: date, assets: list | None = None, what: str = "") -> int:
    """Run the nightly job (or some of its assets) over [first, last] (inclusive) as one run."""
    _ensure_dagster_home()
    from tierops.transform.project import prepare_manifest

    prepare_manifest()
    from dagster import DagsterInstance, execute_job, reconstructable

    from tierops import definitions

    tags = {
        "dagster/asset_partition_range_start": first.isoformat(),
        "dagster/asset_partition_range_end": last.isoformat(),
        "tierops/launched_by": "cli",
    }
    days = (last - first).days + 1
    scope = f" ({what})" if what else ""
    _say(
        f"running tierops_nightly{scope} for {first} .. {last} "
        f"({days} day{'s' * (days > 1)}) as one run"
    )
    started = time.monotonic()
    with DagsterInstance.get() as instance:
        result = execute_job(
            reconstructable(definitions.tierops_nightly),
            instance=instance,
            tags=tags,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
            raise_on_error=False,
            asset_selection=assets,
        )
        _summarise(result, last, time.monotonic() - started)
    return 0 if result.success else 1


def _summarise(result, last: date, seconds: float) -> None:
    settings = get_settings()
    status = "succeeded" if result.success else "FAILED"
    _say(f"run {result.run_id} {status} in {seconds:.0f}s (open `tierops ui` → Runs to inspect it)")
    for event in result.all_events:
        if event.is_step_failure:
            error = event.event_specific_data.error
            cause = (
                error.cause.message if error and error.cause else (error.message if error else "")
            )
            _say(f"  step {event.step_key} failed: {cause.strip()}")
    manifest = settings.outputs_dir / last.isoformat() / "manifest.json"
    if result.success and manifest.exists():
        body = json.loads(manifest.read_text(encoding="utf-8"))
        _say(f"customers on {last}: {body['customers']:,} (policy {body['policy_version']})")
        for tier, count in body["tier_counts"].items():
            _say(f"  {tier:<12} {count:>8,}")
        _say(f"audience files: {manifest.parent / 'audiences'}")
        actions = body.get("action_counts", {})
        if actions:
            _say(f"action lists ({body['strategy_version']}): {manifest.parent / 'actions'}")
            for action, n in actions.items():
                _say(
                    f"  {action:<22} {n.get('treatment', 0):>7,} to contact, "
                    f"{n.get('holdout', 0):>6,} held out"
                )
        if (manifest.parent / "crm").exists():
            _say(f"CRM sync file: {manifest.parent / 'crm'}")
        report = manifest.parent / "report.html"
        if report.exists():
            _say(f"report page: {report}")


# --- argument parsing -----------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tierops", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser("generate", help="write a deterministic demo data set as landing files")
    gen.add_argument("--customers", type=int, default=20_000)
    gen.add_argument("--start", type=_parse_date, default=DEMO_START)
    gen.add_argument("--end", type=_parse_date, default=DEMO_END, help="inclusive")
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument("--bad-row-rate", type=float, default=0.0005)
    gen.add_argument("--industry", default="retail")
    gen.add_argument(
        "--promotion", action="append", help="extra promotion NAME:START:DAYS:MULTIPLIER"
    )
    gen.add_argument("--landing", help="landing folder (default: $TIEROPS_HOME/landing)")
    gen.add_argument("--truth", help="ground-truth folder (default: $TIEROPS_HOME/truth)")
    gen.set_defaults(func=cmd_generate)

    run = sub.add_parser("run", help="process one day (a partition) end to end")
    run.add_argument("--date", type=_parse_date, default=date.today() - timedelta(days=1))
    run.set_defaults(func=cmd_run)

    back = sub.add_parser("backfill", help="process a date range in one run (one dbt call)")
    back.add_argument("--start", type=_parse_date, required=True)
    back.add_argument("--end", type=_parse_date, required=True, help="inclusive")
    back.add_argument(
        "--history",
        action="store_true",
        help="initial load: ingest every day, compute features/tiers/audiences for --end only",
    )
    back.set_defaults(func=cmd_backfill)

    demo = sub.add_parser("demo", help="generate ~20k customers over 15 months and process it all")
    demo.add_argument("--customers", type=int, default=20_000)
    demo.add_argument(
        "--skip-generate", action="store_true", help="reuse the landing files already there"
    )
    demo.set_defaults(func=cmd_demo)

    ui = sub.add_parser("ui", help="start the Dagster UI (dagster dev) on this project")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=cmd_ui)

    cal = sub.add_parser(
        "calibrate", help="compute quantile cut points once on a window; store a new version"
    )
    cal.add_argument("--start", type=_parse_date, help="first day (default: --end)")
    cal.add_argument(
        "--end", type=_parse_date, help="last day, inclusive (default: newest day of features)"
    )
    cal.add_argument(
        "--adopt", action="store_true", help="make the new set active (the first set always is)"
    )
    cal.add_argument("--note", help="free text stored with the set (why it was made)")
    cal.add_argument(
        "--exclude",
        action="append",
        metavar="START:END",
        help="leave these days (inclusive) out of the window; repeatable",
    )
    cal.add_argument(
        "--exclude-promotions",
        action="store_true",
        help="leave out the promotions of config/promotions.yaml (plus their settle days)",
    )
    cal.add_argument(
        "--impact-date", type=_parse_date, help="day to compare on (default: newest snapshot)"
    )
    cal.set_defaults(func=cmd_calibrate)

    thr = sub.add_parser("thresholds", help="threshold set versions: list, adopt VERSION")
    thr_sub = thr.add_subparsers(dest="action", required=True)
    thr_sub.add_parser("list", help="every version with status, window and impact")
    adopt = thr_sub.add_parser("adopt", help="make VERSION the active set")
    adopt.add_argument("version", type=int)
    thr.set_defaults(func=cmd_thresholds)

    mig = sub.add_parser("migration", help="tier migration matrix between two days (from -> to)")
    mig.add_argument("--from", dest="from_date", type=_parse_date, required=True)
    mig.add_argument("--to", dest="to_date", type=_parse_date, required=True)
    mig.add_argument("--json", action="store_true", help="machine-readable output")
    mig.add_argument("--subtiers", action="store_true", help="split tiers into their sub-tiers")
    mig.set_defaults(func=cmd_migration)

    clu = sub.add_parser(
        "clusters", help="k-means on a sample vs the rule tiers: a report that suggests cut points"
    )
    clu.add_argument("--date", type=_parse_date, help="day to look at (default: newest tiers)")
    clu.add_argument("--k", type=int, default=5, help="number of clusters")
    clu.add_argument("--sample", type=int, default=5000, help="customers in the sample")
    clu.add_argument(
        "--feature", action="append", help="feature column (repeat; default: the policy's)"
    )
    clu.set_defaults(func=cmd_clusters)

    val = sub.add_parser("validate", help="check every config file without touching data")
    val.set_defaults(func=cmd_validate)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    # a range run plans each asset once instead of once per day (thousands of events in a backfill)
    os.environ.setdefault("DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS", "true")
    # and hands a range's per-day materializations to the event storage as one batch
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "1000")
    args = build_parser().parse_args(argv)
    from tierops.lib.configfile import ConfigError

    try:
        return args.func(args)
    except ConfigError as exc:
        _say(f"config error: {exc}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
