"""What persons do in a chunk of days: orders with lines, browsing sessions and their events.

Who acts on which day comes from one Poisson process per person, sampled for the whole chunk by
thinning (see `thinned`), so no per-person, per-day draw is ever made. Everything after that is
vectorised over the whole chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pyarrow as pa

from tierops.generator.identity import EMAIL_NOISE_WEIGHTS, PHONE_STYLE_WEIGHTS
from tierops.generator.population import (
    APP_PLATFORM,
    DAY_SECONDS,
    MINI_PLATFORM,
    MINIPROGRAM,
    POS,
    WEB,
    WEB_PLATFORM,
    Population,
    popular_categories,
)
from tierops.generator.profiles import CATEGORIES, CATEGORY_MEDIAN_YUAN, SKU_PREFIXES

# Relative activity per hour of the day (Asia/Shanghai) online, and in stores (open 10:00–22:00).
ONLINE_HOURS = np.array(
    [1, 0.6, 0.3, 0.2, 0.2, 0.3, 0.6, 1.2, 2, 2.6, 3, 3.1, 2.8, 2.6, 2.7, 2.8, 2.7, 2.6, 2.8, 3.4,
     4, 4.3, 3.8, 2.2]
)  # fmt: skip
STORE_HOURS = np.array([0] * 10 + [1, 1.4, 1.6, 1.4, 1.4, 1.5, 1.6, 1.8, 2, 2.1, 1.8, 1.2, 0, 0])
CANCELLED_SHARE, REFUNDED_SHARE = 0.03, 0.05
PAID, CANCELLED, REFUNDED = 0, 1, 2
NO_PHONE, OWN_PHONE, SHARED_PHONE, STORE_PHONE = range(4)
SKUS_PER_CATEGORY = 400
LOGIN_SHARE = np.array([0.3, 0.6, 0.5])  # per platform: web, app, miniprogram
VIEW = 3  # sessions step through visit, login, search, product_view, add_to_cart


@dataclass(frozen=True)
class Catalogue:
    """SKUs with list prices; a purchase picks the SKU nearest to the price the person aims for."""

    codes: pa.Array  # index = category * SKUS_PER_CATEGORY + rank by price
    price_fen: np.ndarray  # same index
    search_keys: np.ndarray  # category * 100 + log(price): sorted, so one searchsorted serves all

    def pick(self, category: np.ndarray, target_fen: np.ndarray) -> np.ndarray:
        keys = category * 100.0 + np.log(np.maximum(target_fen, 1.0))
        pos = np.searchsorted(self.search_keys, keys)
        low, high = category * SKUS_PER_CATEGORY, (category + 1) * SKUS_PER_CATEGORY - 1
        return np.clip(pos, low, high)


def build_catalogue(rng: np.random.Generator) -> Catalogue:
    k = SKUS_PER_CATEGORY
    medians = np.repeat(np.asarray(CATEGORY_MEDIAN_YUAN, float), k)
    yuan = np.maximum(1, np.round(medians * rng.lognormal(0, 0.7, len(medians))))
    price = (yuan * 100 - 10).astype(np.int64).reshape(len(CATEGORIES), k)  # prices end in .90
    price.sort(axis=1)
    price = price.ravel()
    category = np.repeat(np.arange(len(CATEGORIES)), k)
    codes = [f"{SKU_PREFIXES[c]}{j:05d}" for c in range(len(CATEGORIES)) for j in range(k)]
    return Catalogue(pa.array(codes), price, category * 100.0 + np.log(price))


@dataclass(frozen=True)
class Orders:
    """Orders sorted by channel, day and time; lines follow their orders in that order."""

    day: np.ndarray  # day index in the range
    person: np.ndarray
    channel: np.ndarray
    second: np.ndarray  # local seconds since midnight
    status: np.ndarray
    store: np.ndarray
    phone_mode: np.ndarray  # NO_PHONE, OWN_PHONE or a junk phone
    phone_style: np.ndarray
    email_noise: np.ndarray
    shows_unionid: np.ndarray
    shows_card: np.ndarray
    line_start: np.ndarray  # first line of each order, plus the total at the end
    line_no: np.ndarray  # 1-based
    category: np.ndarray
    sku: np.ndarray
    quantity: np.ndarray
    unit_fen: np.ndarray

    @cached_property
    def line_order(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.day)), np.diff(self.line_start))

    @cached_property
    def line_fen(self) -> np.ndarray:
        return self.unit_fen * self.quantity

    @cached_property
    def refund_fen(self) -> np.ndarray:
        return np.where(self.status[self.line_order] == REFUNDED, self.line_fen, 0)


@dataclass(frozen=True)
class Events:
    """Tracking events sorted by day and time."""

    day: np.ndarray
    person: np.ndarray
    second: np.ndarray
    name: np.ndarray  # index into the profile's event names
    platform: np.ndarray
    category: np.ndarray  # -1 where the event has none
    logged_in: np.ndarray
    device_slot: np.ndarray


@dataclass(frozen=True)
class Arrivals:
    """Who orders and who browses on which day of a chunk (before any detail is drawn)."""

    order_day: np.ndarray
    order_person: np.ndarray
    browse_day: np.ndarray
    browse_person: np.ndarray


def thinned(
    rate: Callable[[np.ndarray, np.ndarray], np.ndarray],
    bound: np.ndarray,
    multiplier: np.ndarray,
    days: range,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """(day, person) events of per-person Poisson processes with rates `rate(person, day)`.

    Candidates come from the constant bound (one cumulative sum per chunk, then rate-weighted
    picks), and each is kept with probability rate / bound: exact, and O(events) per day.
    """
    cum = np.cumsum(bound)
    total = float(cum[-1])
    counts = rng.poisson(total * multiplier[days.start : days.stop])
    day = np.repeat(np.arange(days.start, days.stop), counts)
    person = np.searchsorted(cum, rng.random(len(day)) * total, side="right")
    keep = rng.random(len(day)) * bound[person] < rate(person, day)
    return day[keep], person[keep]


def arrivals(
    pop: Population,
    days: range,
    order_multiplier: np.ndarray,
    browse_multiplier: np.ndarray,
    rng: np.random.Generator,
) -> Arrivals:
    """Drawn orders and browsing sessions, plus each person's anchor activity in the chunk."""
    b = pop.behaviour
    everyone, peak = np.arange(pop.size), b.peak_day(days)
    order_bound, browse_bound = b.order_rates(everyone, peak), b.browse_rates(everyone, peak)
    order_day, order_person = thinned(b.order_rates, order_bound, order_multiplier, days, rng)
    browse_day, browse_person = thinned(b.browse_rates, browse_bound, browse_multiplier, days, rng)
    anchored = np.flatnonzero((b.anchor_day >= days.start) & (b.anchor_day < days.stop))
    as_order = b.anchor_order[anchored]
    return Arrivals(
        order_day=np.concatenate([order_day, b.anchor_day[anchored[as_order]]]),
        order_person=np.concatenate([order_person, anchored[as_order]]),
        browse_day=np.concatenate([browse_day, b.anchor_day[anchored[~as_order]]]),
        browse_person=np.concatenate([browse_person, anchored[~as_order]]),
    )


def seconds_of_day(weights: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    cum = np.cumsum(weights) / weights.sum()
    hour = np.minimum(np.searchsorted(cum, rng.random(n), side="right"), 23)
    return hour * 3600 + rng.integers(0, 3600, n)


def choose_cumulative(cum: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One column per row of a cumulative-weights matrix (rows end at 1)."""
    u = rng.random(len(cum))[:, None]
    return np.minimum((cum <= u).sum(axis=1), cum.shape[1] - 1)


def build_orders(
    pop: Population, came: Arrivals, cat: Catalogue, rng: np.random.Generator
) -> Orders:
    day, person = came.order_day, came.order_person
    n = len(day)
    reach, member = pop.reach, pop.membership
    channel = choose_cumulative(reach.channel_cum[person], rng)
    second = np.where(
        channel == POS, seconds_of_day(STORE_HOURS, n, rng), seconds_of_day(ONLINE_HOURS, n, rng)
    )
    order = np.argsort(
        (channel * (day.max(initial=0) + 1) + day) * DAY_SECONDS + second, kind="stable"
    )
    day, person, channel, second = day[order], person[order], channel[order], second[order]

    u = rng.random(n)
    status = np.select(
        [u < CANCELLED_SHARE, u < CANCELLED_SHARE + REFUNDED_SHARE], [CANCELLED, REFUNDED], PAID
    )
    store = np.where(
        rng.random(n) < 0.85, reach.home_store[person], rng.integers(0, reach.stores, n)
    )
    lines = build_lines(pop, person, cat, rng)
    return Orders(
        day=day,
        person=person,
        channel=channel,
        second=second,
        status=status,
        store=store,
        phone_mode=phone_modes(pop, person, channel, rng),
        phone_style=rng.choice(3, n, p=PHONE_STYLE_WEIGHTS),
        email_noise=rng.choice(3, n, p=EMAIL_NOISE_WEIGHTS),
        shows_unionid=reach.shares_unionid[person] & (rng.random(n) < 0.95),
        shows_card=member.is_member(day, person) & (rng.random(n) < 0.9),
        **lines,
    )


def phone_modes(
    pop: Population, person: np.ndarray, channel: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Whether an order carries the person's phone, per channel habit; tills type junk sometimes."""
    reach = pop.reach
    u = rng.random(len(person))
    own = np.select(
        [channel == WEB, channel == MINIPROGRAM, channel == POS],
        [
            u < reach.web_phone_share[person],
            reach.has_phone[person] & (u < 0.3),
            reach.pos_phone[person] & (u < 0.9),
        ],
        reach.market_phone[person] & (u < 0.95),
    )
    junk = (channel == POS) & ~own & (rng.random(len(person)) < 0.12)
    junk_kind = np.where(rng.random(len(person)) < 0.4, SHARED_PHONE, STORE_PHONE)
    return np.select([own, junk], [OWN_PHONE, junk_kind], NO_PHONE)


def build_lines(
    pop: Population, person: np.ndarray, cat: Catalogue, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Basket lines: mostly the favourite category, SKUs around the person's price level."""
    b = pop.behaviour
    count = 1 + rng.poisson(b.extra_lines[person])
    line_start = np.concatenate([[0], np.cumsum(count)])
    buyer = np.repeat(person, count)
    m = len(buyer)
    line_no = np.arange(m) - np.repeat(line_start[:-1], count) + 1
    category = np.where(rng.random(m) < 0.55, b.favourite[buyer], popular_categories(m, rng))
    medians = np.asarray(CATEGORY_MEDIAN_YUAN) * 100
    target = medians[category] * b.price_factor[buyer] * rng.lognormal(0, 0.5, m)
    sku = cat.pick(category, target)
    return {
        "line_start": line_start,
        "line_no": line_no,
        "category": category,
        "sku": sku,
        "quantity": 1 + rng.poisson(0.3, m),
        "unit_fen": cat.price_fen[sku],
    }


def build_events(
    pop: Population, orders: Orders, came: Arrivals, rng: np.random.Generator
) -> Events:
    """Purchase sessions end in an online order; browsing sessions are the rest of the traffic."""
    online = (orders.channel == WEB) | (orders.channel == MINIPROGRAM)
    buyer = orders.person[online]
    on_app = pop.reach.uses_app[buyer] & (rng.random(len(buyer)) < 0.5)
    buy_platform = np.where(
        orders.channel[online] == MINIPROGRAM,
        MINI_PLATFORM,
        np.where(on_app, APP_PLATFORM, WEB_PLATFORM),
    )
    first_category = orders.category[orders.line_start[:-1][online]]
    browser = came.browse_person
    favourite = pop.behaviour.favourite[browser]
    browse_category = np.where(rng.random(len(browser)) < 0.6, favourite, -1)

    sessions = {
        "day": np.concatenate([orders.day[online], came.browse_day]),
        "person": np.concatenate([buyer, browser]),
        "platform": np.concatenate(
            [buy_platform, choose_cumulative(pop.reach.platform_cum[browser], rng)]
        ),
        "anchor": np.concatenate(
            [orders.second[online], seconds_of_day(ONLINE_HOURS, len(browser), rng)]
        ),
        "category": np.concatenate([first_category, browse_category]),
        "purchase": np.concatenate([np.ones(len(buyer), bool), np.zeros(len(browser), bool)]),
    }
    return expand_sessions(pop, sessions, rng)


def expand_sessions(pop: Population, s: dict[str, np.ndarray], rng: np.random.Generator) -> Events:
    """One event per step: visit, login, search, product views, add to cart, timed in sequence."""
    n = len(s["day"])
    purchase = s["purchase"]
    logged_in = pop.membership.is_member(s["day"], s["person"]) & (
        rng.random(n) < LOGIN_SHARE[s["platform"]]
    )
    search = rng.random(n) < 0.35
    views = np.where(purchase, 1 + rng.poisson(0.8, n), rng.poisson(1.2, n))
    cart = purchase | (rng.random(n) < 0.12)
    # steps per session, in order: one visit, login, search, product views, add to cart
    steps = np.stack([np.ones(n, np.int64), logged_in, search, views, cart], axis=1)
    count = steps.sum(axis=1)
    name = np.repeat(np.tile(np.arange(5, dtype=np.int8), n), steps.ravel())

    session = np.repeat(np.arange(n), count)
    m = len(session)
    starts = np.cumsum(count) - count
    step = np.arange(m) - starts[session]
    gaps = np.where(step == 0, 0, 5 + rng.exponential(40, m).astype(np.int64))
    offset = np.cumsum(gaps) - np.repeat(np.cumsum(gaps)[starts], count)
    duration = offset[starts + count - 1]
    lead = np.where(purchase, duration + 30 + rng.integers(0, 300, n), 0)
    second = np.clip((s["anchor"] - lead)[session] + offset, 0, DAY_SECONDS - 1)

    hinted = s["category"][session]
    category = np.where((hinted >= 0) & (rng.random(m) < 0.7), hinted, popular_categories(m, rng))
    category = np.where(name >= VIEW, category, -1)

    platform = s["platform"][session]
    person = s["person"][session]
    second_device = (platform != WEB_PLATFORM) & (pop.reach.devices[person] == 2)
    # stable: events of the same second keep their session order
    order = np.argsort(s["day"][session] * DAY_SECONDS + second, kind="stable")
    return Events(
        day=s["day"][session][order],
        person=person[order],
        second=second[order],
        name=name[order],
        platform=platform[order],
        category=category[order],
        logged_in=logged_in[session][order],
        device_slot=second_device[order].astype(np.int8),
    )
