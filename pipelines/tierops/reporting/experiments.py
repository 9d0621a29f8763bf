"""A/B readouts of the strategy actions: treatment vs holdout from the contact ledger.

Each customer enters an action's experiment once, on the first day the action selected them
(`contact_ledger`, treatment or holdout; the holdout hash keeps them in the same group). Their
outcome is what they did in the action's success window after that day (`success.window_days`):
for `purchase` a purchase, for `visit` a visit, for `spend` net spend above 0; revenue is the net
spend in the window. On report day D the readout covers every customer whose window has closed
(first selection + window <= D), so the evidence grows day by day. SQL aggregates per action
and group (n, conversions, sum and sum of squares of revenue); Python does the statistics and
appends the results to `experiment_log`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa
from sqlglot import exp

from tierops.reporting.stats import GroupAggregate, Readout, readout
from tierops.warehouse import table_exists

EXPERIMENT_LOG_DDL = """
create table if not exists experiment_log (
    as_of_date date not null,
    action_id varchar not null,
    tier_code varchar not null,
    channel varchar,
    metric varchar not null,
    window_days integer not null,
    first_cohort_date date,
    last_cohort_date date,
    n_treatment bigint not null,
    conversions_treatment bigint not null,
    n_holdout bigint not null,
    conversions_holdout bigint not null,
    rate_treatment double,
    rate_holdout double,
    rate_diff double,
    rate_diff_low double,
    rate_diff_high double,
    rate_p_value double,
    revenue_per_customer_treatment double,
    revenue_per_customer_holdout double,
    revenue_diff double,
    revenue_diff_low double,
    revenue_diff_high double,
    revenue_p_value double,
    mde double,
    verdict varchar not null,
    warnings varchar,
    computed_at timestamp not null
)
"""

CONVERSION = {
    "purchase": "fd.last_order_date > e.issued_date",
    "visit": "fd.last_visit_date > e.issued_date",
    "spend": "fd.monetary_total - fs.monetary_total > 0",
}


@dataclass(frozen=True)
class ActionSpec:
    action_id: str
    tier_code: str
    channel: str
    metric: str  # purchase | visit | spend
    window_days: int


def _lit(text: str) -> str:
    return exp.Literal.string(text).sql()


def aggregate_sql(actions: list[ActionSpec], start: date, end: date) -> str:
    """Per report day in [start, end), action and group: n, conversions, revenue sum and sumsq."""
    values = ", ".join(
        f"({_lit(a.action_id)}, {_lit(a.metric)}, {int(a.window_days)})" for a in actions
    )
    converted = " ".join(
        f"when {_lit(m)} then case when {cond} then 1 else 0 end" for m, cond in CONVERSION.items()
    )
    return f"""
with actions (action_id, metric, window_days) as (
    values {values}
),
first_issue as (
    select action_id, customer_id, min(issued_date) as issued_date
    from contact_ledger
    group by action_id, customer_id
),
entries as (
    select l.action_id, l.customer_id, l.issued_date, l.tier_code, l.contact_group
    from contact_ledger as l
    join first_issue as f
        on f.action_id = l.action_id
        and f.customer_id = l.customer_id
        and f.issued_date = l.issued_date
),
outcomes as (
    select
        e.action_id,
        e.tier_code,
        e.contact_group,
        e.issued_date,
        e.issued_date + a.window_days as closed_date,
        case a.metric {converted} else 0 end as converted,
        fd.monetary_total - fs.monetary_total as revenue
    from entries as e
    join actions as a on a.action_id = e.action_id
    join customer_features as fs
        on fs.customer_id = e.customer_id and fs.as_of_date = e.issued_date
    join customer_features as fd
        on fd.customer_id = e.customer_id and fd.as_of_date = e.issued_date + a.window_days
    where e.issued_date + a.window_days < date '{end.isoformat()}'
),
daily as (
    select action_id, tier_code, contact_group, closed_date,
        min(issued_date) as first_cohort_date, max(issued_date) as last_cohort_date,
        count(*) as n, sum(converted) as conversions,
        sum(revenue) as revenue_sum, sum(revenue * revenue) as revenue_sumsq
    from outcomes
    group by action_id, tier_code, contact_group, closed_date
),
days as (
    select distinct as_of_date as d from tier_assignments
    where as_of_date >= date '{start.isoformat()}' and as_of_date < date '{end.isoformat()}'
)
select
    days.d as as_of_date, daily.action_id, daily.tier_code, daily.contact_group,
    min(daily.first_cohort_date) as first_cohort_date,
    max(daily.last_cohort_date) as last_cohort_date,
    sum(daily.n) as n, sum(daily.conversions) as conversions,
    sum(daily.revenue_sum) as revenue_sum, sum(daily.revenue_sumsq) as revenue_sumsq
from days
join daily on daily.closed_date <= days.d
group by days.d, daily.action_id, daily.tier_code, daily.contact_group
order by 1, 2, 4
"""


def _group(rows: dict[str, dict], name: str) -> GroupAggregate:
    row = rows.get(name)
    if row is None:
        return GroupAggregate(0, 0)
    return GroupAggregate(
        n=int(row["n"]),
        conversions=int(row["conversions"]),
        revenue_sum=float(row["revenue_sum"] or 0.0),
        revenue_sumsq=float(row["revenue_sumsq"] or 0.0),
    )


def log_rows(
    aggregates: list[dict], actions: list[ActionSpec], min_group_size: int, max_mde: float
) -> list[dict]:
    """One experiment_log row per report day and action, from the per-group aggregates."""
    spec = {a.action_id: a for a in actions}
    grouped: dict[tuple[date, str], dict[str, dict]] = {}
    for row in aggregates:
        grouped.setdefault((row["as_of_date"], row["action_id"]), {})[row["contact_group"]] = row
    now = datetime.now(UTC).replace(tzinfo=None)
    out = []
    for (day, action_id), groups in sorted(grouped.items()):
        a = spec[action_id]
        r = readout(
            _group(groups, "treatment"),
            _group(groups, "holdout"),
            min_group_size=min_group_size,
            max_mde=max_mde,
        )
        firsts = [g["first_cohort_date"] for g in groups.values()]
        lasts = [g["last_cohort_date"] for g in groups.values()]
        out.append(
            {
                "as_of_date": day,
                "action_id": action_id,
                "tier_code": a.tier_code,
                "channel": a.channel,
                "metric": a.metric,
                "window_days": a.window_days,
                "first_cohort_date": min(firsts),
                "last_cohort_date": max(lasts),
                **_figures(r),
                "computed_at": now,
            }
        )
    return out


def _figures(r: Readout) -> dict:
    conv, rev = r.conversion_diff, r.revenue_diff
    return {
        "n_treatment": r.treatment.n,
        "conversions_treatment": r.treatment.conversions,
        "n_holdout": r.holdout.n,
        "conversions_holdout": r.holdout.conversions,
        "rate_treatment": r.treatment.rate,
        "rate_holdout": r.holdout.rate,
        "rate_diff": conv.estimate if conv else None,
        "rate_diff_low": conv.low if conv else None,
        "rate_diff_high": conv.high if conv else None,
        "rate_p_value": r.conversion_p_value,
        "revenue_per_customer_treatment": r.treatment.revenue_mean,
        "revenue_per_customer_holdout": r.holdout.revenue_mean,
        "revenue_diff": rev.estimate if rev else None,
        "revenue_diff_low": rev.low if rev else None,
        "revenue_diff_high": rev.high if rev else None,
        "revenue_p_value": r.revenue_p_value,
        "mde": r.mde,
        "verdict": r.verdict,
        "warnings": "; ".join(r.warnings),
    }


LOG_COLUMNS = [
    "as_of_date",
    "action_id",
    "tier_code",
    "channel",
    "metric",
    "window_days",
    "first_cohort_date",
    "last_cohort_date",
    "n_treatment",
    "conversions_treatment",
    "n_holdout",
    "conversions_holdout",
    "rate_treatment",
    "rate_holdout",
    "rate_diff",
    "rate_diff_low",
    "rate_diff_high",
    "rate_p_value",
    "revenue_per_customer_treatment",
    "revenue_per_customer_holdout",
    "revenue_diff",
    "revenue_diff_low",
    "revenue_diff_high",
    "revenue_p_value",
    "mde",
    "verdict",
    "warnings",
    "computed_at",
]


def compute_experiment_log(
    conn: duckdb.DuckDBPyConnection,
    actions: list[ActionSpec],
    start: date,
    end: date,
    min_group_size: int,
    max_mde: float,
) -> list[dict]:
    """Rewrite experiment_log for report days in [start, end); returns the rows written."""
    conn.execute(EXPERIMENT_LOG_DDL)
    rows: list[dict] = []
    if actions and table_exists(conn, "contact_ledger"):
        cur = conn.execute(aggregate_sql(actions, start, end))
        names = [c[0] for c in cur.description]
        aggregates = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        rows = log_rows(aggregates, actions, min_group_size, max_mde)
    conn.execute("begin transaction")
    conn.execute(
        "delete from experiment_log where as_of_date >= ? and as_of_date < ?", [start, end]
    )
    if rows:  # one row per day and action: inserted from Arrow in one statement
        log = pa.Table.from_pylist([{c: r[c] for c in LOG_COLUMNS} for r in rows])
        conn.register("experiment_log_rows", log)
        try:
            conn.execute(
                f"insert into experiment_log ({', '.join(LOG_COLUMNS)}) "
                f"select {', '.join(LOG_COLUMNS)} from experiment_log_rows"
            )
        finally:
            conn.unregister("experiment_log_rows")
    conn.execute("commit")
    return rows


def day_experiments(conn: duckdb.DuckDBPyConnection, day: date) -> list[dict] | None:
    """The day's readouts (None when the log does not exist yet)."""
    if not table_exists(conn, "experiment_log"):
        return None
    cur = conn.execute(
        "select * from experiment_log where as_of_date = ? order by tier_code, action_id", [day]
    )
    names = [c[0] for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
