"""Per-tier KPIs as SQL on the warehouse: snapshots of tier_assignments + outcome windows.

For a report day D and an outcome window of W days, the cohort is every customer's primary tier on
the snapshot day S = D - W; what they did in (S, D] is the change of their cumulative features
between S and D (customer_features keeps one row per customer and day, each built only from data
known by then, so re-running an old day gives the same KPIs). Only aggregates leave the warehouse.

Table `tier_kpis` (long format, one row per day, tier, KPI and window):
as_of_date, tier_code, kpi, window_days, snapshot_date, numerator, denominator, value.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import sqlglot

from tierops.reporting.config import ReportingConfig
from tierops.warehouse import execute_in_transaction

KPI_DDL = """
create table if not exists tier_kpis (
    as_of_date date not null,
    tier_code varchar not null,
    kpi varchar not null,
    window_days integer,
    snapshot_date date,
    numerator double,
    denominator double,
    value double
)
"""

# kpi → (Chinese, English) labels used by the report
KPI_LABELS: dict[str, tuple[str, str]] = {
    "customers": ("客户数 / 占比", "Customers / share"),
    "ltv_to_date": ("累计客户价值(人均)", "LTV to date per customer"),
    "revenue_per_customer": ("期间人均消费", "Revenue per customer in period"),
    "revenue_next_per_customer": ("后续人均消费", "Revenue per customer in the next window"),
    "repurchase_rate": ("复购率", "Repurchase rate"),
    "second_purchase_rate": ("首购→二购转化率", "First-to-second purchase conversion"),
    "reactivation_rate": ("唤醒率", "Reactivation rate"),
    "renewal_rate": ("续费率", "Renewal rate"),
}


def _ratio(num: str, den: str) -> str:
    return f"cast({num} as double) / nullif({den}, 0)"


def _row(kpi: str, window: int | None, num: str, den: str, src: str) -> str:
    snapshot = "snapshot_date" if src.startswith("outcome_") else "null"
    return (
        f"select as_of_date, tier_code, '{kpi}' as kpi, "
        f"cast({'null' if window is None else window} as integer) as window_days, "
        f"cast({snapshot} as date) as snapshot_date, "
        f"cast({num} as double) as numerator, cast({den} as double) as denominator, "
        f"{_ratio(num, den)} as value from {src}"
    )


def kpi_statements(
    config: ReportingConfig, start: date, end: date, dialect: str = "duckdb"
) -> list[str]:
    """DDL, delete and insert that (re)compute KPIs for as_of_date in [start, end)."""

    def window(alias: str = "") -> str:
        col = f"{alias}.as_of_date" if alias else "as_of_date"
        return f"{col} >= date '{start.isoformat()}' and {col} < date '{end.isoformat()}'"

    windows = sorted(set(config.outcome_windows_days))
    outcome_windows = sorted(set(windows) | {config.renewal_cycle_days or windows[0]})
    renewal = config.renewal_cycle_days
    history_from = start - timedelta(days=max(outcome_windows))

    later_columns = {
        "orders_total": "fd_orders",
        "monetary_total": "fd_monetary",
        "active_subscriptions": "fd_active",
        "renewal_date": "fd_renewal",
    }
    over = "over (partition by f.customer_id order by f.as_of_date)"
    later = "".join(
        f",\n        lead(f.{column}, {w}) {over} as {name}_{w}"
        for w in outcome_windows
        for column, name in {"as_of_date": "fd_date", **later_columns}.items()
    )
    cycle = f"f.orders_{renewal}d" if renewal else "cast(null as integer)"
    ctes = [
        f"""days as (
    select distinct as_of_date as d from tier_assignments where {window()}
)""",
        # every customer's features on every day the KPIs read (the window and the outcome
        # windows before it), their primary tier that day (null: not tiered) and, from one sort
        # per customer, the row w rows later: w days later when the customer's rows are
        # consecutive days, as customer_features builds them
        f"""base as (
    select f.as_of_date, f.customer_id, t.tier_code, f.orders_total, f.monetary_total,
        f.monetary_30d, f.monetary_90d, f.monetary_365d, f.renewal_date,
        {cycle} as orders_cycle{later}
    from customer_features as f
    left join tier_assignments as t
        on t.as_of_date = f.as_of_date and t.customer_id = f.customer_id and t.is_primary
    where f.as_of_date >= date '{history_from.isoformat()}'
        and f.as_of_date < date '{end.isoformat()}'
)""",
        f"""per_tier as (
    select as_of_date, tier_code, count(*) as customers,
        sum(monetary_total) as ltv, sum(monetary_30d) as m30, sum(monetary_90d) as m90,
        sum(monetary_365d) as m365
    from base
    where tier_code is not null and {window()}
    group by as_of_date, tier_code
)""",
        """totals as (
    select per_tier.*, sum(customers) over (partition by as_of_date) as all_customers
    from per_tier
)""",
    ]
    snapshot_columns = (
        "s.as_of_date, s.tier_code, s.orders_total, s.monetary_total, s.renewal_date, "
        "s.orders_cycle, d.d"
    )
    for w in outcome_windows:
        lead_values = ", ".join(f"s.{name}_{w} as {name}" for name in later_columns.values())
        looked_up = ", ".join(f"f.{column} as {name}" for column, name in later_columns.items())
        # the snapshot day S = D - w of every tiered customer, with their figures on D: from
        # the row w rows later when it is dated D, else looked up (a gap in their rows)
        ctes.append(
            f"""snapshots_{w} as (
    select {snapshot_columns}, {lead_values}
    from base as s
    join days as d on d.d = cast(s.as_of_date + interval '{w}' day as date)
    where s.tier_code is not null and s.fd_date_{w} = d.d
    union all
    select {snapshot_columns}, {looked_up}
    from base as s
    join days as d on d.d = cast(s.as_of_date + interval '{w}' day as date)
    left join customer_features as f on f.customer_id = s.customer_id and f.as_of_date = d.d
    where s.tier_code is not null and (s.fd_date_{w} is null or s.fd_date_{w} <> d.d)
)"""
        )
        renew_cols = (
            """,
        sum(case when s.orders_cycle > 0 then 1 else 0 end) as renew_base,
        sum(case when s.orders_cycle > 0 and s.fd_orders > s.orders_total then 1 else 0 end)
            as renewed"""
            if renewal == w
            else ""
        )
        ctes.append(
            f"""outcome_{w} as (
    select s.d as as_of_date, s.tier_code, s.as_of_date as snapshot_date,
        count(*) as cohort,
        sum(case when s.orders_total > 0 then 1 else 0 end) as bought_before,
        sum(case when s.orders_total > 0 and s.fd_orders > s.orders_total then 1 else 0 end)
            as repurchased,
        sum(case when s.fd_orders > s.orders_total then 1 else 0 end) as bought,
        sum(case when s.orders_total = 1 then 1 else 0 end) as one_order,
        sum(case when s.orders_total = 1 and s.fd_orders >= 2 then 1 else 0 end) as second_order,
        sum(s.fd_monetary - s.monetary_total) as revenue,
        sum(case when s.renewal_date > s.as_of_date and s.renewal_date <= s.d then 1 else 0 end)
            as sub_due,
        sum(case when s.renewal_date > s.as_of_date and s.renewal_date <= s.d
            and s.fd_active > 0 and s.fd_renewal > s.renewal_date then 1 else 0 end)
            as sub_renewed{renew_cols}
    from snapshots_{w} as s
    group by s.d, s.tier_code, s.as_of_date
)"""
        )
    # (kpi, window, numerator, denominator, source, filter)
    specs: list[tuple[str, int | None, str, str, str, str]] = [
        ("customers", None, "customers", "all_customers", "totals", ""),
        ("ltv_to_date", None, "ltv", "customers", "totals", ""),
        *(("revenue_per_customer", p, f"m{p}", "customers", "totals", "") for p in (30, 90, 365)),
    ]
    lapsed = ", ".join(f"'{t}'" for t in config.reactivation_tiers)
    for w in windows:
        src = f"outcome_{w}"
        specs += [
            ("repurchase_rate", w, "repurchased", "bought_before", src, ""),
            ("second_purchase_rate", w, "second_order", "one_order", src, ""),
            ("revenue_next_per_customer", w, "revenue", "cohort", src, ""),
        ]
        if not renewal:
            # subscriptions: renewals that fell due in (S, D], renewed = still active at D with
            # a later renewal date; tiers with nothing due get no row
            specs.append(("renewal_rate", w, "sub_renewed", "sub_due", src, " where sub_due > 0"))
        if lapsed:
            where = f" where tier_code in ({lapsed})"
            specs.append(("reactivation_rate", w, "bought", "cohort", src, where))
    if renewal:
        specs.append(("renewal_rate", renewal, "renewed", "renew_base", f"outcome_{renewal}", ""))
    rows = [_row(kpi, w, num, den, src) + where for kpi, w, num, den, src, where in specs]
    union = "\nunion all\n".join(rows)
    with_clause = ",\n".join(ctes)
    insert = f"insert into tier_kpis\nwith {with_clause}\n{union}"
    out = [KPI_DDL, f"delete from tier_kpis where {window()}", insert]
    if dialect != "duckdb":
        out = [sqlglot.transpile(s, read="duckdb", write=dialect)[0] for s in out]
    return out


def compute_kpis(
    conn: duckdb.DuckDBPyConnection, config: ReportingConfig, start: date, end: date
) -> int:
    """Rewrite the window's KPIs in one transaction; returns the number of rows written."""
    execute_in_transaction(conn, kpi_statements(config, start, end))
    return int(
        conn.execute(
            "select count(*) from tier_kpis where as_of_date >= ? and as_of_date < ?", [start, end]
        ).fetchone()[0]
    )


def day_kpis(conn: duckdb.DuckDBPyConnection, day: date) -> list[dict]:
    """The day's KPI rows (a few dozen) as dicts, for the report and asset metadata."""
    cur = conn.execute(
        "select tier_code, kpi, window_days, snapshot_date, numerator, denominator, value "
        "from tier_kpis where as_of_date = ? order by kpi, window_days, tier_code",
        [day],
    )
    names = [c[0] for c in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
