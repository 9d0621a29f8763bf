"""Subscription rows (SaaS profile): every member account holds one subscription.

Seats, plan, price and renewal cycle are drawn once per account. A row is written when the
subscription starts, at every renewal (active while the account still pays, cancelled at the
first renewal after it stopped; nothing after that), and, for accounts that started before the
range, in the initial load on day 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tierops.generator.population import NEVER, Population

PLANS: tuple[str, ...] = ("team", "business", "enterprise")
PLAN_SEAT_LIMITS = (5, 20)  # seats from which the next plan applies
SEAT_PRICE_YUAN = np.array([49, 99, 199])  # per seat and month
MONTH_DAYS = 30
INITIAL_LOAD_BEFORE = 6 * 3600


@dataclass(frozen=True)
class SubscriptionBook:
    seats: np.ndarray
    term_months: np.ndarray
    plan: np.ndarray  # index into PLANS

    @property
    def period_days(self) -> np.ndarray:
        return self.term_months * MONTH_DAYS

    def contract_fen(self, person: np.ndarray) -> np.ndarray:
        """Value of one term: seats × seat price × months, in fen."""
        price = SEAT_PRICE_YUAN[self.plan[person]] * 100
        return self.seats[person] * price * self.term_months[person]


def build_subscription_book(pop: Population, rng: np.random.Generator) -> SubscriptionBook:
    n = pop.size
    factor = pop.behaviour.price_factor
    seats = 1 + rng.poisson(4.0 * factor, n)
    annual = rng.random(n) < np.where(factor > 1.0, 0.7, 0.35)
    return SubscriptionBook(
        seats=seats.astype(np.int64),
        term_months=np.where(annual, 12, 1).astype(np.int64),
        plan=np.digitize(seats, PLAN_SEAT_LIMITS).astype(np.int64),
    )


@dataclass(frozen=True)
class SubscriptionRows:
    """Sorted by day, time and person; one row per account and day."""

    day: np.ndarray
    person: np.ndarray
    second: np.ndarray
    active: np.ndarray  # False: cancelled
    start: np.ndarray  # day index the subscription started (may be before the range)
    renewal: np.ndarray  # day index of the next renewal (meaningless when cancelled)


def subscription_rows(
    pop: Population, book: SubscriptionBook, days: range, rng: np.random.Generator
) -> SubscriptionRows:
    since = pop.membership.member_since
    members = np.flatnonzero(since != NEVER)
    start = since[members].astype(np.int64)
    period = book.period_days[members]
    stop = pop.behaviour.stop[members].astype(np.int64)

    # renewal k happens on start + k * period; those falling into this chunk
    k_first = np.maximum(-(-(days.start - start) // period), 0)
    k_last = -(-(days.stop - start) // period) - 1
    count = np.maximum(k_last - k_first + 1, 0)
    who = np.repeat(np.arange(len(members)), count)
    offset = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    k = np.repeat(k_first, count) + offset
    day = start[who] + k * period[who]
    # no row once the previous term ended after the account stopped paying
    keep = (k == 0) | (start[who] + (k - 1) * period[who] < stop[who])
    who, day = who[keep], day[keep]
    second = rng.integers(1 * 3600, 5 * 3600, len(day))  # billing runs at night

    if days.start == 0:  # the initial load: state on day 0 of accounts that started before
        old = np.flatnonzero(start < 0)
        last_k = (-start[old]) // period[old]
        day0_state = np.zeros(len(old), np.int64)
        renewed_on_day0 = (start[old] + last_k * period[old]) == 0
        old, day0_state = old[~renewed_on_day0], day0_state[~renewed_on_day0]
        who = np.concatenate([old, who])
        day = np.concatenate([day0_state, day])
        second = np.concatenate([rng.integers(0, INITIAL_LOAD_BEFORE, len(old)), second])

    person = members[who]
    current_k = (day - start[who]) // period[who]
    term_start = start[who] + current_k * period[who]
    active = np.where(day == term_start, stop[who] > day, stop[who] > term_start)
    renewal = term_start + period[who]
    order = np.lexsort((person, second, day))
    return SubscriptionRows(
        day=day[order],
        person=person[order],
        second=second[order],
        active=active[order],
        start=start[who][order],
        renewal=renewal[order],
    )
