"""Feed assets: landing files → lake Parquet, bad rows quarantined with a reason, nothing valid lost."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import duckdb
import pandas as pd
from dagster import AssetSelection

from tests.conftest import SMALL_END, SMALL_START
from tests.helpers import failure_messages, run_range

FEED_FOLDERS = {
    "web_orders": "web",
    "miniprogram_orders": "miniprogram",
    "pos_orders": "pos",
    "marketplace_orders": "marketplace",
    "tracking_events": "tracking",
    "crm_members": "crm",
}
FEED_FOLDERS_INV = {v: k for k, v in FEED_FOLDERS.items()}
ORDER_FEEDS = ["web_orders", "miniprogram_orders", "pos_orders", "marketplace_orders"]


def _lake(home, sql: str):
    """Query the lake's Parquet folders (only the tables that have files yet)."""
    con = duckdb.connect()
    lake = home.home / "lake"
    for table in ("order_lines", "events", "quarantine"):
        if any((lake / table).glob("*/*/*.parquet")):
            con.execute(
                f"create view {table} as select * from "
                f"read_parquet('{lake}/{table}/*/*/*.parquet', hive_partitioning=true)"
            )
    return con.execute(sql)


def test_quarantine_matches_injected_bad_rows_and_keeps_all_valid_rows(pipeline_home):
    result = run_range(SMALL_START, SMALL_END, AssetSelection.groups("ingestion"))
    assert result.success, failure_messages(result)

    truth = pd.read_parquet(pipeline_home.truth / "bad_rows.parquet")
    quarantined = _lake(
        pipeline_home, "select feed, source_file, source_row, reason from quarantine"
    ).df()
    assert len(truth) > 0
    expected = {
        (FEED_FOLDERS_INV[f], file, int(r))
        for f, file, r in truth[["feed", "file", "source_row"]].itertuples(index=False)
    }
    got = {(f, file, int(r)) for f, file, r, _ in quarantined.itertuples(index=False)}
    assert got == expected
    assert quarantined["reason"].str.len().min() > 10

    # every injected kind is explained in words a person understands
    phrases = {
        "negative_amount": "negative ",
        "bad_timestamp": "cannot parse column",
        "empty_order_id": "order id is empty",
        "empty_event_id": "event id is empty",
    }
    by_row = {
        (f, file, int(r)): reason for f, file, r, reason in quarantined.itertuples(index=False)
    }
    assert set(truth["kind"]) >= {"negative_amount", "bad_timestamp", "empty_order_id"}
    for feed, file, row, kind in truth[["feed", "file", "source_row", "kind"]].itertuples(
        index=False
    ):
        assert phrases[kind] in by_row[(FEED_FOLDERS_INV[feed], file, int(row))]

    # nothing valid is lost: lake rows + quarantined rows == rows in the landing files
    for feed in ORDER_FEEDS:
        lake_rows = _lake(
            pipeline_home, f"select count(*) from order_lines where feed = '{feed}'"
        ).fetchone()[0]
        bad = int((quarantined["feed"] == feed).sum())  # one row per line item, like the lake
        assert lake_rows + bad == _landing_rows(pipeline_home.landing, feed), feed
    check_results = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    web_bad = int((quarantined["feed"] == "web_orders").sum())
    assert check_results["web_orders"].metadata["rows_quarantined"].value == web_bad


def _landing_rows(landing: Path, feed: str) -> int:
    folder = landing / FEED_FOLDERS[feed]
    total = 0
    for path in folder.iterdir():
        if path.suffix == ".csv":
            encoding = "gbk" if feed == "pos_orders" else "utf-8"
            total += sum(1 for _ in csv.reader(io.StringIO(path.read_text(encoding=encoding)))) - 1
        elif path.suffix == ".parquet":
            total += len(pd.read_parquet(path))
        elif path.suffix == ".jsonl":
            lines = path.read_text(encoding="utf-8").splitlines()
            total += sum(_items(line) for line in lines if line.strip())
    return total


def _items(line: str) -> int:
    items = json.loads(line).get("items") or []
    return max(len(items), 1)


def test_gbk_pos_file_is_decoded_and_mapped(pipeline_home):
    result = run_range(SMALL_START, SMALL_START, AssetSelection.assets("pos_orders"))
    assert result.success, failure_messages(result)
    rows = _lake(pipeline_home, "select category, channel, store_id from order_lines").df()
    assert len(rows) > 0
    assert set(rows["category"]) <= {
        "beauty",
        "food",
        "apparel",
        "home",
        "electronics",
        "baby",
        "sports",
        "books",
    }
    assert set(rows["channel"]) == {"pos"}
    assert rows["store_id"].str.match(r"^[A-Z]{2}\d{3}$").all()


def test_missing_column_fails_the_partition_naming_file_and_column(pipeline_home):
    day_file = pipeline_home.landing / "web" / f"orders_{SMALL_START:%Y%m%d}.csv"
    frame = pd.read_csv(day_file, dtype=str, keep_default_na=False)
    frame.drop(columns=["line_total"]).to_csv(day_file, index=False)

    result = run_range(SMALL_START, SMALL_START, AssetSelection.assets("web_orders"))
    assert not result.success
    message = "\n".join(failure_messages(result))
    assert str(day_file) in message
    assert "'line_total'" in message
    assert "line_amount" in message


def test_file_in_wrong_encoding_fails_with_line_number(pipeline_home):
    day_file = pipeline_home.landing / "pos" / f"POS_{SMALL_START:%Y%m%d}.csv"
    text = day_file.read_bytes().decode("gbk")
    lines = text.splitlines()
    # a UTF-8 line inside a GBK file: what happens when two exports are concatenated by hand
    broken = (
        "\n".join(lines[:2]).encode("gbk")
        + b"\n"
        + "SH001,R9,1,2025/03/01 10:00:00,,,\u7f8e\u5986,1,1.00,\u9500\u552e,0".encode("utf-8")
        + b"\xff\xfe\n"
    )
    day_file.write_bytes(broken)
    result = run_range(SMALL_START, SMALL_START, AssetSelection.assets("pos_orders"))
    assert not result.success
    message = "\n".join(failure_messages(result))
    assert str(day_file) in message
    assert "gbk" in message


def test_broken_json_line_fails_naming_file_and_line(pipeline_home):
    day_file = pipeline_home.landing / "miniprogram" / f"orders_{SMALL_START:%Y-%m-%d}.jsonl"
    lines = day_file.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 2
    lines[1] = lines[1][: len(lines[1]) // 2]  # a line cut short, as by an interrupted upload
    day_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = run_range(SMALL_START, SMALL_START, AssetSelection.assets("miniprogram_orders"))
    assert not result.success
    message = "\n".join(failure_messages(result))
    assert f"{day_file}: line 2 is not valid JSON" in message


def test_rerunning_a_day_replaces_it(pipeline_home):
    selection = AssetSelection.assets("web_orders")
    assert run_range(SMALL_START, SMALL_START, selection).success
    path = (
        pipeline_home.home
        / "lake"
        / "order_lines"
        / "feed=web_orders"
        / f"file_date={SMALL_START}"
        / "data.parquet"
    )
    first = path.read_bytes()
    assert run_range(SMALL_START, SMALL_START, selection).success
    assert path.read_bytes() == first
    count = _lake(pipeline_home, "select count(*) from order_lines").fetchone()[0]
    assert count == len(pd.read_parquet(path))
