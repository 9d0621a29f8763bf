"""`config/promotions.yaml`: the promotion calendar that calibration can leave out."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from pydantic import Field, model_validator

from tierops.lib.configfile import StrictModel, load_model
from tierops.partitions import days_in


class Promotion(StrictModel):
    name: str = Field(min_length=1)
    start: date
    end: date = Field(description="last day, inclusive")

    @model_validator(mode="after")
    def _ordered(self) -> Promotion:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class PromotionCalendar(StrictModel):
    settle_days: int = Field(
        14, ge=0, le=365, description="days after each promotion also left out"
    )
    promotions: list[Promotion] = Field(default_factory=list)

    def excluded_days(self, start: date, end: date) -> list[date]:
        """Days of [start, end] (inclusive) inside a promotion or its settle days."""
        out: set[date] = set()
        for promo in self.promotions:
            last = promo.end + timedelta(days=self.settle_days)
            first, stop = max(promo.start, start), min(last, end)
            out.update(days_in(first, stop + timedelta(days=1)))
        return sorted(out)


def load_promotions(config_dir: Path) -> PromotionCalendar:
    path = config_dir / "promotions.yaml"
    return load_model(PromotionCalendar, path) if path.exists() else PromotionCalendar()


def parse_range(text: str) -> tuple[date, date]:
    """`2025-06-01:2025-06-18` (inclusive) or a single day."""
    first, _, last = text.partition(":")
    start = date.fromisoformat(first)
    end = date.fromisoformat(last) if last else start
    if end < start:
        raise ValueError(f"range {text!r} ends before it starts")
    return start, end
