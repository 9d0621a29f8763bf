"""Industry profiles: which latent customer types exist and how each one behaves.

Behaviour lives in data, not in code paths, so a second industry (SaaS: seats, feature use) is a new
profile plus its own event vocabulary rather than a fork of the generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a type's purchase rate evolves over the generated range.
Timing = Literal["steady", "new", "fading", "dormant", "one_time"]

CATEGORIES: tuple[str, ...] = (
    "beauty",
    "food",
    "apparel",
    "home",
    "electronics",
    "baby",
    "sports",
    "books",
)
CATEGORIES_ZH: tuple[str, ...] = ("美妆", "食品", "服饰", "家居", "数码", "母婴", "运动", "图书")
SKU_PREFIXES: tuple[str, ...] = ("BE", "FD", "AP", "HM", "EL", "BB", "SP", "BK")
CATEGORY_POPULARITY: tuple[float, ...] = (0.18, 0.22, 0.18, 0.12, 0.08, 0.08, 0.08, 0.06)
CATEGORY_MEDIAN_YUAN: tuple[float, ...] = (180, 45, 220, 120, 900, 150, 260, 50)

# Order channels (one landing feed each) and tracking platforms.
CHANNELS: tuple[str, ...] = ("web", "miniprogram", "pos", "marketplace")
CHANNEL_POPULARITY: tuple[float, ...] = (0.30, 0.30, 0.25, 0.15)
PLATFORMS: tuple[str, ...] = ("web", "app", "miniprogram")
LEVELS: tuple[str, ...] = ("普通会员", "银卡", "金卡", "钻石")


@dataclass(frozen=True)
class LatentType:
    """One hidden customer type; every number is a population mean that persons scatter around."""

    name: str
    share: float
    timing: Timing
    orders_per_year: float
    price_factor: float  # multiplies the category's median price when choosing a SKU
    extra_lines: float  # mean number of lines beyond the first
    browse_per_order: float  # browsing sessions per expected order: events follow purchasing
    browse_floor_per_year: float  # sessions a year even when no longer buying
    member_share: float
    level_weights: tuple[float, float, float, float]
    channels_weights: tuple[float, float, float]  # chance of using 1, 2 or 3 channels


@dataclass(frozen=True)
class IndustryProfile:
    name: str
    latent_types: tuple[LatentType, ...]
    # what the five session steps are called: visit, sign-in, search, the repeated step
    # (views / feature use), the closing step (add to cart / content view)
    event_names: tuple[str, ...]
    subscriptions: bool = False  # accounts hold subscriptions (seats, term, renewal)


RETAIL = IndustryProfile(
    name="retail",
    event_names=("visit", "login", "search", "product_view", "add_to_cart"),
    # name, share, timing, orders/year, price factor, extra lines, browse/order, browse floor/year,
    # member share, level weights (普通会员, 银卡, 金卡, 钻石), weights of using 1/2/3 channels
    latent_types=(
        LatentType(
            "loyal_big_spender", 0.05, "steady", 15.0, 2.0, 1.2, 0.6, 2.0, 0.9,
            (0.0, 0.2, 0.5, 0.3), (0.3, 0.4, 0.3),
        ),
        LatentType(
            "frequent_small_basket", 0.15, "steady", 11.0, 0.4, 0.3, 0.6, 2.0, 0.7,
            (0.2, 0.5, 0.3, 0.0), (0.4, 0.4, 0.2),
        ),
        LatentType(
            "regular", 0.30, "steady", 4.8, 1.0, 0.6, 0.9, 2.0, 0.6,
            (0.5, 0.4, 0.1, 0.0), (0.5, 0.35, 0.15),
        ),
        LatentType(
            "new", 0.10, "new", 6.0, 0.9, 0.5, 1.2, 4.0, 0.4,
            (1.0, 0.0, 0.0, 0.0), (0.7, 0.25, 0.05),
        ),
        LatentType(
            "fading", 0.15, "fading", 10.0, 0.9, 0.5, 0.9, 3.0, 0.5,
            (0.4, 0.4, 0.2, 0.0), (0.5, 0.35, 0.15),
        ),
        LatentType(
            "dormant", 0.20, "dormant", 12.0, 0.7, 0.4, 0.8, 1.5, 0.4,
            (0.7, 0.3, 0.0, 0.0), (0.7, 0.25, 0.05),
        ),
        LatentType(
            "one_time", 0.05, "one_time", 0.0, 1.0, 0.4, 0.0, 1.5, 0.15,
            (0.9, 0.1, 0.0, 0.0), (1.0, 0.0, 0.0),
        ),
    ),
)  # fmt: skip

# SaaS: accounts pay invoices (orders) for subscriptions with seats and a renewal cycle; the
# tracking feed carries logins, feature use and content views. Every paying account is a member.
SAAS = IndustryProfile(
    name="saas",
    event_names=("visit", "login", "search", "feature_use", "content_view"),
    subscriptions=True,
    latent_types=(
        LatentType(
            "enterprise_power_user", 0.08, "steady", 12.0, 3.0, 0.2, 3.0, 6.0, 0.98,
            (0.0, 0.2, 0.5, 0.3), (0.8, 0.2, 0.0),
        ),
        LatentType(
            "growing_team", 0.20, "steady", 12.0, 1.2, 0.2, 2.5, 6.0, 0.95,
            (0.2, 0.5, 0.3, 0.0), (0.8, 0.2, 0.0),
        ),
        LatentType(
            "steady_small_business", 0.30, "steady", 6.0, 0.6, 0.1, 1.5, 4.0, 0.95,
            (0.5, 0.4, 0.1, 0.0), (0.9, 0.1, 0.0),
        ),
        LatentType(
            "new_trial", 0.12, "new", 8.0, 0.5, 0.1, 3.0, 6.0, 0.9,
            (1.0, 0.0, 0.0, 0.0), (0.9, 0.1, 0.0),
        ),
        LatentType(
            "churning", 0.15, "fading", 10.0, 0.8, 0.1, 1.2, 2.0, 0.9,
            (0.4, 0.4, 0.2, 0.0), (0.9, 0.1, 0.0),
        ),
        LatentType(
            "churned", 0.15, "dormant", 10.0, 0.6, 0.1, 1.0, 1.0, 0.9,
            (0.7, 0.3, 0.0, 0.0), (1.0, 0.0, 0.0),
        ),
    ),
)  # fmt: skip

PROFILES: dict[str, IndustryProfile] = {"retail": RETAIL, "saas": SAAS}
