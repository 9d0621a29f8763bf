"""Recalibration as a reviewed step: candidate set → impact report → adopt → re-run.

`recalibrate` stores a new threshold set as a CANDIDATE (nothing changes for nightly runs) and
tiers one day with it into a what-if table, next to that day's real snapshot. The per-customer
comparison stays in the warehouse (`threshold_impact`); the report files hold the counts:

    outputs/calibration/v<version>/impact.json    summary, cut points old/new, matrix cells
    outputs/calibration/v<version>/migration.csv  from_tier, to_tier, customers, share_of_from
    outputs/calibration/v<version>/migration.txt  the matrix as a table

After `tierops thresholds adopt <version>` re-running that day gives exactly the candidate tiers.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from tierops.drift.baseline import store_tier_baseline
from tierops.drift.migration import Migration, Side, migration
from tierops.drift.promotions import load_promotions, parse_range
from tierops.lib.files import write_bytes
from tierops.partitions import days_in
from tierops.tiering.assets import ensure_output_tables
from tierops.tiering.engine import CompiledPolicy, statements
from tierops.tiering.thresholds import ThresholdSet, active_version, calibrate, load_set

WHAT_IF = "impact_assignments"
IMPACT_DDL = """
create table if not exists threshold_impact (
    threshold_version integer not null,
    previous_version integer,
    as_of_date date not null,
    customer_id varchar not null,
    from_tier varchar,
    to_tier varchar
)
"""


@dataclass(frozen=True)
class ImpactReport:
    candidate: ThresholdSet
    previous: ThresholdSet | None
    day: date
    migration: Migration
    folder: Path

    @property
    def moved(self) -> int:
        return self.migration.moved

    def as_dict(self) -> dict:
        def cuts(tset: ThresholdSet | None) -> dict:
            return {v.label: v.value for v in tset.values.values()} if tset else {}

        return {
            "candidate_version": self.candidate.version,
            "active_version": self.previous.version if self.previous else None,
            "impact_date": self.day.isoformat(),
            "window": [
                self.candidate.window_start.isoformat(),
                self.candidate.window_end.isoformat(),
            ],
            "excluded_days": [d.isoformat() for d in self.candidate.excluded_dates],
            "customer_days_used": self.candidate.rows_used,
            "cut_points": {"active": cuts(self.previous), "candidate": cuts(self.candidate)},
            "customers": self.migration.customers,
            "customers_moving": self.moved,
            "tier_counts": {
                "active": _totals(self.migration, by="from"),
                "candidate": _totals(self.migration, by="to"),
            },
            "migration": self.migration.as_dict()["cells"],
            "adopt_with": f"tierops thresholds adopt {self.candidate.version}",
        }


def _totals(matrix: Migration, by: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for cell in matrix.cells:
        key = cell.from_tier if by == "from" else cell.to_tier
        out[key] = out.get(key, 0) + cell.customers
    return dict(sorted(out.items()))


def excluded_days(
    start: date, end: date, ranges: list[str], promotions: bool, config_dir: Path
) -> list[date]:
    """Days of [start, end] to leave out: `START:END` ranges, and the promotion calendar."""
    out: set[date] = set()
    for text in ranges:
        try:
            first, last = parse_range(text)
        except ValueError as exc:
            raise ValueError(
                f"exclude expects START:END (dates, inclusive), got {text!r}: {exc}"
            ) from None
        out.update(days_in(first, last + timedelta(days=1)))
    if promotions:
        out.update(load_promotions(config_dir).excluded_days(start, end))
    return sorted(d for d in out if start <= d <= end)


def latest_snapshot_day(conn: duckdb.DuckDBPyConnection) -> date | None:
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_name = 'tier_assignments'"
    ).fetchone()[0]
    if not exists:
        return None
    return conn.execute("select max(as_of_date) from tier_assignments").fetchone()[0]


def recalibrate(
    conn: duckdb.DuckDBPyConnection,
    compiled: CompiledPolicy,
    start: date,
    end: date,
    outputs_dir: Path,
    *,
    exclude: list[date] | tuple[date, ...] = (),
    impact_day: date | None = None,
    source: str = "tierops calibrate",
    note: str = "",
) -> ImpactReport:
    """Store a candidate threshold set calibrated on [start, end] and report what it would change."""
    ensure_output_tables(conn)
    before = active_version(conn)
    version = calibrate(
        conn, compiled, start, end, source=source, adopt=False, exclude=exclude, note=note
    )
    candidate = load_set(conn, version)
    previous = load_set(conn, before) if before is not None else None
    day = impact_day or latest_snapshot_day(conn) or end
    conn.execute("begin transaction")
    for sql in statements(
        compiled,
        day,
        day + timedelta(days=1),
        threshold_version=version,
        calibrated={n: v.value for n, v in candidate.values.items()},
        assignments_table=WHAT_IF,
        thresholds_table="impact_thresholds",
    ):
        conn.execute(sql)
    conn.execute(IMPACT_DDL)
    conn.execute("delete from threshold_impact where threshold_version = ?", [version])
    conn.execute(
        f"""insert into threshold_impact
        with a as (
            select customer_id, tier_code from tier_assignments
            where as_of_date = ? and is_primary
        ),
        b as (
            select customer_id, tier_code from {WHAT_IF} where as_of_date = ? and is_primary
        )
        select ?, ?, ?, coalesce(a.customer_id, b.customer_id), a.tier_code, b.tier_code
        from a full outer join b on a.customer_id = b.customer_id""",
        [day, day, version, before, day],
    )
    conn.execute("commit")
    matrix = migration(conn, Side(day), Side(day, WHAT_IF))
    conn.execute(f"drop table {WHAT_IF}")
    conn.execute("drop table impact_thresholds")
    store_tier_baseline(conn, version, _totals(matrix, by="to"))
    folder = outputs_dir / "calibration" / f"v{version}"
    report = ImpactReport(candidate, previous, day, matrix, folder)
    write_report(report)
    return report


def write_report(report: ImpactReport) -> None:
    body = json.dumps(report.as_dict(), indent=2, ensure_ascii=False) + "\n"
    write_bytes(report.folder / "impact.json", body.encode("utf-8"))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["from_tier", "to_tier", "customers", "share_of_from"])
    for c in report.migration.cells:
        writer.writerow([c.from_tier, c.to_tier, c.customers, c.share_of_from])
    write_bytes(report.folder / "migration.csv", buf.getvalue().encode("utf-8"))
    active = f"v{report.previous.version}" if report.previous else "no active set"
    text = (
        f"impact of candidate v{report.candidate.version} on {report.day} "
        f"(rows: {active}, columns: candidate)\n{report.migration.table()}\n"
        f"{report.moved:,} of {report.migration.customers:,} customers would change tier\n"
    )
    write_bytes(report.folder / "migration.txt", text.encode("utf-8"))


def impact_rows(conn: duckdb.DuckDBPyConnection, version: int) -> list[tuple]:
    """(from_tier, to_tier, customers) the impact report counted for `version`."""
    exists = conn.execute(
        "select count(*) from information_schema.tables where table_name = 'threshold_impact'"
    ).fetchone()[0]
    if not exists:
        return []
    return conn.execute(
        "select coalesce(from_tier, '(none)'), coalesce(to_tier, '(none)'), count(*) "
        "from threshold_impact where threshold_version = ? group by 1, 2 order by 1, 2",
        [version],
    ).fetchall()
