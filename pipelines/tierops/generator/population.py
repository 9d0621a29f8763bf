"""The persons behind the data: latent type, behaviour, channels, contact details and membership.

Everything is drawn once per run and kept as flat arrays (one entry per person), so the day loop
only indexes into them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tierops.generator.profiles import (
    CATEGORY_POPULARITY,
    CHANNEL_POPULARITY,
    CHANNELS,
    LEVELS,
    PLATFORMS,
    IndustryProfile,
)

NEVER = np.iinfo(np.int32).max  # a day that never comes
DAY_SECONDS = 86_400
PRE_RANGE_MEMBER_SHARE = 0.8  # members of established types who joined before the range
WEB, MINIPROGRAM, POS, MARKETPLACE = range(len(CHANNELS))
WEB_PLATFORM, APP_PLATFORM, MINI_PLATFORM = range(len(PLATFORMS))


@dataclass(frozen=True)
class Behaviour:
    """When and how much a person buys and browses (day indices count from the range start)."""

    latent: np.ndarray  # int8 index into the profile's latent types
    order_rate: np.ndarray  # orders per day at full activity
    browse_per_order: np.ndarray
    browse_floor: np.ndarray  # browsing sessions per day that remain without purchases
    start: np.ndarray  # first day of activity
    stop: np.ndarray  # first day without purchases (NEVER when they go on)
    inv_tau: np.ndarray  # 1 / decay time in days; 0 = no decay
    anchor_day: np.ndarray  # one guaranteed activity, so every person shows up at least once
    anchor_order: np.ndarray  # the anchor is an order (else a browsing session)
    price_factor: np.ndarray
    extra_lines: np.ndarray
    favourite: np.ndarray  # favourite category index

    def order_rates(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        start = self.start[person]
        active = (start <= day) & (day < self.stop[person])
        decay = np.exp(-np.maximum(day - start, 0) * self.inv_tau[person])
        return np.where(active, self.order_rate[person] * decay, 0.0)

    def browse_rates(self, person: np.ndarray, day: np.ndarray) -> np.ndarray:
        floor = np.where(self.start[person] <= day, self.browse_floor[person], 0.0)
        return self.browse_per_order[person] * self.order_rates(person, day) + floor

    def peak_day(self, days: range) -> np.ndarray:
        """Each person's highest-rate day among `days`: rates only fall after the start."""
        return np.clip(self.start, days.start, days.stop - 1)


@dataclass(frozen=True)
class Reach:
    """Which channels and platforms a person uses and which identifiers they reveal where."""

    channels: np.ndarray  # (n, channels) which channels a person buys in
    channel_cum: np.ndarray  # (n, channels) cumulative channel choice weights
    platform_cum: np.ndarray  # (n, platforms) cumulative browsing platform weights
    uses_app: np.ndarray
    devices: np.ndarray  # 1 or 2
    has_phone: np.ndarray
    has_email: np.ndarray
    web_phone_share: np.ndarray  # share of web orders where the phone is filled in
    pos_phone: np.ndarray  # gives the phone at the till
    market_phone: np.ndarray  # ships marketplace orders to the own phone
    shares_unionid: np.ndarray  # mini-program orders carry the unionid
    home_store: np.ndarray
    stores: int


@dataclass(frozen=True)
class Membership:
    """CRM membership; member_since is a day index, negative before the range, NEVER for none."""

    member_since: np.ndarray
    registered_second: np.ndarray
    level: np.ndarray  # level at registration
    upgrade_day: np.ndarray  # one level up from this day
    sms_optout_day: np.ndarray
    birthday: np.ndarray  # epoch day, -1 unknown
    crm_email: np.ndarray
    crm_unionid: np.ndarray
    opt_in: np.ndarray  # (n, 4) sms, email, wechat, push at registration

    def is_member(self, day: int | np.ndarray, idx: np.ndarray) -> np.ndarray:
        return self.member_since[idx] <= day

    def level_on(self, day: int | np.ndarray, idx: np.ndarray) -> np.ndarray:
        return np.minimum(self.level[idx] + (self.upgrade_day[idx] <= day), len(LEVELS) - 1)


@dataclass(frozen=True)
class Population:
    size: int
    behaviour: Behaviour
    reach: Reach
    membership: Membership


def build_population(
    profile: IndustryProfile, size: int, days: int, rng: np.random.Generator
) -> Population:
    latent = assign_types(profile, size, rng)
    behaviour = draw_behaviour(profile, latent, days, rng)
    reach = draw_reach(profile, latent, rng)
    membership = draw_membership(profile, behaviour, reach, days, rng)
    return Population(size, behaviour, reach, membership)


def assign_types(profile: IndustryProfile, size: int, rng: np.random.Generator) -> np.ndarray:
    """Exact type shares (largest remainder), shuffled: small runs keep the intended mix."""
    shares = np.array([t.share for t in profile.latent_types])
    raw = shares / shares.sum() * size
    counts = np.floor(raw).astype(np.int64)
    counts[np.argsort(counts - raw, kind="stable")[: size - counts.sum()]] += 1
    return rng.permutation(np.repeat(np.arange(len(shares), dtype=np.int8), counts))


def per_type(profile: IndustryProfile, latent: np.ndarray, attribute: str) -> np.ndarray:
    return np.array([getattr(t, attribute) for t in profile.latent_types])[latent]


def draw_behaviour(
    profile: IndustryProfile, latent: np.ndarray, days: int, rng: np.random.Generator
) -> Behaviour:
    n = len(latent)
    timing = per_type(profile, latent, "timing")
    # gamma heterogeneity (mean 1): within a type some persons buy far more often than others
    rate = per_type(profile, latent, "orders_per_year") / 365 * rng.gamma(2.0, 0.5, n)
    floor_per_year = per_type(profile, latent, "browse_floor_per_year")
    start = np.zeros(n, np.int32)
    stop = np.full(n, NEVER, np.int32)
    inv_tau = np.zeros(n, np.float32)
    anchor_day = rng.integers(0, days, n).astype(np.int32)
    anchor_order = np.zeros(n, bool)

    recent = max(1, min(61, days // 4))  # "new" persons appear in the last ~2 months
    new = timing == "new"
    start[new] = days - recent + rng.integers(0, recent, new.sum())
    anchor_day[new] = start[new]
    anchor_order[new] = rng.random(new.sum()) < 0.6

    fading = timing == "fading"
    inv_tau[fading] = 1 / (days * rng.uniform(0.08, 0.2, fading.sum()))
    anchor_day[fading] = rng.integers(0, max(1, days // 5), fading.sum())

    early = max(1, min(60, days // 4))  # dormant persons buy a little at the start, then stop
    dormant = timing == "dormant"
    anchor_day[dormant] = rng.integers(0, early, dormant.sum())
    stop[dormant] = anchor_day[dormant] + rng.integers(1, early + 1, dormant.sum())
    anchor_order[dormant | (timing == "one_time")] = True

    return Behaviour(
        latent=latent,
        order_rate=rate,
        browse_per_order=per_type(profile, latent, "browse_per_order"),
        browse_floor=floor_per_year / 365 * rng.gamma(2.0, 0.5, n),
        start=start,
        stop=stop,
        inv_tau=inv_tau,
        anchor_day=anchor_day,
        anchor_order=anchor_order,
        price_factor=per_type(profile, latent, "price_factor") * rng.lognormal(0, 0.3, n),
        extra_lines=per_type(profile, latent, "extra_lines"),
        favourite=popular_categories(n, rng).astype(np.int8),
    )


def popular_categories(n: int, rng: np.random.Generator) -> np.ndarray:
    """Categories drawn by overall popularity."""
    popularity = np.asarray(CATEGORY_POPULARITY)
    return rng.choice(len(popularity), n, p=popularity / popularity.sum())


def choose_rows(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One index per row, drawn with that row's (unnormalised) weights."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(cum)) * cum[:, -1]
    return (cum <= u[:, None]).sum(axis=1)


def draw_reach(profile: IndustryProfile, latent: np.ndarray, rng: np.random.Generator) -> Reach:
    n = len(latent)
    has_phone = rng.random(n) < 0.9
    has_email = rng.random(n) < 0.6
    wanted = 1 + choose_rows(per_type(profile, latent, "channels_weights"), rng)
    # Gumbel top-k: k channels without replacement, weighted by popularity; web needs an email
    keys = np.log(CHANNEL_POPULARITY) + rng.gumbel(size=(n, len(CHANNELS)))
    keys[~has_email, WEB] = -np.inf
    rank = np.argsort(np.argsort(-keys, axis=1), axis=1)
    chosen = rank < wanted[:, None]
    chosen[:, WEB] &= has_email
    weights = np.where(chosen, rng.gamma(1.5, 1.0, (n, len(CHANNELS))), 0.0)
    channel_cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)

    web, mini = chosen[:, WEB], chosen[:, MINIPROGRAM]
    # half the web shoppers also use the app; store or marketplace-only shoppers browse in it
    uses_app = np.where(web, rng.random(n) < 0.5, ~mini)
    platforms = np.stack([web, uses_app, mini], axis=1).astype(float)
    platform_cum = np.cumsum(platforms / platforms.sum(axis=1, keepdims=True), axis=1)

    stores = int(np.clip(n // 5000, 5, 999))
    return Reach(
        channels=chosen,
        channel_cum=channel_cum.astype(np.float32),
        platform_cum=platform_cum.astype(np.float32),
        uses_app=uses_app,
        devices=(1 + (rng.random(n) < 0.4)).astype(np.int8),
        has_phone=has_phone,
        has_email=has_email,
        web_phone_share=np.where(has_phone & (rng.random(n) >= 0.35), 0.8, 0.0),
        pos_phone=has_phone & (rng.random(n) < 0.7),
        market_phone=has_phone & (rng.random(n) < 0.75),
        shares_unionid=rng.random(n) < 0.85,
        home_store=rng.integers(0, stores, n).astype(np.int16),
        stores=stores,
    )


def draw_membership(
    profile: IndustryProfile,
    behaviour: Behaviour,
    reach: Reach,
    days: int,
    rng: np.random.Generator,
) -> Membership:
    latent = behaviour.latent
    n = len(latent)
    timing = per_type(profile, latent, "timing")
    member = rng.random(n) < per_type(profile, latent, "member_share")
    # established customers mostly joined years ago; the rest join on a day in the range
    joined = np.where(
        rng.random(n) < PRE_RANGE_MEMBER_SHARE,
        -rng.integers(1, 1500, n),
        rng.integers(0, days, n),
    )
    joined = np.where(timing == "new", behaviour.start, joined)
    joined = np.where(timing == "one_time", behaviour.anchor_day, joined)

    level = choose_rows(per_type(profile, latent, "level_weights"), rng).astype(np.int8)
    upgrade = np.maximum(joined + 1, rng.integers(0, days, n))
    upgrade = np.where(member & (rng.random(n) < 0.25) & (level < 3), upgrade, NEVER)
    optout = np.maximum(joined + 1, rng.integers(0, days, n))
    optout = np.where(member & (rng.random(n) < 0.1), optout, NEVER)
    crm_email = reach.has_email & (rng.random(n) < 0.8)
    crm_unionid = reach.channels[:, MINIPROGRAM] & (rng.random(n) < 0.8)
    opt_in = np.stack(
        [
            reach.has_phone & (rng.random(n) < 0.8),
            crm_email & (rng.random(n) < 0.5),
            crm_unionid & (rng.random(n) < 0.7),
            reach.uses_app & (rng.random(n) < 0.4),
        ],
        axis=1,
    )
    epoch_1965 = int(np.datetime64("1965-01-01", "D").astype(np.int64))
    birthday = np.where(rng.random(n) < 0.7, epoch_1965 + rng.integers(0, 40 * 365, n), -1)
    return Membership(
        member_since=np.where(member, joined, NEVER).astype(np.int32),
        registered_second=rng.integers(9 * 3600, 22 * 3600, n).astype(np.int32),
        level=level,
        upgrade_day=upgrade.astype(np.int32),
        sms_optout_day=optout.astype(np.int32),
        birthday=birthday,
        crm_email=crm_email,
        crm_unionid=crm_unionid,
        opt_in=opt_in,
    )
