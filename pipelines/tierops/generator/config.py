"""What the generator is asked to produce, and what it reports back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from tierops.generator.profiles import PROFILES

# Default shopping festivals: (name, month, last day). Each runs from the 1st of the month.
FESTIVALS: tuple[tuple[str, int, int], ...] = (("618", 6, 18), ("double11", 11, 11))
# Stacked stages: whole festival ×1.4, last three days ×1.5 more, final day ×1.45 more (≈ ×3 peak).
FESTIVAL_STAGES: tuple[tuple[str, int, float], ...] = (
    ("", 0, 1.4),
    ("_final", 3, 1.5),
    ("_peak", 1, 1.45),
)


@dataclass(frozen=True)
class Promotion:
    """Days on which every person's purchase rate is multiplied; overlapping promotions multiply."""

    name: str
    start: date
    days: int
    order_multiplier: float

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError(f"promotion {self.name!r}: days must be >= 1, got {self.days}")
        if self.order_multiplier <= 0:
            raise ValueError(
                f"promotion {self.name!r}: order_multiplier must be > 0, "
                f"got {self.order_multiplier}"
            )

    @property
    def end(self) -> date:
        """Last day of the promotion (inclusive)."""
        return self.start + timedelta(days=self.days - 1)


@dataclass(frozen=True)
class GeneratorConfig:
    customers: int = 20_000
    start: date = date(2024, 9, 1)
    end: date = date(2025, 11, 30)
    seed: int = 7
    bad_row_rate: float = 0.0005
    promotions: tuple[Promotion, ...] | None = None
    extra_promotions: tuple[Promotion, ...] = ()
    industry: str = "retail"

    def __post_init__(self) -> None:
        if self.customers < 1:
            raise ValueError(f"customers must be >= 1, got {self.customers}")
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        if not 0 <= self.bad_row_rate < 1:
            raise ValueError(f"bad_row_rate must be in [0, 1), got {self.bad_row_rate}")
        if self.industry not in PROFILES:
            known = ", ".join(sorted(PROFILES))
            raise ValueError(f"unknown industry {self.industry!r}; known: {known}")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def calendar(self) -> tuple[Promotion, ...]:
        """Every promotion in force: the default festivals (unless replaced) plus the extras."""
        base = (
            default_promotions(self.start, self.end) if self.promotions is None else self.promotions
        )
        return (*base, *self.extra_promotions)


def default_promotions(start: date, end: date) -> tuple[Promotion, ...]:
    """618 and 双11 of every year overlapping the range, ramping up to about ×3 on the peak day."""
    promos = []
    for year in range(start.year, end.year + 1):
        for name, month, last_day in FESTIVALS:
            for suffix, days, multiplier in FESTIVAL_STAGES:
                days = days or last_day
                first = date(year, month, last_day - days + 1)
                promo = Promotion(f"{name}{suffix}", first, days, multiplier)
                if promo.start <= end and promo.end >= start:
                    promos.append(promo)
    return tuple(promos)


@dataclass(frozen=True)
class GenerationSummary:
    persons: int
    days: int
    orders: int
    order_lines: int
    events: int
    members: int
    files: int
    bad_rows: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
