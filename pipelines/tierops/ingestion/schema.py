"""The canonical data contract every feed is mapped onto.

A feed mapping may only target these fields; the lake stores exactly these columns, so every
channel looks the same to dbt.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pyarrow as pa

FieldType = Literal["string", "int", "decimal", "timestamp", "date", "bool", "enum"]

IDENTIFIER_TYPES: tuple[str, ...] = (
    "phone",
    "email",
    "openid",
    "unionid",
    "member_id",
    "buyer_id",
    "device_id",
)

ORDER_STATUSES = ("paid", "cancelled", "refunded")
EVENT_TYPES = (
    "visit",
    "product_view",
    "add_to_cart",
    "search",
    "login",
    "feature_use",
    "content_view",
)
SUBSCRIPTION_STATUSES = ("active", "cancelled", "expired")


@dataclass(frozen=True)
class CanonicalField:
    name: str
    type: FieldType
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    description: str = ""
    few_values: bool = False  # a short list of codes (stored dictionary-encoded)


@dataclass(frozen=True)
class Entity:
    name: str
    fields: tuple[CanonicalField, ...]
    event_time: str
    description: str

    def field(self, name: str) -> CanonicalField:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    def dictionary_columns(self) -> list[str]:
        """Columns with few distinct values: dictionary encoding pays only for those (ids and
        amounts are nearly unique, and trying a dictionary on them costs write time)."""
        coded = [f.name for f in self.fields if f.type == "enum" or f.few_values]
        return [*coded, "channel", "source_file"]

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def arrow_schema(self) -> pa.Schema:
        cols = [pa.field(f.name, _ARROW[f.type]) for f in self.fields]
        cols += [pa.field(f"id_{t}", pa.string()) for t in IDENTIFIER_TYPES]
        cols += [
            pa.field("channel", pa.string()),
            pa.field("source_file", pa.string()),
            pa.field("source_row", pa.int64()),
        ]
        return pa.schema(cols)


_ARROW = {
    "string": pa.string(),
    "enum": pa.string(),
    "int": pa.int64(),
    "decimal": pa.float64(),
    "timestamp": pa.timestamp("us"),
    "date": pa.date32(),
    "bool": pa.bool_(),
}

ENTITIES: dict[str, Entity] = {
    "order_lines": Entity(
        name="order_lines",
        event_time="order_ts",
        description="One row per order line; order-level fields repeat on every line.",
        fields=(
            CanonicalField("order_id", "string", required=True),
            CanonicalField("line_no", "int", minimum=1),
            CanonicalField("order_ts", "timestamp", required=True),
            CanonicalField("status", "enum", required=True, choices=ORDER_STATUSES),
            CanonicalField("line_amount", "decimal", required=True, minimum=0),
            CanonicalField("refund_amount", "decimal", minimum=0),
            CanonicalField(
                "order_amount",
                "decimal",
                minimum=0,
                description="Order total as the source reports it; validated, amounts come from lines",
            ),
            CanonicalField("quantity", "int", minimum=1),
            CanonicalField("sku", "string", few_values=True),
            CanonicalField("category", "string", few_values=True),
            CanonicalField("store_id", "string", few_values=True),
        ),
    ),
    "events": Entity(
        name="events",
        event_time="event_ts",
        description="One behaviour event (visit, view, add-to-cart, search, login, …).",
        fields=(
            CanonicalField("event_id", "string", required=True),
            CanonicalField("event_ts", "timestamp", required=True),
            CanonicalField("event_type", "enum", required=True, choices=EVENT_TYPES),
            CanonicalField("platform", "string", few_values=True),
            CanonicalField("category", "string", few_values=True),
            CanonicalField("quantity", "int", minimum=0),
        ),
    ),
    "members": Entity(
        name="members",
        event_time="updated_at",
        description="CRM member records registered or changed that day (latest wins).",
        fields=(
            CanonicalField("member_id", "string", required=True),
            CanonicalField("updated_at", "timestamp", required=True),
            CanonicalField("registered_at", "timestamp"),
            CanonicalField("level", "string", few_values=True),
            CanonicalField("birthday", "date"),
            CanonicalField("optin_sms", "bool"),
            CanonicalField("optin_email", "bool"),
            CanonicalField("optin_wechat", "bool"),
            CanonicalField("optin_app_push", "bool"),
        ),
    ),
    "subscriptions": Entity(
        name="subscriptions",
        event_time="updated_at",
        description="Subscription / contract state as of that day (SaaS, services); latest wins.",
        fields=(
            CanonicalField("subscription_id", "string", required=True),
            CanonicalField("updated_at", "timestamp", required=True),
            CanonicalField("status", "enum", required=True, choices=SUBSCRIPTION_STATUSES),
            CanonicalField("plan", "string", few_values=True),
            CanonicalField("seats", "int", minimum=0),
            CanonicalField(
                "contract_value", "decimal", minimum=0, description="Value of the current term"
            ),
            CanonicalField("term_months", "int", minimum=1, description="Renewal cycle"),
            CanonicalField("start_date", "date"),
            CanonicalField("renewal_date", "date", description="Next renewal; empty if cancelled"),
        ),
    ),
}
