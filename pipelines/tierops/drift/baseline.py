"""The calibration baseline of a threshold set, and today's numbers to compare with it.

Everything per customer is an aggregate query on the warehouse: equal-frequency bin edges of the
calibration window (percentiles), customers per bin and day, the share of customers at or above
each cut point. Python receives a few numbers per feature and day.

The baseline of threshold set vN is computed once and kept in `drift_baseline`:
  * `bins`  — for each monitored feature, the bin edges (deciles of the pooled calibration
    window, duplicates merged) and the customers per bin, plus the average daily population;
  * `cut`   — for each cut point, the share of customers at or above it in the window;
  * `tier`  — customers per primary tier under vN on the impact day of the calibration
    (written by the recalibration workflow) or on the window's last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb
from sqlglot import exp

from tierops.tiering.engine import CompiledPolicy
from tierops.tiering.thresholds import ThresholdSet

BASELINE_DDL = """
create table if not exists drift_baseline (
    threshold_version integer not null,
    kind varchar not null,
    name varchar not null,
    settings varchar not null,
    bin integer,
    upper_edge double,
    amount double not null,
    population double not null
)
"""

MISSING_BIN = -1  # customers whose value is null


@dataclass(frozen=True)
class FeatureBins:
    """Baseline distribution of one feature over equal-frequency bins."""

    feature: str
    edges: tuple[float, ...]  # bin i holds values <= edges[i]; the last bin everything above
    counts: dict[int, float]  # bin -> customer-days in the calibration window
    population: float  # average customers per day in the calibration window

    def labels(self) -> dict[int, str]:
        out = {MISSING_BIN: "null"}
        lower = "-inf"
        for i, edge in enumerate(self.edges):
            out[i] = f"({lower}, {edge:g}]"
            lower = f"{edge:g}"
        out[len(self.edges)] = f"({lower}, inf)"
        return out


def population_filter(compiled: CompiledPolicy) -> str:
    """The customers cut points are computed on: the policy's population and quantile_population."""

    def col(name: str) -> exp.Column:
        return exp.column(name, table="f")

    population = compiled.expressions["population"].render("duckdb", col)
    quantile_pop = compiled.expressions["quantile_population"].render("duckdb", col)
    return f"({population}) and ({quantile_pop})"


def _calibration_days(tset: ThresholdSet) -> str:
    where = (
        f"f.as_of_date >= date '{tset.window_start.isoformat()}' "
        f"and f.as_of_date <= date '{tset.window_end.isoformat()}'"
    )
    if tset.excluded_dates:
        days = ", ".join(f"date '{d.isoformat()}'" for d in tset.excluded_dates)
        where += f" and f.as_of_date not in ({days})"
    return where


def _bin_case(feature: str, edges: tuple[float, ...]) -> str:
    whens = " ".join(f"when f.{feature} <= {float(e)!r} then {i}" for i, e in enumerate(edges))
    return f"case when f.{feature} is null then {MISSING_BIN} {whens} else {len(edges)} end"


def bin_edges(
    conn: duckdb.DuckDBPyConnection,
    compiled: CompiledPolicy,
    tset: ThresholdSet,
    feature: str,
    bins: int,
) -> tuple[float, ...]:
    """Equal-frequency bin edges of the calibration window (ties merge bins)."""
    quantiles = ", ".join(
        f"percentile_cont({i / bins!r}) within group (order by f.{feature})" for i in range(1, bins)
    )
    row = conn.execute(
        f"select {quantiles} from customer_features as f "
        f"where {_calibration_days(tset)} and {population_filter(compiled)}"
    ).fetchone()
    return tuple(sorted({float(v) for v in row if v is not None}))


def counts_by_day(
    conn: duckdb.DuckDBPyConnection,
    compiled: CompiledPolicy,
    feature: str,
    edges: tuple[float, ...],
    start: date,
    end: date,
) -> dict[date, dict[int, int]]:
    """Customers per baseline bin for every day in [start, end)."""
    rows = conn.execute(
        f"select f.as_of_date, {_bin_case(feature, edges)} as bin, count(*) "
        f"from customer_features as f where f.as_of_date >= ? and f.as_of_date < ? "
        f"and {population_filter(compiled)} group by 1, 2",
        [start, end],
    ).fetchall()
    out: dict[date, dict[int, int]] = {}
    for day, b, n in rows:
        out.setdefault(day, {})[int(b)] = int(n)
    return out


def _stored(conn, version: int, kind: str, settings: str) -> list[tuple]:
    return conn.execute(
        "select name, bin, upper_edge, amount, population from drift_baseline "
        "where threshold_version = ? and kind = ? and settings = ? order by name, bin",
        [version, kind, settings],
    ).fetchall()


def _store(conn, version: int, kind: str, settings: str, rows: list[tuple]) -> None:
    conn.execute(
        "delete from drift_baseline where threshold_version = ? and kind = ?", [version, kind]
    )
    if rows:
        conn.executemany(
            "insert into drift_baseline values (?, ?, ?, ?, ?, ?, ?, ?)",
            [(version, kind, name, settings, b, e, a, p) for name, b, e, a, p in rows],
        )


def feature_baselines(
    conn: duckdb.DuckDBPyConnection,
    compiled: CompiledPolicy,
    tset: ThresholdSet,
    features: list[str],
    bins: int,
) -> dict[str, FeatureBins]:
    """Baseline bins of every monitored feature for threshold set `tset` (computed once)."""
    conn.execute(BASELINE_DDL)
    settings = f"bins={bins};features={','.join(features)}"
    rows = _stored(conn, tset.version, "bins", settings)
    if not rows:
        days = conn.execute(
            f"select count(distinct f.as_of_date) from customer_features as f "
            f"where {_calibration_days(tset)} and {population_filter(compiled)}"
        ).fetchone()[0]
        for feature in features:
            edges = bin_edges(conn, compiled, tset, feature, bins)
            pooled = conn.execute(
                f"select {_bin_case(feature, edges)} as bin, count(*) from customer_features as f "
                f"where {_calibration_days(tset)} and {population_filter(compiled)} group by 1"
            ).fetchall()
            counts = dict(pooled)
            total = sum(counts.values())
            for b in range(len(edges) + 1):
                edge = edges[b] if b < len(edges) else None
                rows.append((feature, b, edge, float(counts.get(b, 0)), total / max(days, 1)))
            if counts.get(MISSING_BIN):
                rows.append((feature, MISSING_BIN, None, float(counts[MISSING_BIN]), total / days))
        _store(conn, tset.version, "bins", settings, rows)
    out: dict[str, FeatureBins] = {}
    for feature in features:
        mine = [r for r in rows if r[0] == feature]
        edges = tuple(r[2] for r in sorted(mine, key=lambda r: r[1]) if r[2] is not None)
        out[feature] = FeatureBins(
            feature=feature,
            edges=edges,
            counts={int(r[1]): r[3] for r in mine},
            population=mine[0][4] if mine else 0.0,
        )
    return out


def cut_baselines(
    conn: duckdb.DuckDBPyConnection, compiled: CompiledPolicy, tset: ThresholdSet
) -> dict[str, tuple[float, float]]:
    """Cut name -> (share at or above the cut in the calibration window, daily population)."""
    conn.execute(BASELINE_DDL)
    rows = _stored(conn, tset.version, "cut", "")
    if not rows and tset.values:
        parts = ", ".join(
            f"avg(case when f.{v.feature} >= {float(v.value)!r} then 1.0 else 0.0 end)"
            for v in tset.values.values()
            if v.value is not None
        )
        stats = conn.execute(
            f"select count(*) / count(distinct f.as_of_date){', ' + parts if parts else ''} "
            f"from customer_features as f "
            f"where {_calibration_days(tset)} and {population_filter(compiled)}"
        ).fetchone()
        named = [n for n, v in tset.values.items() if v.value is not None]
        rows = [
            (n, None, None, float(s), float(stats[0]))
            for n, s in zip(named, stats[1:], strict=True)
        ]
        _store(conn, tset.version, "cut", "", rows)
    return {r[0]: (r[3], r[4]) for r in rows}


def cut_shares_by_day(
    conn: duckdb.DuckDBPyConnection,
    compiled: CompiledPolicy,
    tset: ThresholdSet,
    start: date,
    end: date,
) -> dict[date, dict[str, tuple[float, int]]]:
    """Day -> cut name -> (share of customers at or above the frozen cut, population)."""
    named = [(n, v) for n, v in tset.values.items() if v.value is not None]
    if not named:
        return {}
    parts = ", ".join(
        f"avg(case when f.{v.feature} >= {float(v.value)!r} then 1.0 else 0.0 end)"
        for _, v in named
    )
    rows = conn.execute(
        f"select f.as_of_date, count(*), {parts} from customer_features as f "
        f"where f.as_of_date >= ? and f.as_of_date < ? and {population_filter(compiled)} group by 1",
        [start, end],
    ).fetchall()
    return {
        r[0]: {n: (float(s), int(r[1])) for (n, _), s in zip(named, r[2:], strict=True)}
        for r in rows
    }


def store_tier_baseline(
    conn: duckdb.DuckDBPyConnection, version: int, counts: dict[str, int]
) -> None:
    conn.execute(BASELINE_DDL)
    total = float(sum(counts.values()))
    _store(conn, version, "tier", "", [(t, None, None, float(n), total) for t, n in counts.items()])


def tier_baseline(
    conn: duckdb.DuckDBPyConnection, tset: ThresholdSet
) -> tuple[dict[str, int], date | None]:
    """Customers per tier under the set at calibration time; empty when unknown."""
    conn.execute(BASELINE_DDL)
    rows = _stored(conn, tset.version, "tier", "")
    if rows:
        return {r[0]: int(r[3]) for r in rows}, None
    day = tset.window_end
    found = conn.execute(
        "select tier_code, count(*) from tier_assignments where as_of_date = ? and is_primary "
        "and threshold_version = ? group by 1",
        [day, tset.version],
    ).fetchall()
    counts = {t: int(n) for t, n in found}
    if counts:
        store_tier_baseline(conn, tset.version, counts)
    return counts, day if counts else None


def tier_counts_by_day(
    conn: duckdb.DuckDBPyConnection, start: date, end: date
) -> dict[date, dict[str, int]]:
    """Customers per primary tier for every day in [start - 1 day, end)."""
    rows = conn.execute(
        "select as_of_date, tier_code, count(*) from tier_assignments "
        "where as_of_date >= ? and as_of_date < ? and is_primary group by 1, 2",
        [start - timedelta(days=1), end],
    ).fetchall()
    out: dict[date, dict[str, int]] = {}
    for day, tier, n in rows:
        out.setdefault(day, {})[tier] = int(n)
    return out


def threshold_versions_by_day(
    conn: duckdb.DuckDBPyConnection, start: date, end: date
) -> dict[date, int | None]:
    """The threshold set each day's snapshot was made with, for [start - 1 day, end)."""
    rows = conn.execute(
        "select as_of_date, max(threshold_version) from tier_assignments "
        "where as_of_date >= ? and as_of_date < ? group by 1",
        [start - timedelta(days=1), end],
    ).fetchall()
    return {day: None if v is None else int(v) for day, v in rows}
