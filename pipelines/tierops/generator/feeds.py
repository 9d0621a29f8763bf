"""Turn a chunk's activity into each feed's rows, in that feed's own layout and vocabulary.

The layouts are the contract in docs/landing-spec.md. Each builder returns rows sorted by day, so
the run can cut one file per day out of a chunk by slicing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tierops.generator import identity as ids
from tierops.generator.activity import (
    NO_PHONE,
    OWN_PHONE,
    REFUNDED,
    SHARED_PHONE,
    Catalogue,
    Events,
    Orders,
)
from tierops.generator.badrows import BAD_TIMESTAMP, BadRowBudget, BadRows
from tierops.generator.members import MemberRows
from tierops.generator.population import (
    DAY_SECONDS,
    MARKETPLACE,
    MINI_PLATFORM,
    MINIPROGRAM,
    POS,
    WEB,
    Population,
)
from tierops.generator.profiles import CATEGORIES, CATEGORIES_ZH, LEVELS, PLATFORMS, IndustryProfile
from tierops.generator.subscriptions import PLANS, SubscriptionBook, SubscriptionRows
from tierops.generator.text import (
    compose,
    concat,
    date_parts,
    datetime_text,
    decimal_text,
    money,
    pick,
    utc_text,
    where,
)

UTC_OFFSET = 8 * 3600  # Asia/Shanghai has had no daylight saving since 1991
LOCAL_SUFFIX = b"+08:00"

MARKETPLACE_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("sub_order_id", pa.string()),
        ("buyer_id", pa.string()),
        ("receiver_phone", pa.string()),
        ("pay_time", pa.timestamp("ms", tz="UTC")),
        ("item_category", pa.string()),
        ("quantity", pa.int32()),
        ("payment_fen", pa.int64()),
        ("trade_status", pa.string()),
        ("refund_fee_fen", pa.int64()),
    ]
)


@dataclass(frozen=True)
class World:
    """What every builder needs besides the chunk's activity."""

    pop: Population
    book: ids.IdentityBook
    catalogue: Catalogue
    profile: IndustryProfile
    first_epoch_day: int


@dataclass(frozen=True)
class FeedChunk:
    """A feed's rows for a chunk: a table (or JSON lines) with each row's day index alongside."""

    feed: str
    day: np.ndarray
    rows: pa.Table | pa.Array
    bad: BadRows


@dataclass(frozen=True)
class Block:
    """The orders of one channel and their lines, cut out of a chunk's orders."""

    orders: slice
    lines: slice
    line_order: np.ndarray  # per line: index of its order within the block

    @classmethod
    def of(cls, orders: Orders, channel: int) -> Block:
        first, last = np.searchsorted(orders.channel, [channel, channel + 1])
        lines = slice(orders.line_start[first], orders.line_start[last])
        return cls(slice(first, last), lines, orders.line_order[lines] - first)


def sequence(day: np.ndarray) -> np.ndarray:
    """1-based running number within each day of a day-sorted array."""
    return np.arange(len(day)) - np.searchsorted(day, day) + 1


def order_numbers(epoch_day: np.ndarray, prefix: bytes, digits: int) -> pa.StringArray:
    """Ids such as `W20250618000123`: a prefix, the business date and a running number."""
    return compose(
        len(epoch_day), [prefix, *date_parts(epoch_day, b""), (sequence(epoch_day), digits)]
    )


def utc_millis(epoch_day: np.ndarray, second: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Epoch milliseconds of local times; payment systems stamp milliseconds, so add some."""
    return (epoch_day * DAY_SECONDS + second - UTC_OFFSET) * 1000 + rng.integers(
        0, 1000, len(second)
    )


def order_totals(orders: Orders, block: Block) -> np.ndarray:
    sums = np.concatenate([[0], np.cumsum(orders.line_fen[block.lines])])
    bounds = orders.line_start[block.orders.start : block.orders.stop + 1] - block.lines.start
    return sums[bounds[1:]] - sums[bounds[:-1]]


def web_feed(w: World, orders: Orders, budget: BadRowBudget, rng: np.random.Generator) -> FeedChunk:
    b = Block.of(orders, WEB)
    o, at = b.orders, b.line_order
    epoch = w.first_epoch_day + orders.day[o]
    person = orders.person[o]
    bad = budget.draw("web", len(at), rng)
    phone = ids.styled_phone(ids.phone_number(w.book.keys, person), orders.phone_style[o])
    line_fen = orders.line_fen[b.lines]
    table = pa.table(
        {
            "order_no": bad.spoil("empty_order_id", order_numbers(epoch, b"W", 6).take(at), ""),
            "line_no": orders.line_no[b.lines],
            "created_at": bad.spoil(
                "bad_timestamp",
                datetime_text(epoch, orders.second[o], b"-", b"T", LOCAL_SUFFIX).take(at),
                BAD_TIMESTAMP,
            ),
            "customer_email": ids.noisy_email(
                w.book.take("email", person), orders.email_noise[o]
            ).take(at),
            "customer_phone": where(orders.phone_mode[o] == OWN_PHONE, phone, None).take(at),
            "sku": w.catalogue.codes.take(orders.sku[b.lines]),
            "category": pick(CATEGORIES, orders.category[b.lines]),
            "qty": orders.quantity[b.lines],
            "unit_price": money(orders.unit_fen[b.lines]),
            "line_total": money(bad.negate(line_fen)),
            "order_status": pick(("PAID", "CANCELLED", "REFUNDED"), orders.status[o]).take(at),
            "refund_amount": money(orders.refund_fen[b.lines]),
        }
    )
    return FeedChunk("web", orders.day[o][at], table, bad)


def miniprogram_feed(
    w: World, orders: Orders, budget: BadRowBudget, rng: np.random.Generator
) -> FeedChunk:
    """One JSON object per order with its lines in `items`, as the WeChat payment export has it."""
    b = Block.of(orders, MINIPROGRAM)
    o = b.orders
    n = o.stop - o.start
    epoch = w.first_epoch_day + orders.day[o]
    person = orders.person[o]
    bad = budget.draw("miniprogram", n, rng)
    total = order_totals(orders, b)
    refund = np.where(orders.status[o] == REFUNDED, total, 0)
    pay_ms = utc_millis(epoch, orders.second[o], rng)
    own_phone = orders.phone_mode[o] == OWN_PHONE
    items = concat(
        '{"sku": "',
        w.catalogue.codes.take(orders.sku[b.lines]),
        '", "category": "',
        pick(CATEGORIES, orders.category[b.lines]),
        '", "num": ',
        decimal_text(orders.quantity[b.lines]),
        ', "fee": ',
        decimal_text(orders.line_fen[b.lines]),
        "}",
    )
    offsets = (orders.line_start[o.start : o.stop + 1] - b.lines.start).astype(np.int32)
    item_lists = pa.ListArray.from_arrays(pa.array(offsets), items)
    lines = concat(
        '{"out_trade_no": "',
        bad.spoil("empty_order_id", order_numbers(epoch, b"M", 6), ""),
        '", "openid": "',
        w.book.take("openid", person),
        '", "unionid": "',
        pc.fill_null(w.book.take("unionid", person, orders.shows_unionid[o]), ""),
        '", "phone": "',
        pc.fill_null(w.book.take("phone", person, own_phone), ""),
        '", "pay_time": ',
        bad.spoil("bad_timestamp", decimal_text(pay_ms), f'"{BAD_TIMESTAMP}"'),
        ', "status": "',
        pick(("SUCCESS", "CLOSED", "REFUND"), orders.status[o]),
        '", "total_fee": ',
        decimal_text(bad.negate(total)),
        ', "refund_fee": ',
        decimal_text(refund),
        ', "items": [',
        pc.binary_join(item_lists, ", "),
        "]}",
    )
    return FeedChunk("miniprogram", orders.day[o], lines, bad)


def pos_feed(w: World, orders: Orders, budget: BadRowBudget, rng: np.random.Generator) -> FeedChunk:
    b = Block.of(orders, POS)
    o, at = b.orders, b.line_order
    epoch = w.first_epoch_day + orders.day[o]
    person, store, mode = orders.person[o], orders.store[o], orders.phone_mode[o]
    bad = budget.draw("pos", len(at), rng)
    number = np.select(
        [mode == OWN_PHONE, mode == SHARED_PHONE],
        [ids.phone_number(w.book.keys, person), ids.SHARED_PHONE],
        ids.STORE_PHONE_BASE + store,
    )
    table = pa.table(
        {
            "门店编号": compose(len(store), [b"SH", (store + 1, 3)]).take(at),
            "小票号": bad.spoil("empty_order_id", order_numbers(epoch, b"R", 6).take(at), ""),
            "行号": orders.line_no[b.lines],
            "交易时间": bad.spoil(
                "bad_timestamp",
                datetime_text(epoch, orders.second[o], b"/", b" ").take(at),
                BAD_TIMESTAMP,
            ),
            "会员手机号": where(mode != NO_PHONE, ids.phone_text(number), None).take(at),
            "会员卡号": w.book.take("member_id", person, orders.shows_card[o]).take(at),
            "商品品类": pick(CATEGORIES_ZH, orders.category[b.lines]),
            "数量": orders.quantity[b.lines],
            "金额": money(bad.negate(orders.line_fen[b.lines])),
            "交易类型": pick(("销售", "作废", "退货"), orders.status[o]).take(at),
            "退款金额": money(orders.refund_fen[b.lines]),
        }
    )
    return FeedChunk("pos", orders.day[o][at], table, bad)


def marketplace_feed(
    w: World, orders: Orders, budget: BadRowBudget, rng: np.random.Generator
) -> FeedChunk:
    b = Block.of(orders, MARKETPLACE)
    o, at = b.orders, b.line_order
    epoch = w.first_epoch_day + orders.day[o]
    person = orders.person[o]
    bad = budget.draw("marketplace", len(at), rng)
    line_epoch = epoch[at]
    seq = sequence(epoch)[at]
    pay_ms = utc_millis(epoch, orders.second[o], rng)
    own_phone = orders.phone_mode[o] == OWN_PHONE
    columns = {
        "order_id": bad.spoil("empty_order_id", order_numbers(epoch, b"", 8).take(at), ""),
        "sub_order_id": compose(
            len(at), [*date_parts(line_epoch, b""), (seq, 8), (orders.line_no[b.lines], 2)]
        ),
        "buyer_id": w.book.take("buyer_id", person).take(at),
        "receiver_phone": w.book.take("phone", person, own_phone).take(at),
        "pay_time": pa.array(pay_ms[at], pa.int64()),
        "item_category": pick(CATEGORIES, orders.category[b.lines]),
        "quantity": pa.array(orders.quantity[b.lines], pa.int64()),
        "payment_fen": pa.array(bad.negate(orders.line_fen[b.lines]), pa.int64()),
        "trade_status": pick(("TRADE_FINISHED", "TRADE_CLOSED", "REFUNDED"), orders.status[o]).take(
            at
        ),
        "refund_fee_fen": pa.array(orders.refund_fen[b.lines], pa.int64()),
    }
    table = pa.table(
        [columns[f.name].cast(f.type) for f in MARKETPLACE_SCHEMA], schema=MARKETPLACE_SCHEMA
    )
    return FeedChunk("marketplace", orders.day[o][at], table, bad)


def tracking_feed(
    w: World, events: Events, budget: BadRowBudget, rng: np.random.Generator
) -> FeedChunk:
    epoch = w.first_epoch_day + events.day
    person = events.person
    bad = budget.draw("tracking", len(person), rng)
    table = pa.table(
        {
            "event_id": bad.spoil("empty_event_id", order_numbers(epoch, b"E", 8), ""),
            "event_time": bad.spoil(
                "bad_timestamp", utc_text(epoch, events.second, UTC_OFFSET), BAD_TIMESTAMP
            ),
            "event_name": pick(w.profile.event_names, events.name),
            "platform": pick(PLATFORMS, events.platform),
            "device_id": w.book.take("device_id", 2 * person + events.device_slot),
            "member_id": w.book.take("member_id", person, events.logged_in),
            "openid": w.book.take("openid", person, events.platform == MINI_PLATFORM),
            "category": pick(CATEGORIES, events.category, shown=events.category >= 0),
        }
    )
    return FeedChunk("tracking", events.day, table, bad)


def crm_feed(w: World, rows: MemberRows, rng: np.random.Generator) -> FeedChunk:
    """Member rows as the CRM exports them: contact details typed by staff, flags as Y/N."""
    m, reach = w.pop.membership, w.pop.reach
    person, day = rows.person, rows.day
    n = len(person)
    epoch = w.first_epoch_day + day
    mobile = ids.styled_phone(
        ids.phone_number(w.book.keys, person), rng.choice(3, n, p=ids.PHONE_STYLE_WEIGHTS)
    )
    email = ids.noisy_email(
        w.book.take("email", person, m.crm_email[person]),
        rng.choice(3, n, p=ids.EMAIL_NOISE_WEIGHTS),
    )
    opt_in = m.opt_in[person]  # a copy: the SMS opt-out below stays in this chunk
    opt_in[:, 0] &= day < m.sms_optout_day[person]
    birthday = m.birthday[person]
    table = pa.table(
        {
            "member_id": w.book.take("member_id", person),
            "mobile": where(reach.has_phone[person], mobile, None),
            "email": email,
            "unionid": w.book.take("unionid", person, m.crm_unionid[person]),
            "level": pick(LEVELS, m.level_on(day, person)),
            "birthday": where(
                birthday >= 0, compose(n, date_parts(np.maximum(birthday, 0), b"-")), None
            ),
            "registered_at": datetime_text(
                w.first_epoch_day + m.member_since[person], m.registered_second[person], b"-", b" "
            ),
            **{
                f"{name}_opt_in": pick(("N", "Y"), opt_in[:, i])
                for i, name in enumerate(("sms", "email", "wechat", "push"))
            },
            "updated_at": datetime_text(epoch, rows.second, b"-", b" "),
        }
    )
    return FeedChunk("crm", day, table, BadRows.none("crm", n))


def subscriptions_feed(w: World, rows: SubscriptionRows, book: SubscriptionBook) -> FeedChunk:
    """Subscription state rows as a billing system exports them (SaaS profile only)."""
    person, day = rows.person, rows.day
    n = len(person)
    account = w.book.take("member_id", person)
    table = pa.table(
        {
            "subscription_id": pc.binary_join_element_wise("SUB-", account, ""),
            "account_id": account,
            "admin_email": w.book.take("email", person, w.pop.reach.has_email[person]),
            "status": pick(("cancelled", "active"), rows.active.astype(np.int64)),
            "plan": pick(PLANS, book.plan[person]),
            "seats": decimal_text(book.seats[person]),
            "contract_value": money(book.contract_fen(person)),
            "term_months": decimal_text(book.term_months[person]),
            "start_date": compose(n, date_parts(w.first_epoch_day + rows.start, b"-")),
            "renewal_date": where(
                rows.active, compose(n, date_parts(w.first_epoch_day + rows.renewal, b"-")), None
            ),
            "updated_at": datetime_text(w.first_epoch_day + day, rows.second, b"-", b" "),
        }
    )
    return FeedChunk("subscriptions", day, table, BadRows.none("subscriptions", n))
