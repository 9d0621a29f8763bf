"""customer_features against an independent pandas computation over the same staged rows."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

from tests.conftest import SMALL_END

IDS = ["phone", "email", "openid", "unionid", "member_id", "buyer_id", "device_id"]


def test_rfm_matches_a_pandas_recomputation(backfilled):
    home, _ = backfilled
    con = duckdb.connect(str(home.warehouse), read_only=True)
    lines = con.execute(
        "select * from stg_lake__order_lines where order_date <= ?", [SMALL_END]
    ).df()
    nodes = con.execute("select node, customer_id from identity_map where valid_to is null").df()
    features = con.execute(
        "select customer_id, orders_total, orders_365d, monetary_total, last_order_date, first_order_date "
        "from customer_features where as_of_date = ?",
        [SMALL_END],
    ).df()
    con.close()

    lines["refund"] = np.where(
        lines["status"] == "cancelled", 0.0, lines["refund_amount"].astype(float)
    )
    lines["gross"] = np.where(
        lines["status"] == "cancelled", 0.0, lines["line_amount"].astype(float)
    )
    lines["cancelled"] = lines["status"] == "cancelled"
    orders = lines.groupby("order_key").agg(
        order_date=("order_date", "min"),
        gross=("gross", "sum"),
        refund=("refund", "sum"),
        all_cancelled=("cancelled", "all"),
        **{i: (i, "max") for i in IDS},
    )
    orders["net"] = orders["gross"] - orders["refund"]
    purchases = orders[(~orders["all_cancelled"]) & (orders["net"] > 0)].copy()

    node_to_customer = dict(zip(nodes["node"], nodes["customer_id"], strict=True))

    def customer_of(row) -> str | None:
        for id_type in IDS:
            value = row[id_type]
            if isinstance(value, str) and f"{id_type}:{value}" in node_to_customer:
                return node_to_customer[f"{id_type}:{value}"]
        return None

    purchases["customer_id"] = purchases.apply(customer_of, axis=1)
    purchases = purchases.dropna(subset=["customer_id"])
    expected = purchases.groupby("customer_id").agg(
        orders_total=("net", "size"),
        monetary_total=("net", "sum"),
        last_order_date=("order_date", "max"),
        first_order_date=("order_date", "min"),
    )
    got = features.set_index("customer_id")
    buyers = got[got["orders_total"] > 0]
    assert len(expected) > 300
    assert set(buyers.index) == set(expected.index)
    joined = expected.join(buyers, rsuffix="_sql")
    assert (joined["orders_total"] == joined["orders_total_sql"]).all()
    assert np.allclose(joined["monetary_total"], joined["monetary_total_sql"], atol=0.01)
    assert (
        pd.to_datetime(joined["last_order_date"]) == pd.to_datetime(joined["last_order_date_sql"])
    ).all()
    assert (
        pd.to_datetime(joined["first_order_date"]) == pd.to_datetime(joined["first_order_date_sql"])
    ).all()
    # the window covers less than a year, so 365-day and total frequency agree
    assert (joined["orders_total_sql"] == joined["orders_365d"]).all()
