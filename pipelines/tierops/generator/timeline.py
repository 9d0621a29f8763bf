"""Day-by-day volume: promotions and the weekly rhythm, and the month chunks the run works in."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from tierops.generator.config import GeneratorConfig

WEEKDAY_FACTOR = np.array([0.95, 0.93, 0.95, 0.97, 1.02, 1.1, 1.08])  # Monday .. Sunday


def promotion_factor(config: GeneratorConfig) -> np.ndarray:
    """Product of every promotion's multiplier, per day of the range."""
    factor = np.ones(config.days)
    for promo in config.calendar():
        first = max((promo.start - config.start).days, 0)
        last = min((promo.end - config.start).days, config.days - 1)
        factor[first : last + 1] *= promo.order_multiplier
    return factor


def daily_multipliers(config: GeneratorConfig) -> tuple[np.ndarray, np.ndarray]:
    """Order and browsing multipliers per day; browsing rises less than buying in a promotion."""
    promo = promotion_factor(config)
    weekday = WEEKDAY_FACTOR[(np.arange(config.days) + config.start.weekday()) % 7]
    return promo * weekday, np.sqrt(promo) * weekday


def month_chunks(start: date, days: int) -> list[range]:
    """Day-index ranges of calendar months (clipped to the range): bounded memory per chunk."""
    chunks, first = [], 0
    while first < days:
        day = start + timedelta(days=first)
        next_month = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        last = min((next_month - start).days, days)
        chunks.append(range(first, last))
        first = last
    return chunks
