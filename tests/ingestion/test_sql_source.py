"""A SQL database as a feed: same mapping contract, same validation, same lake layout."""

from __future__ import annotations

import sqlite3
from datetime import date

import duckdb
import pytest
import yaml
from dagster import AssetSelection

from tests.helpers import failure_messages, run_range

DAY = date(2025, 6, 18)

ERP_MAPPING = {
    "feed": "erp_orders",
    "title": "ERP orders (SQL)",
    "entity": "order_lines",
    "channel": "b2b",
    "source": {
        "format": "sql",
        "url_env": "TIEROPS_TEST_ERP_URL",
        "query": (
            "select so_no, item_no, created, customer_mobile, amount_cents, state from sales_order "
            "where created >= :start and created < :end order by so_no, item_no"
        ),
    },
    "fields": {
        "order_id": "so_no",
        "line_no": "item_no",
        "order_ts": {"column": "created", "format": "%Y-%m-%d %H:%M:%S"},
        "status": {"column": "state", "values": {"OK": "paid", "VOID": "cancelled"}},
        "line_amount": {"column": "amount_cents", "unit": "cent"},
    },
    "identifiers": {"phone": "customer_mobile"},
}


@pytest.fixture
def erp_home(pipeline_home, tmp_path, monkeypatch):
    db = tmp_path / "erp.sqlite"
    con = sqlite3.connect(db)
    con.execute(
        "create table sales_order (so_no text, item_no int, created text, customer_mobile text, "
        "amount_cents int, state text)"
    )
    con.executemany(
        "insert into sales_order values (?, ?, ?, ?, ?, ?)",
        [
            ("SO1", 1, "2025-06-18 09:00:00", "13912345678", 12900, "OK"),
            ("SO1", 2, "2025-06-18 09:00:00", "13912345678", 3100, "OK"),
            ("SO2", 1, "2025-06-18 23:59:59", "+86 139 8765 4321", -500, "OK"),  # bad: negative
            ("SO3", 1, "2025-06-18 10:00:00", None, 800, "MAYBE"),  # bad: unknown status
            ("SO4", 1, "2025-06-19 00:00:00", "13900001111", 999, "OK"),  # next day: not in window
        ],
    )
    con.commit()
    con.close()
    (pipeline_home.config_dir / "channels" / "erp_orders.yaml").write_text(
        yaml.safe_dump(ERP_MAPPING, allow_unicode=True), encoding="utf-8"
    )
    monkeypatch.setenv("TIEROPS_TEST_ERP_URL", f"sqlite:///{db}")
    return pipeline_home


def test_sql_feed_lands_valid_rows_and_quarantines_bad_ones(erp_home):
    result = run_range(DAY, DAY, AssetSelection.assets("erp_orders"))
    assert result.success, failure_messages(result)
    lake = erp_home.home / "lake"
    con = duckdb.connect()
    rows = con.execute(
        f"select order_id, line_no, line_amount, status, id_phone, source_file, source_row "
        f"from read_parquet('{lake}/order_lines/feed=erp_orders/*/*.parquet') order by order_id, line_no"
    ).fetchall()
    assert rows == [
        ("SO1", 1, 129.0, "paid", "13912345678", "sql:erp_orders", 1),
        ("SO1", 2, 31.0, "paid", "13912345678", "sql:erp_orders", 2),
    ]
    bad = con.execute(
        f"select source_row, reason from read_parquet('{lake}/quarantine/feed=erp_orders/*/*.parquet') order by 1"
    ).fetchall()
    assert [r for r, _ in bad] == [3, 4]
    assert "negative amount" in bad[0][1]
    assert "unknown order status" in bad[1][1] and "MAYBE" in bad[1][1]


def test_sql_feed_without_its_url_fails_clearly(erp_home, monkeypatch):
    monkeypatch.delenv("TIEROPS_TEST_ERP_URL")
    result = run_range(DAY, DAY, AssetSelection.assets("erp_orders"))
    assert not result.success
    assert "TIEROPS_TEST_ERP_URL" in "\n".join(failure_messages(result))
