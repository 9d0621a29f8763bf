"""The RFM summary the way people compute it today, over the benchmark's stored orders.

One tool per process (so each gets its own peak RSS): reads the transactions Parquet written by
`scale.py` (one row per purchase order: customer_id, order_date, net_amount — the orders the
warehouse holds, attributed to stitched customers), times the summary call alone, and prints one
JSON line. Load time is reported separately; it is not part of the compared figure.

    python bench/rfm_peers.py --tool lifetimes --transactions T.parquet --as-of 2025-11-30
    tools: lifetimes (lifetimes.utils.summary_data_from_transaction_data),
           pymc (pymc_marketing.clv.rfm_summary),
           duckdb (one hand-written query, the practical limit)
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
import warnings

# The hand-written query: lifetimes' definitions (frequency = repeat purchase days, recency =
# days from first to last purchase day, T = days from first purchase to the as-of day,
# monetary_value = mean spend of repeat purchase days) plus the windowed counts and sums a tier
# policy uses (orders and spend over 30/90/365 days).
HAND_QUERY = """
with days as (
    select customer_id, order_date, sum(net_amount) as amount, count(*) as orders
    from read_parquet($path)
    where order_date <= $as_of
    group by customer_id, order_date
),
firsts as (
    select *, min(order_date) over (partition by customer_id) as first_date from days
)
select
    customer_id,
    count(*) - 1 as frequency,
    date_diff('day', min(order_date), max(order_date)) as recency,
    date_diff('day', min(order_date), $as_of) as T,
    coalesce(avg(amount) filter (where order_date > first_date), 0) as monetary_value,
    sum(orders) as orders_total,
    sum(orders) filter (where order_date > $as_of - 30) as orders_30d,
    sum(orders) filter (where order_date > $as_of - 90) as orders_90d,
    sum(orders) filter (where order_date > $as_of - 365) as orders_365d,
    sum(amount) as monetary_total,
    sum(amount) filter (where order_date > $as_of - 30) as monetary_30d,
    sum(amount) filter (where order_date > $as_of - 90) as monetary_90d,
    sum(amount) filter (where order_date > $as_of - 365) as monetary_365d,
    max(order_date) as last_order_date
from firsts
group by customer_id
"""


def run(tool: str, path: str, as_of: str, threads: int) -> dict:
    import pandas as pd

    if tool == "duckdb":
        import duckdb

        con = duckdb.connect(config={"threads": threads})
        started = time.perf_counter()
        result = con.execute(
            f"create table summary as {HAND_QUERY}",
            {"path": path, "as_of": pd.Timestamp(as_of).date()},
        )
        seconds = time.perf_counter() - started
        rows = con.execute("select count(*) from summary").fetchone()[0]
        del result
        return {"seconds": seconds, "load_seconds": 0.0, "customers": rows}

    started = time.perf_counter()
    frame = pd.read_parquet(path)
    frame["order_date"] = pd.to_datetime(frame["order_date"])
    load_seconds = time.perf_counter() - started
    end = pd.Timestamp(as_of)
    warnings.simplefilter("ignore")
    if tool == "lifetimes":
        from lifetimes.utils import summary_data_from_transaction_data as summarise

        unit = {"freq": "D"}
    elif tool == "pymc":
        from pymc_marketing.clv import rfm_summary as summarise

        unit = {"time_unit": "D"}
    else:
        raise SystemExit(f"unknown tool {tool!r}")
    started = time.perf_counter()
    summary = summarise(
        frame,
        "customer_id",
        "order_date",
        monetary_value_col="net_amount",
        observation_period_end=end,
        **unit,
    )
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "load_seconds": load_seconds,
        "customers": len(summary),
        "transactions": len(frame),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tool", required=True, choices=["lifetimes", "pymc", "duckdb"])
    parser.add_argument("--transactions", required=True)
    parser.add_argument("--as-of", required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    out = run(args.tool, args.transactions, args.as_of, args.threads)
    out["self_max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
