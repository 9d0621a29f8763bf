"""Per-tier KPIs as SQL on the warehouse: snapshots of tier_assignments + outcome windows.

For a report day D and an outcome window of W days, the cohort is every customer's primary tier on
the snapshot day S = D - W; what they did in (S, D] is the change of their cumulative features
between S and D (customer_features keeps one row per customer and day, each built only from data
known by then, so re-running an old day gives the same KPIs). Only aggregates leave the warehouse.

Table `tier_kpis` (long format, one row per day, tier, KPI and window):
as_of_date, tier_code, kpi, window_days, snapshot_date, numerator, denominator, value.
"""

from __future__ import annotations

from datetime import date

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
    ctes = [
        f"""days as (
    select distinct as_of_date as d from tier_assignments where {window()}
)""",
        f"""snap as (
    select a.as_of_date, a.tier_code, f.monetary_total, f.monetary_30d, f.monetary_90d,
        f.monetary_365d
    from tier_assignments as a
    join customer_features as f
        on f.as_of_date = a.as_of_date and f.customer_id = a.customer_id
    where a.is_primary and {window("a")}
)""",
        """per_tier as (
    select as_of_date, tier_code, count(*) as customers,
        sum(monetary_total) as ltv, sum(monetary_30d) as m30, sum(monetary_90d) as m90,
        sum(monetary_365d) as m365
    from snap
    group by as_of_date, tier_code
)""",
        """totals as (
    select per_tier.*, sum(customers) over (partition by as_of_date) as all_customers
    from per_tier
)""",
    ]
    renewal = config.renewal_cycle_days
    for w in outcome_windows:
        renew_cols = (
            f""",
        sum(case when fs.orders_{w}d > 0 then 1 else 0 end) as renew_base,
        sum(case when fs.orders_{w}d > 0 and fd_orders > fs.orders_total then 1 else 0 end)
            as renewed"""
            if renewal == w
            else ""
        )
        ctes.append(
            f"""outcome_{w} as (
    select d.d as as_of_date, s.tier_code, s.as_of_date as snapshot_date,
        count(*) as cohort,
        sum(case when fs.orders_total > 0 then 1 else 0 end) as bought_before,
        sum(case when fs.orders_total > 0 and fd_orders > fs.orders_total then 1 else 0 end)
            as repurchased,
        sum(case when fd_orders > fs.orders_total then 1 else 0 end) as bought,
        sum(case when fs.orders_total = 1 then 1 else 0 end) as one_order,
        sum(case when fs.orders_total = 1 and fd_orders >= 2 then 1 else 0 end) as second_order,
        sum(fd_monetary - fs.monetary_total) as revenue,
        sum(case when fs.renewal_date > s.as_of_date and fs.renewal_date <= d.d then 1 else 0 end)
            as sub_due,
        sum(case when fs.renewal_date > s.as_of_date and fs.renewal_date <= d.d
            and fd_active > 0 and fd_renewal > fs.renewal_date then 1 else 0 end) as sub_renewed{renew_cols}
    from days as d
    join tier_assignments as s
        on s.as_of_date = d.d - interval '{w}' day and s.is_primary
    join customer_features as fs
        on fs.as_of_date = s.as_of_date and fs.customer_id = s.customer_id
    left join (
        select as_of_date, customer_id, orders_total as fd_orders, monetary_total as fd_monetary,
            active_subscriptions as fd_active, renewal_date as fd_renewal
        from customer_features
    ) as fd
        on fd.as_of_date = d.d and fd.customer_id = s.customer_id
    group by d.d, s.tier_code, s.as_of_date
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
