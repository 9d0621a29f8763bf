"""Frozen, versioned threshold sets: quantile cut points calibrated once, used every night.

A threshold set is computed on a chosen window of `customer_features` (all customer-days of the
window among the policy's `quantile_population`, pooled) and stored with the window, a fingerprint
of the data it came from and the policy it was computed for. The nightly tiering reads the ACTIVE
set, so a customer's tier only changes when the customer changes, not because everybody else did.
`tierops calibrate` makes a new version; the first set ever made becomes active by itself.

Per-customer work stays in SQL: calibration is one aggregate query; Python only stores the result.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import duckdb

from tierops.tiering.engine import CompiledPolicy, _col
from tierops.tiering.expressions import QuantileRef

STATUSES = ("active", "candidate", "retired")

SETS_DDL = """
create table if not exists tier_threshold_sets (
    version integer not null,
    created_at timestamp not null,
    window_start date not null,
    window_end date not null,
    excluded_dates varchar,
    source varchar,
    fingerprint varchar not null,
    rows_used bigint not null,
    customers bigint not null,
    policy_version varchar not null,
    quantile_population varchar not null,
    status varchar not null,
    activated_at timestamp,
    note varchar
)
"""

VALUES_DDL = """
create table if not exists tier_threshold_values (
    version integer not null,
    name varchar not null,
    feature varchar not null,
    quantile double not null,
    value double
)
"""


class ThresholdError(RuntimeError):
    """No usable threshold set, or a calibration that cannot be made."""


@dataclass(frozen=True)
class ThresholdValue:
    name: str
    feature: str
    quantile: float
    value: float | None

    @property
    def label(self) -> str:
        return QuantileRef(self.feature, self.quantile).label


@dataclass(frozen=True)
class ThresholdSet:
    version: int
    created_at: datetime
    window_start: date
    window_end: date
    source: str
    fingerprint: str
    rows_used: int
    customers: int
    policy_version: str
    quantile_population: str
    status: str
    values: dict[str, ThresholdValue] = field(default_factory=dict)
    excluded_dates: tuple[date, ...] = ()
    note: str = ""

    def missing(self, compiled: CompiledPolicy) -> list[str]:
        """Cut points the policy needs that this set does not hold (as pNN(feature) labels)."""
        return [r.label for r in compiled.quantiles if r.name not in self.values]

    def usable_for(self, compiled: CompiledPolicy) -> str | None:
        """Why this set cannot serve the policy, or None when it can."""
        missing = self.missing(compiled)
        if missing:
            return f"it has no cut point for {', '.join(missing)}"
        if self.quantile_population != compiled.policy.quantile_population:
            return (
                f"it was calibrated on quantile_population {self.quantile_population!r}, "
                f"the policy now says {compiled.policy.quantile_population!r}"
            )
        return None


def ensure_tables(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(SETS_DDL)
    conn.execute(VALUES_DDL)


def active_version(conn: duckdb.DuckDBPyConnection) -> int | None:
    ensure_tables(conn)
    row = conn.execute(
        "select max(version) from tier_threshold_sets where status = 'active'"
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def versions(conn: duckdb.DuckDBPyConnection) -> list[ThresholdSet]:
    """Every stored set, newest first (without values)."""
    ensure_tables(conn)
    rows = conn.execute(
        f"select {_SET_COLUMNS} from tier_threshold_sets order by version desc"
    ).fetchall()
    return [_set_from_row(r, {}) for r in rows]


def load_set(conn: duckdb.DuckDBPyConnection, version: int) -> ThresholdSet:
    ensure_tables(conn)
    row = conn.execute(
        f"select {_SET_COLUMNS} from tier_threshold_sets where version = ?", [version]
    ).fetchone()
    if row is None:
        known = [s.version for s in versions(conn)]
        raise ThresholdError(
            f"threshold set version {version} does not exist; stored versions: "
            f"{', '.join(map(str, known)) or 'none (run `tierops calibrate`)'}"
        )
    values = {
        name: ThresholdValue(name, feature, float(q), None if v is None else float(v))
        for name, feature, q, v in conn.execute(
            "select name, feature, quantile, value from tier_threshold_values "
            "where version = ? order by feature, quantile",
            [version],
        ).fetchall()
    }
    return _set_from_row(row, values)


def set_active(conn: duckdb.DuckDBPyConnection, version: int) -> None:
    """Make `version` the set nightly runs use; the previously active set is retired."""
    load_set(conn, version)  # raises for an unknown version
    conn.execute("begin transaction")
    conn.execute(
        "update tier_threshold_sets set status = 'retired' where status = 'active' and version <> ?",
        [version],
    )
    conn.execute(
        "update tier_threshold_sets set status = 'active', activated_at = ? where version = ?",
        [_now(), version],
    )
    conn.execute("commit")


def calibrate(
    conn: duckdb.DuckDBPyConnection,
    policy: CompiledPolicy,
    start: date,
    end: date,
    *,
    source: str = "tierops calibrate",
    adopt: bool | None = None,
    exclude: Iterable[date] = (),
    note: str = "",
) -> int:
    """Compute the policy's cut points on customer-days in [start, end] and store a new version.

    `adopt=None` activates the new set only when no set is active yet (the first calibration);
    True activates it, False stores it as a candidate for review. Returns the new version.
    """
    if end < start:
        raise ThresholdError(f"calibration window ends ({end}) before it starts ({start})")
    ensure_tables(conn)
    refs = policy.quantiles
    excluded = sorted(set(exclude))
    where, params = _window_filter(policy, start, end, excluded)
    features = sorted({r.feature for r in refs})
    cut_cols = "".join(
        f", percentile_cont({r.q}) within group (order by f.{r.feature})" for r in refs
    )
    fp_cols = "".join(f", sum(cast(f.{c} as double)), count(f.{c})" for c in features)
    row = conn.execute(
        f"select count(*), count(distinct f.customer_id), min(f.as_of_date), max(f.as_of_date)"
        f"{fp_cols}{cut_cols} from customer_features as f where {where}",
        params,
    ).fetchone()
    rows_used, customers = int(row[0]), int(row[1])
    if rows_used == 0:
        raise ThresholdError(
            f"no customer_features rows in {start} .. {end} match quantile_population "
            f"{policy.policy.quantile_population!r}; run the pipeline for that window first"
        )
    fingerprint = hashlib.sha256(
        json.dumps([str(v) for v in row[: 4 + 2 * len(features)]]).encode()
    ).hexdigest()[:16]
    cuts = row[4 + 2 * len(features) :]
    previous_active = active_version(conn)
    version = int(
        conn.execute("select coalesce(max(version), 0) + 1 from tier_threshold_sets").fetchone()[0]
    )
    activate = previous_active is None if adopt is None else adopt
    conn.execute("begin transaction")
    conn.execute(
        "insert into tier_threshold_sets values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            version,
            _now(),
            start,
            end,
            ",".join(d.isoformat() for d in excluded),
            source,
            fingerprint,
            rows_used,
            customers,
            policy.policy.version,
            policy.policy.quantile_population,
            "candidate",
            None,
            note,
        ],
    )
    for ref, value in zip(refs, cuts, strict=True):
        conn.execute(
            "insert into tier_threshold_values values (?, ?, ?, ?, ?)",
            [version, ref.name, ref.feature, ref.q, None if value is None else float(value)],
        )
    conn.execute("commit")
    if activate:
        set_active(conn, version)
    return version


def resolve_for_run(
    conn: duckdb.DuckDBPyConnection, policy: CompiledPolicy, first_day: date, last_day: date
) -> tuple[ThresholdSet | None, bool]:
    """The set a tiering run uses, and whether it was calibrated just now.

    A policy without quantile cut points needs no set. With no active set at all (a fresh
    installation) the run calibrates on its last day and adopts that set, so nightly runs start
    frozen from day one; an active set that does not fit the policy is an error, never a silent
    recalibration.
    """
    if not policy.quantiles:
        return None, False
    version = active_version(conn)
    if version is None:
        version = calibrate(
            conn,
            policy,
            last_day,
            last_day,
            source=f"automatic: first tiering run ({first_day} .. {last_day}) found no threshold set",
            adopt=True,
        )
        return load_set(conn, version), True
    chosen = load_set(conn, version)
    problem = chosen.usable_for(policy)
    if problem:
        raise ThresholdError(
            f"the active threshold set v{version} cannot serve policy {policy.policy.version}: "
            f"{problem}. Calibrate a set for this policy with `tierops calibrate --adopt` "
            "(no tiers were written)"
        )
    return chosen, False


def _window_filter(
    policy: CompiledPolicy, start: date, end: date, excluded: list[date]
) -> tuple[str, list]:
    population = policy.expressions["population"].render("duckdb", _col("f"))
    quantile_pop = policy.expressions["quantile_population"].render("duckdb", _col("f"))
    where = f"f.as_of_date >= ? and f.as_of_date <= ? and ({population}) and ({quantile_pop})"
    params: list = [start, end]
    if excluded:
        where += f" and f.as_of_date not in ({', '.join('?' for _ in excluded)})"
        params += excluded
    return where, params


_SET_COLUMNS = (
    "version, created_at, window_start, window_end, source, fingerprint, rows_used, customers, "
    "policy_version, quantile_population, status, excluded_dates, note"
)


def _set_from_row(row: tuple, values: dict[str, ThresholdValue]) -> ThresholdSet:
    excluded = tuple(date.fromisoformat(d) for d in (row[11] or "").split(",") if d)
    return ThresholdSet(
        version=int(row[0]),
        created_at=row[1],
        window_start=row[2],
        window_end=row[3],
        source=row[4] or "",
        fingerprint=row[5],
        rows_used=int(row[6]),
        customers=int(row[7]),
        policy_version=row[8],
        quantile_population=row[9],
        status=row[10],
        values=values,
        excluded_dates=excluded,
        note=row[12] or "",
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None, microsecond=0)
