"""CRM rows of a chunk: which members were registered or changed on which day.

The first day carries every member who joined before the range (the initial load); after that a
row appears when a member registers, moves up a level, opts out of SMS or edits the profile.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tierops.generator.population import NEVER, Population

EDITS_PER_YEAR = 1.0
INITIAL_LOAD_BEFORE = 6 * 3600  # the initial load is synced in the early morning of day 0


@dataclass(frozen=True)
class MemberRows:
    """Sorted by day, time and person; one row per member and day."""

    day: np.ndarray
    person: np.ndarray
    second: np.ndarray  # updated_at, local seconds since midnight


def member_rows(pop: Population, days: range, rng: np.random.Generator) -> MemberRows:
    m = pop.membership
    members = np.flatnonzero(m.member_since != NEVER)
    since = m.member_since[members]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    joined = members[(since >= days.start) & (since < days.stop)]
    parts.append((m.member_since[joined], joined, m.registered_second[joined]))
    if days.start == 0:
        old = members[since < 0]
        parts.append(
            (np.zeros(len(old), np.int64), old, rng.integers(0, INITIAL_LOAD_BEFORE, len(old)))
        )
    for change_day in (m.upgrade_day, m.sms_optout_day):
        changed = members[(change_day[members] >= days.start) & (change_day[members] < days.stop)]
        parts.append((change_day[changed], changed, _daytime(len(changed), rng)))
    parts.append(_profile_edits(members, since, days, rng))

    day, person, second = (np.concatenate([p[i] for p in parts]).astype(np.int64) for i in range(3))
    # the first row of a member and day wins, so a registration keeps its own timestamp
    _, first = np.unique(day * pop.size + person, return_index=True)
    day, person, second = day[first], person[first], second[first]
    order = np.lexsort((person, second, day))
    return MemberRows(day[order], person[order], second[order])


def _profile_edits(
    members: np.ndarray, since: np.ndarray, days: range, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Occasional profile edits by members who had already joined, spread over the chunk."""
    first = np.maximum(since + 1, days.start)
    span = np.maximum(days.stop - first, 0)
    count = rng.poisson(span * EDITS_PER_YEAR / 365)
    person = np.repeat(members, count)
    day = np.repeat(first, count) + (rng.random(len(person)) * np.repeat(span, count)).astype(
        np.int64
    )
    return day, person, _daytime(len(person), rng)


def _daytime(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(8 * 3600, 23 * 3600, n)
