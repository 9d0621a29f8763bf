"""Everything written for one day: the lists of every tier and action, then the manifest,
published to every destination of config/destinations.yaml."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import date, timedelta

import duckdb

from tierops.crm.config import CrmConfig
from tierops.crm.sync import crm_lists
from tierops.exports.actions import action_lists
from tierops.exports.audiences import tier_lists
from tierops.exports.destinations import DestinationsConfig, Target
from tierops.exports.files import WrittenFile
from tierops.exports.lists import ListSpec, write_list
from tierops.exports.pii import Pii
from tierops.segments.config import SegmentsConfig
from tierops.segments.membership import segment_lists
from tierops.settings import Settings
from tierops.strategies.config import PlannedAction, Strategy
from tierops.tiering.assets import PolicyInForce
from tierops.tiering.policy import TierPolicy
from tierops.warehouse import table_exists


@dataclass(frozen=True)
class Published:
    destination: str
    manifest: str
    files: list[WrittenFile]
    header: dict


def day_lists(
    policy: TierPolicy,
    actions: list[PlannedAction],
    crm: CrmConfig,
    segments: SegmentsConfig,
    day: date,
) -> list[ListSpec]:
    return [
        *tier_lists(policy, day),
        *action_lists(actions, day),
        *crm_lists(crm, day),
        *segment_lists(segments, day),
    ]


def _counts(conn: duckdb.DuckDBPyConnection, day: date, specs: list[ListSpec]) -> dict:
    """Per tier and action: rows of each list, with deltas split into added and removed."""
    tiers: dict[str, int] = {}
    tier_changes: dict[str, dict[str, int]] = {}
    actions: dict[str, dict[str, int]] = {}
    other: dict[str, dict[str, int]] = {}
    for spec in specs:
        sql, params = spec.query(Pii("masked"))
        if spec.kind.endswith("_delta"):
            rows = conn.execute(
                f"select change, count(*) from ({sql}) as d group by change", params
            ).fetchall()
            split = {"added": 0, "removed": 0} | {k: int(v) for k, v in rows}
            if spec.kind == "tier_delta":
                tier_changes[spec.key] = split
            else:
                actions.setdefault(spec.key, {}).update(split)
            continue
        n = int(conn.execute(f"select count(*) from ({sql}) as d", params).fetchone()[0])
        if spec.kind == "tier_audience":
            tiers[spec.key] = n
        elif spec.kind.startswith("action_"):
            actions.setdefault(spec.key, {})[spec.kind.removeprefix("action_")] = n
        else:
            other.setdefault(spec.kind, {})[spec.key] = n
    return {
        "tier_counts": tiers,
        "tier_changes": tier_changes,
        "action_counts": actions,
        "other_counts": other,
    }


# The large per-day tables the list queries read, with their date column. Every list query reads
# the day and the day before only (deltas compare the two).
DAY_TABLES = {
    "tier_assignments": "as_of_date",
    "crm_membership": "as_of_date",
    "segment_memberships": "as_of_date",
    "contact_ledger": "issued_date",
}


@contextmanager
def day_slices(conn: duckdb.DuckDBPyConnection, day: date) -> Iterator[None]:
    """Copy the rows of `day` and the day before of the large per-day tables into temporary
    tables of the same name for the export's queries. DuckDB resolves the temp schema before the
    warehouse's, so the day's ~200 list, count and delta queries read two days of rows instead of
    scanning every day of history each (a backfill writes its days in one unsorted insert, so
    the date's min/max per row group cannot skip anything). Works on a read-only connection."""
    sliced = []
    try:
        for table, column in DAY_TABLES.items():
            if not table_exists(conn, table):
                continue
            conn.execute(
                f"create temp table {table} as select * from {table} where {column} in (?, ?)",
                [day - timedelta(days=1), day],
            )
            sliced.append(table)
        yield
    finally:
        for table in sliced:
            conn.execute(f"drop table if exists temp.{table}")


def export_day(
    conn: duckdb.DuckDBPyConnection,
    settings: Settings,
    destinations: DestinationsConfig,
    salt: str,
    in_force: PolicyInForce,
    strategy: Strategy,
    actions: list[PlannedAction],
    crm: CrmConfig,
    segments: SegmentsConfig,
    day: date,
) -> list[Published]:
    with day_slices(conn, day):
        specs = day_lists(in_force.policy, actions, crm, segments, day)
        counts = _counts(conn, day, specs)
        threshold_versions = [
            r[0]
            for r in conn.execute(
                "select distinct threshold_version from tier_assignments "
                "where as_of_date = ? and threshold_version is not null order by 1",
                [day],
            ).fetchall()
        ]
        out = []
        for destination in destinations.destinations:
            target = Target(destination, settings)
            trusted = destination.trusted
            human = Pii("clear") if trusted else Pii("masked")
            system = Pii("clear") if trusted else Pii("hashed", salt)
            with target.staging(day.isoformat()) as staging:
                files: list[WrittenFile] = []
                xlsx_not_written: dict[str, str] = {}
                for spec in specs:
                    written, skipped = write_list(
                        conn, spec, staging, human, system, destinations.xlsx_max_rows
                    )
                    files += written
                    if skipped:
                        xlsx_not_written[f"{spec.path}.xlsx"] = skipped
                header = {
                    "as_of_date": day.isoformat(),
                    "destination": destination.name,
                    "trusted": trusted,
                    "pii": {
                        "csv_xlsx": "clear" if trusted else "masked",
                        "parquet": "clear" if trusted else "sha256(salt || value)",
                    },
                    **in_force.metadata(settings),
                    "configured_policy": in_force.compiled.replaced or in_force.policy.version,
                    "unavailable_features": list(in_force.compiled.unavailable),
                    "threshold_versions": threshold_versions,
                    "strategy_version": strategy.version,
                    "crm_version": crm.version,
                    **counts,
                    "customers": sum(counts["tier_counts"].values()),
                    "xlsx_max_rows": destinations.xlsx_max_rows,
                    "xlsx_not_written": xlsx_not_written,
                }
                body = {**header, "files": [asdict(f) for f in sorted(files, key=lambda f: f.path)]}
                manifest = json.dumps(body, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
                path = target.publish(day.isoformat(), staging, manifest.encode("utf-8"))
            out.append(Published(destination.name, path, files, header))
        return out
