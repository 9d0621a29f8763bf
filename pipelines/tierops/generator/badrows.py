"""Rows made invalid on purpose, so the pipeline's quarantine has something real to catch."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from tierops.generator.text import where

# What can go wrong in each feed. Marketplace times are typed, so they cannot be unparseable there;
# the CRM feed never gets bad rows.
BAD_KINDS: dict[str, tuple[str, ...]] = {
    "web": ("negative_amount", "bad_timestamp", "empty_order_id"),
    "miniprogram": ("negative_amount", "bad_timestamp", "empty_order_id"),
    "pos": ("negative_amount", "bad_timestamp", "empty_order_id"),
    "marketplace": ("negative_amount", "empty_order_id"),
    "tracking": ("bad_timestamp", "empty_event_id"),
}
BAD_TIMESTAMP = "2025-13-45 25:61:00"


@dataclass(frozen=True)
class BadRows:
    """Positions (in the feed's chunk rows) and kinds of the rows to spoil."""

    feed: str
    rows: int
    positions: np.ndarray
    kinds: np.ndarray

    @classmethod
    def none(cls, feed: str, rows: int) -> BadRows:
        return cls(feed, rows, np.empty(0, np.int64), np.empty(0, np.int64))

    def mask(self, kind: str) -> np.ndarray:
        out = np.zeros(self.rows, bool)
        out[self.positions[self.kinds == BAD_KINDS[self.feed].index(kind)]] = True
        return out

    def spoil(self, kind: str, values: pa.Array, replacement: str) -> pa.Array:
        """`values` with `replacement` on the rows spoiled by `kind`."""
        return where(~self.mask(kind), values, replacement)

    def negate(self, fen: np.ndarray) -> np.ndarray:
        return np.where(self.mask("negative_amount"), -fen, fen)


@dataclass
class BadRowBudget:
    """Carries the fractional bad-row share from chunk to chunk, so the total matches the rate.

    Starting half a row in credit rounds the total to the nearest row instead of down.
    """

    rate: float
    owed: dict[str, float] = field(default_factory=lambda: dict.fromkeys(BAD_KINDS, 0.5))

    def draw(self, feed: str, rows: int, rng: np.random.Generator) -> BadRows:
        due = self.owed[feed] + self.rate * rows
        count = min(int(due), rows)
        self.owed[feed] = due - count
        positions = np.sort(rng.choice(rows, count, replace=False)) if count else np.empty(0, int)
        kinds = rng.integers(0, len(BAD_KINDS[feed]), count)
        return BadRows(feed, rows, positions, kinds)
