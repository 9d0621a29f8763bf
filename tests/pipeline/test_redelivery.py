"""A re-delivered order through the incremental int_orders, on hand-made landing files.

D1  the web shop delivers orders of A and B (paid)
D2  it delivers a new order of C and re-delivers A's D1 order as refunded
D3  B orders again

One home is processed day by day (each night loads only its day), then D1 again (a rewind: the
refund delivered on D2 must not be visible) and D3 again; a second home processes D1–D3 in one
backfill run. int_orders and the features of D3 must be the same in both.
"""

from __future__ import annotations

import csv
from datetime import date

import duckdb
import pytest
from dagster import AssetSelection

from tests.conftest import _activate, make_home
from tests.helpers import failure_messages, run_range
from tests.identity.landing import WEB_COLUMNS, keep_only_used_feeds, write_day

D1, D2, D3 = date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)
UP_TO_MARTS = AssetSelection.groups("ingestion", "staging", "intermediate", "marts")
A_ORDER = f"web:W{D1:%Y%m%d}0001"


def _land(home) -> None:
    keep_only_used_feeds(home.config_dir)
    write_day(
        home.landing, D1, {"web_orders": [{"email": "a@example.com"}, {"email": "b@example.com"}]}
    )
    write_day(home.landing, D2, {"web_orders": [{"email": "c@example.com"}]})
    write_day(home.landing, D3, {"web_orders": [{"email": "b@example.com"}]})
    with (home.landing / "web" / f"orders_{D2:%Y%m%d}.csv").open(
        "a", newline="", encoding="utf-8"
    ) as f:
        csv.DictWriter(f, fieldnames=WEB_COLUMNS).writerow(
            {"order_no": f"W{D1:%Y%m%d}0001", "line_no": 1, "created_at": f"{D1}T11:00:00+08:00",
             "customer_email": "a@example.com", "customer_phone": "", "sku": "SKU1",
             "category": "beauty", "qty": 1, "unit_price": "59.00", "line_total": "59.00",
             "order_status": "REFUNDED", "refund_amount": "59.00"}
        )  # fmt: skip


def _run(first: date, last: date) -> None:
    result = run_range(first, last, UP_TO_MARTS)
    assert result.success, failure_messages(result)


def _state(home) -> dict:
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        return {
            "orders": con.execute(
                "select order_key, file_date, order_status, is_purchase, net_amount"
                " from int_orders order by all"
            ).fetchall(),
            "features": con.execute(
                "select * from customer_features where as_of_date = ? order by all", [D3]
            ).fetchall(),
            "orders_total": [
                r[0]
                for r in con.execute(
                    "select orders_total from customer_features where as_of_date = ? order by 1",
                    [D3],
                ).fetchall()
            ],
        }


@pytest.fixture(scope="module")
def states(tmp_path_factory):
    out = {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        home = make_home(tmp_path_factory.mktemp("nightly"))
        _land(home)
        _activate(home, monkeypatch)
        for day in (D1, D2, D3):
            _run(day, day)
        out["nightly"] = _state(home)
        _run(D1, D1)
        out["rewind"] = _state(home)
        _run(D3, D3)
        out["again"] = _state(home)
    with pytest.MonkeyPatch.context() as monkeypatch:
        home = make_home(tmp_path_factory.mktemp("backfill"))
        _land(home)
        _activate(home, monkeypatch)
        _run(D1, D3)
        out["backfill"] = _state(home)
    return out


def test_redelivered_order_replaces_the_first_delivery_night_by_night(states):
    orders = {row[0]: row[1:] for row in states["nightly"]["orders"]}
    assert len(orders) == 4
    assert orders[A_ORDER][:3] == (D2, "refunded", 0)
    assert states["nightly"] == states["backfill"]
    # A's only order was refunded: A is no customer on D3; C has one order, B two
    assert states["nightly"]["orders_total"] == [1, 2]


def test_rewind_hides_later_deliveries_and_the_next_night_restores_them(states):
    rewound = {row[0]: row[1:] for row in states["rewind"]["orders"]}
    assert set(rewound) == {A_ORDER, f"web:W{D1:%Y%m%d}0002"}
    assert rewound[A_ORDER][:3] == (D1, "paid", 1)
    assert states["again"] == states["backfill"]
