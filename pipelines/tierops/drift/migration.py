"""Tier migration matrices: how many customers moved from which tier to which.

The join over customers runs on the warehouse; only the (from, to, count) cells come back.
A customer present on one side only shows up as `(none)` on the other: newcomers and leavers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

NONE = "(none)"


@dataclass(frozen=True)
class Side:
    """Primary tiers of one day in one assignments table (the snapshots, or a candidate)."""

    day: date
    table: str = "tier_assignments"

    @property
    def label(self) -> str:
        return (
            self.day.isoformat() if self.table == "tier_assignments" else f"{self.table}@{self.day}"
        )


@dataclass(frozen=True)
class Cell:
    from_tier: str
    to_tier: str
    customers: int
    share_of_from: float  # of the customers in from_tier, the share that went to to_tier


@dataclass(frozen=True)
class Migration:
    before: Side
    after: Side
    cells: tuple[Cell, ...]

    @property
    def tiers(self) -> list[str]:
        found = {c.from_tier for c in self.cells} | {c.to_tier for c in self.cells}
        return sorted(found - {NONE}) + ([NONE] if NONE in found else [])

    def count(self, from_tier: str, to_tier: str) -> int:
        return sum(
            c.customers for c in self.cells if (c.from_tier, c.to_tier) == (from_tier, to_tier)
        )

    @property
    def customers(self) -> int:
        return sum(c.customers for c in self.cells)

    @property
    def moved(self) -> int:
        """Customers whose tier differs (entering or leaving the population counts as a move)."""
        return sum(c.customers for c in self.cells if c.from_tier != c.to_tier)

    def as_dict(self) -> dict:
        return {
            "before": self.before.label,
            "after": self.after.label,
            "customers": self.customers,
            "moved": self.moved,
            "cells": [c.__dict__ for c in self.cells],
        }

    def table(self) -> str:
        """A fixed-width from (rows) × to (columns) table of counts, with totals."""
        tiers = self.tiers
        width = max(12, *(len(t) + 2 for t in tiers))
        corner = "from / to"
        head = f"{corner:<{width}}" + "".join(f"{t:>{width}}" for t in tiers)
        lines = [head + f"{'total':>{width}}"]
        for f in tiers:
            row = [self.count(f, t) for t in tiers]
            if not any(row):
                continue
            lines.append(
                f"{f:<{width}}" + "".join(f"{n:>{width},}" for n in row) + f"{sum(row):>{width},}"
            )
        totals = [sum(self.count(f, t) for f in tiers) for t in tiers]
        lines.append(
            f"{'total':<{width}}"
            + "".join(f"{n:>{width},}" for n in totals)
            + f"{self.customers:>{width},}"
        )
        return "\n".join(lines)


def _primary(side: Side, subtiers: bool) -> str:
    tier = "coalesce(subtier_code, tier_code)" if subtiers else "tier_code"
    return (
        f"select customer_id, {tier} as tier_code from {side.table} "
        f"where as_of_date = date '{side.day.isoformat()}' and is_primary"
    )


def migration_sql(before: Side, after: Side, subtiers: bool = False) -> str:
    return f"""
with a as ({_primary(before, subtiers)}),
b as ({_primary(after, subtiers)})
select
    coalesce(a.tier_code, '{NONE}') as from_tier,
    coalesce(b.tier_code, '{NONE}') as to_tier,
    count(*) as customers
from a
full outer join b on a.customer_id = b.customer_id
group by 1, 2
order by 1, 2
"""


def migration(
    conn: duckdb.DuckDBPyConnection, before: Side, after: Side, subtiers: bool = False
) -> Migration:
    """Counts from `before`'s tier to `after`'s; with `subtiers`, a sub-tier replaces its tier."""
    rows = conn.execute(migration_sql(before, after, subtiers)).fetchall()
    per_from: dict[str, int] = {}
    for f, _, n in rows:
        per_from[f] = per_from.get(f, 0) + int(n)
    cells = tuple(
        Cell(from_tier=f, to_tier=t, customers=int(n), share_of_from=round(int(n) / per_from[f], 4))
        for f, t, n in rows
    )
    return Migration(before=before, after=after, cells=cells)


def snapshot_dates(conn: duckdb.DuckDBPyConnection) -> list[date]:
    return [
        d
        for (d,) in conn.execute(
            "select distinct as_of_date from tier_assignments order by 1"
        ).fetchall()
    ]
