"""Ground truth for tests: who each person really is, and which of their identifiers the data shows.

Only identifiers that actually occur in some landing file are listed (in canonical form): an
identifier nobody can see cannot be stitched, so listing it would only blur the measurement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from tierops.generator import identity as ids
from tierops.generator.activity import OWN_PHONE, Events, Orders
from tierops.generator.badrows import BAD_KINDS
from tierops.generator.feeds import FeedChunk
from tierops.generator.members import MemberRows
from tierops.generator.population import (
    MARKETPLACE,
    MINI_PLATFORM,
    MINIPROGRAM,
    NEVER,
    POS,
    WEB,
    Population,
)
from tierops.generator.profiles import IndustryProfile
from tierops.generator.text import pick
from tierops.generator.writers import write_parquet

# Identifier slots per person; device_id has two (first and second device).
_SLOTS = ("phone", "email", "openid", "unionid", "member_id", "buyer_id", "device_0", "device_1")
BAD_ROWS_SCHEMA = pa.schema(
    [
        ("feed", pa.string()),
        ("file", pa.string()),
        ("source_row", pa.int64()),
        ("kind", pa.string()),
    ]
)


@dataclass
class Sightings:
    """Everything the landing files have shown so far about each person."""

    size: int
    seen: dict[str, np.ndarray] = field(init=False)
    first_active: np.ndarray = field(init=False)  # day index of the first order or event
    in_crm: np.ndarray = field(init=False)
    bad_rows: list[pa.Table] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.seen = {slot: np.zeros(self.size, bool) for slot in _SLOTS}
        self.first_active = np.full(self.size, NEVER, np.int32)
        self.in_crm = np.zeros(self.size, bool)

    def _mark(self, slot: str, person: np.ndarray, shown: np.ndarray | None = None) -> None:
        self.seen[slot][person if shown is None else person[shown]] = True

    def _first_seen(self, person: np.ndarray, day: np.ndarray) -> None:
        new = self.first_active[person] == NEVER  # chunks come in date order: skip known persons
        np.minimum.at(self.first_active, person[new], day[new])

    def add_orders(self, orders: Orders) -> None:
        person, channel = orders.person, orders.channel
        self._mark("phone", person, orders.phone_mode == OWN_PHONE)
        self._mark("email", person, channel == WEB)
        self._mark("openid", person, channel == MINIPROGRAM)
        self._mark("unionid", person, (channel == MINIPROGRAM) & orders.shows_unionid)
        self._mark("member_id", person, (channel == POS) & orders.shows_card)
        self._mark("buyer_id", person, channel == MARKETPLACE)
        self._first_seen(person, orders.day)

    def add_events(self, events: Events) -> None:
        person = events.person
        self._mark("device_0", person, events.device_slot == 0)
        self._mark("device_1", person, events.device_slot == 1)
        self._mark("member_id", person, events.logged_in)
        self._mark("openid", person, events.platform == MINI_PLATFORM)
        self._first_seen(person, events.day)

    def add_members(self, rows: MemberRows, pop: Population) -> None:
        person = rows.person
        self._mark("member_id", person)
        self._mark("phone", person, pop.reach.has_phone[person])
        self._mark("email", person, pop.membership.crm_email[person])
        self._mark("unionid", person, pop.membership.crm_unionid[person])
        self.in_crm[person] = True

    def add_bad_rows(self, chunk: FeedChunk, file_of: Callable[[int], str]) -> None:
        """Record spoiled rows by file and 1-based data row, the numbering ingestion reports."""
        positions = chunk.bad.positions
        day = chunk.day[positions]
        kinds = BAD_KINDS.get(chunk.feed, ())
        self.bad_rows.append(
            pa.table(
                {
                    "feed": pa.array([chunk.feed] * len(positions), pa.string()),
                    "file": pa.array([file_of(int(d)) for d in day], pa.string()),
                    "source_row": pa.array(
                        positions - np.searchsorted(chunk.day, day) + 1, pa.int64()
                    ),
                    "kind": pa.array([kinds[k] for k in chunk.bad.kinds], pa.string()),
                }
            )
        )


def write_truth(
    truth_dir: Path,
    pop: Population,
    profile: IndustryProfile,
    book: ids.IdentityBook,
    sightings: Sightings,
    first_epoch_day: int,
) -> None:
    truth_dir.mkdir(parents=True, exist_ok=True)
    write_parquet(
        truth_dir / "persons.parquet", persons_table(pop, profile, sightings, first_epoch_day)
    )
    write_parquet(truth_dir / "identifiers.parquet", identifiers_table(book, sightings))
    bad = pa.concat_tables([BAD_ROWS_SCHEMA.empty_table(), *sightings.bad_rows])
    write_parquet(truth_dir / "bad_rows.parquet", bad)


def persons_table(
    pop: Population, profile: IndustryProfile, sightings: Sightings, first_epoch_day: int
) -> pa.Table:
    idx = np.arange(pop.size)
    first = sightings.first_active
    never = first == NEVER
    first_date = np.where(never, 0, first_epoch_day + first).astype("datetime64[D]")
    return pa.table(
        {
            "person_id": ids.person_id(idx),
            "latent_type": pick([t.name for t in profile.latent_types], pop.behaviour.latent),
            "first_active_date": pa.array(first_date, pa.date32(), mask=never),
        }
    )


def identifiers_table(book: ids.IdentityBook, sightings: Sightings) -> pa.Table:
    """One row per person and identifier seen, ordered by person, then identifier type."""
    persons, ranks, texts = [], [], []
    for rank, slot in enumerate(_SLOTS):
        idx = np.flatnonzero(sightings.seen[slot])
        persons.append(idx)
        ranks.append(np.full(len(idx), rank))
        if slot.startswith("device_"):
            texts.append(book.take("device_id", 2 * idx + int(slot[-1])))
        else:
            texts.append(book.take(slot, idx))
    person, rank = np.concatenate(persons), np.concatenate(ranks)
    order = pa.array(np.lexsort((rank, person)))
    id_types = ["device_id" if slot.startswith("device_") else slot for slot in _SLOTS]
    return pa.table(
        {
            "person_id": ids.person_id(person).take(order),
            "id_type": pick(id_types, rank).take(order),
            "id_value": pa.concat_arrays(texts).take(order),
        }
    )
