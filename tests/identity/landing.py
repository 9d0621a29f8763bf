"""Tiny landing files in the formats of the project's channel mappings (config/channels/).

Each builder takes plain dicts with the identifiers a test cares about and fills the rest, so a
scenario reads as "who bought where with which identifiers". Every feed gets a file for every
day (header only when empty), as the mappings require.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from pathlib import Path

FEEDS_USED = ("pos_orders", "web_orders", "miniprogram_orders", "crm_members", "tracking_events")

POS_COLUMNS = ["门店编号", "小票号", "行号", "交易时间", "交易类型", "金额", "退款金额", "数量", "商品品类",
               "会员手机号", "会员卡号"]  # fmt: skip
WEB_COLUMNS = ["order_no", "line_no", "created_at", "customer_email", "customer_phone", "sku",
               "category", "qty", "unit_price", "line_total", "order_status", "refund_amount"]  # fmt: skip
CRM_COLUMNS = ["member_id", "updated_at", "registered_at", "level", "birthday", "sms_opt_in",
               "email_opt_in", "wechat_opt_in", "push_opt_in", "mobile", "email", "unionid"]  # fmt: skip
TRACKING_COLUMNS = ["event_id", "event_time", "event_name", "platform", "category", "device_id",
                    "member_id", "openid"]  # fmt: skip


def keep_only_used_feeds(config_dir: Path) -> None:
    """Drop the mappings of feeds the scenarios do not deliver (the marketplace Parquet feed)."""
    for path in (config_dir / "channels").glob("*.yaml"):
        if path.stem not in FEEDS_USED:
            path.unlink()


def _write_csv(path: Path, columns: list[str], rows: Iterable[Mapping[str, object]], encoding: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as f:
        writer = csv.DictWriter(f, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({c: row.get(c, "") for c in columns})


def write_day(landing: Path, day: date, records: Mapping[str, list[dict]]) -> None:
    """Write every used feed's file of `day`; `records[feed]` lists rows with identifiers only."""
    stamp = day.strftime("%Y%m%d")
    iso = day.isoformat()
    pos = [
        {"门店编号": "SH001", "小票号": f"R{stamp}{i:04d}", "行号": 1,
         "交易时间": f"{day:%Y/%m/%d} 10:{i % 60:02d}:00", "交易类型": "销售", "金额": "99.00",
         "退款金额": "0.00", "数量": 1, "商品品类": "美妆",
         "会员手机号": r.get("phone", ""), "会员卡号": r.get("member_id", "")}
        for i, r in enumerate(records.get("pos_orders", []), start=1)
    ]  # fmt: skip
    _write_csv(landing / "pos" / f"POS_{stamp}.csv", POS_COLUMNS, pos, "gbk")
    web = [
        {"order_no": f"W{stamp}{i:04d}", "line_no": 1, "created_at": f"{iso}T11:00:00+08:00",
         "customer_email": r.get("email", ""), "customer_phone": r.get("phone", ""),
         "sku": "SKU1", "category": "beauty", "qty": 1, "unit_price": "59.00",
         "line_total": "59.00", "order_status": "PAID", "refund_amount": "0.00"}
        for i, r in enumerate(records.get("web_orders", []), start=1)
    ]  # fmt: skip
    _write_csv(landing / "web" / f"orders_{stamp}.csv", WEB_COLUMNS, web, "utf-8")
    crm = [
        {"member_id": r["member_id"], "updated_at": f"{iso} 09:00:00",
         "registered_at": f"{iso} 09:00:00", "level": "silver", "birthday": "1990-01-01",
         "sms_opt_in": "Y", "email_opt_in": "Y", "wechat_opt_in": "N", "push_opt_in": "N",
         "mobile": r.get("phone", ""), "email": r.get("email", ""), "unionid": r.get("unionid", "")}
        for r in records.get("crm_members", [])
    ]  # fmt: skip
    _write_csv(landing / "crm" / f"members_{iso}.csv", CRM_COLUMNS, crm, "utf-8")
    events = [
        {"event_id": f"E{stamp}{i:04d}", "event_time": f"{iso}T12:00:00+08:00",
         "event_name": "visit", "platform": "app", "category": "",
         "device_id": r.get("device_id", ""), "member_id": r.get("member_id", ""),
         "openid": r.get("openid", "")}
        for i, r in enumerate(records.get("tracking_events", []), start=1)
    ]  # fmt: skip
    _write_csv(landing / "tracking" / f"events_{iso}.csv", TRACKING_COLUMNS, events, "utf-8")
    paid_at = datetime.combine(day, time(4, 0), tzinfo=UTC)  # 12:00 in Shanghai
    lines = [
        json.dumps(
            {"out_trade_no": f"M{stamp}{i:04d}", "openid": r.get("openid", ""),
             "unionid": r.get("unionid", ""), "phone": r.get("phone", ""),
             "pay_time": int(paid_at.timestamp() * 1000), "status": "SUCCESS",
             "total_fee": 3900, "refund_fee": 0,
             "items": [{"sku": "SKU2", "category": "food", "num": 1, "fee": 3900}]},
            ensure_ascii=False,
        )
        for i, r in enumerate(records.get("miniprogram_orders", []), start=1)
    ]  # fmt: skip
    path = landing / "miniprogram" / f"orders_{iso}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
