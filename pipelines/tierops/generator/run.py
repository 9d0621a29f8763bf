"""Generate the landing files and the ground truth, one calendar month at a time."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa

from tierops.generator import feeds
from tierops.generator.activity import arrivals, build_catalogue, build_events, build_orders
from tierops.generator.badrows import BAD_KINDS, BadRowBudget
from tierops.generator.config import GenerationSummary, GeneratorConfig
from tierops.generator.identity import IdentityBook, IdentityKeys
from tierops.generator.members import member_rows
from tierops.generator.population import build_population
from tierops.generator.profiles import PROFILES
from tierops.generator.subscriptions import (
    SubscriptionBook,
    build_subscription_book,
    subscription_rows,
)
from tierops.generator.timeline import daily_multipliers, month_chunks
from tierops.generator.truth import Sightings, write_truth
from tierops.generator.writers import write_csv, write_jsonl, write_parquet

# Independent random streams, so changing how one thing is drawn leaves the others as they were.
POPULATION, KEYS, CATALOGUE, ARRIVALS, ORDERS, EVENTS, MEMBERS, FEEDS, SUBSCRIPTIONS = range(9)

WRITER_THREADS = 4
# feed -> (path under the landing root, CSV encoding); see docs/landing-spec.md
FILES: dict[str, tuple[str, str]] = {
    "web": ("web/orders_{:%Y%m%d}.csv", "utf-8"),
    "miniprogram": ("miniprogram/orders_{:%Y-%m-%d}.jsonl", ""),
    "pos": ("pos/POS_{:%Y%m%d}.csv", "gbk"),
    "marketplace": ("marketplace/tmall_orders_{:%Y-%m-%d}.parquet", ""),
    "tracking": ("tracking/events_{:%Y-%m-%d}.csv", "utf-8"),
    "crm": ("crm/members_{:%Y-%m-%d}.csv", "utf-8"),
    "subscriptions": ("subscriptions/subscriptions_{:%Y-%m-%d}.csv", "utf-8"),  # SaaS only
}


def generate(
    config: GeneratorConfig,
    landing_dir: Path,
    truth_dir: Path,
    progress: Callable[[str], None] | None = None,
) -> GenerationSummary:
    """Write every feed's file for every day of the range, then the ground truth.

    The same config always gives byte-identical files: every random draw comes from a stream
    derived from the seed, the stream's purpose and the chunk, never from the clock. Files of
    the same name are replaced; other files in the folders are left alone.
    """
    landing_dir, truth_dir = Path(landing_dir), Path(truth_dir)
    if truth_dir.resolve().is_relative_to(landing_dir.resolve()):
        raise ValueError(f"truth_dir {truth_dir} must not be inside landing_dir {landing_dir}")
    started = time.perf_counter()
    report = progress or (lambda _line: None)
    profile = PROFILES[config.industry]
    pop = build_population(profile, config.customers, config.days, stream(config, POPULATION))
    world = feeds.World(
        pop=pop,
        book=IdentityBook(IdentityKeys.from_rng(stream(config, KEYS)), pop.size),
        catalogue=build_catalogue(stream(config, CATALOGUE)),
        profile=profile,
        first_epoch_day=(config.start - date(1970, 1, 1)).days,
    )
    report(f"{pop.size:,} persons, {config.days} days from {config.start} to {config.end}")
    with ThreadPoolExecutor(WRITER_THREADS) as pool:
        run = MonthRun(config, world, landing_dir, pool)
        for days in month_chunks(config.start, config.days):
            report(run.month(days))
    sightings = run.sightings
    write_truth(truth_dir, pop, profile, world.book, sightings, world.first_epoch_day)
    return GenerationSummary(
        persons=pop.size,
        days=config.days,
        orders=run.totals["orders"],
        order_lines=run.totals["order_lines"],
        events=run.totals["events"],
        members=int(sightings.in_crm.sum()),
        files=run.totals["files"],
        bad_rows={feed: run.totals[f"bad_{feed}"] for feed in BAD_KINDS},
        seconds=round(time.perf_counter() - started, 3),
    )


def stream(config: GeneratorConfig, purpose: int, *more: int) -> np.random.Generator:
    return np.random.default_rng([config.seed, purpose, *more])


@dataclass
class MonthRun:
    """What carries over from month to month; a month's own data is freed when it is written."""

    config: GeneratorConfig
    world: feeds.World
    landing_dir: Path
    pool: ThreadPoolExecutor
    budget: BadRowBudget = field(init=False)
    multipliers: tuple[np.ndarray, np.ndarray] = field(init=False)
    sightings: Sightings = field(init=False)
    subscriptions: SubscriptionBook | None = field(init=False)
    totals: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        self.budget = BadRowBudget(self.config.bad_row_rate)
        self.multipliers = daily_multipliers(self.config)
        self.sightings = Sightings(self.world.pop.size)
        self.subscriptions = (
            build_subscription_book(self.world.pop, stream(self.config, SUBSCRIPTIONS))
            if self.world.profile.subscriptions
            else None
        )

    def month(self, days: range) -> str:
        """Simulate and write the days of one month; returns a progress line."""
        config, world, pop = self.config, self.world, self.world.pop
        came = arrivals(pop, days, *self.multipliers, stream(config, ARRIVALS, days.start))
        orders = build_orders(pop, came, world.catalogue, stream(config, ORDERS, days.start))
        events = build_events(pop, orders, came, stream(config, EVENTS, days.start))
        members = member_rows(pop, days, stream(config, MEMBERS, days.start))
        rng = stream(config, FEEDS, days.start)
        chunks = [
            feeds.web_feed(world, orders, self.budget, rng),
            feeds.miniprogram_feed(world, orders, self.budget, rng),
            feeds.pos_feed(world, orders, self.budget, rng),
            feeds.marketplace_feed(world, orders, self.budget, rng),
            feeds.tracking_feed(world, events, self.budget, rng),
            feeds.crm_feed(world, members, rng),
        ]
        if self.subscriptions is not None:
            subs = subscription_rows(
                pop, self.subscriptions, days, stream(config, SUBSCRIPTIONS, days.start)
            )
            chunks.append(feeds.subscriptions_feed(world, subs, self.subscriptions))
        self.totals["files"] += write_chunks(
            self.pool, chunks, days, config.start, self.landing_dir
        )
        for chunk in chunks:
            self.sightings.add_bad_rows(chunk, partial(relative_path, chunk.feed, config.start))
            self.totals[f"bad_{chunk.feed}"] += len(chunk.bad.positions)
        self.sightings.add_orders(orders)
        self.sightings.add_events(events)
        self.sightings.add_members(members, pop)
        self.totals.update(
            orders=len(orders.day), order_lines=len(orders.sku), events=len(events.day)
        )
        return (
            f"{config.start + timedelta(days=days.start):%Y-%m}: {len(orders.day):,} orders, "
            f"{len(events.day):,} events, {len(members.day):,} member rows "
            f"(day {days.stop}/{config.days})"
        )


def relative_path(feed: str, start: date, day: int) -> str:
    return FILES[feed][0].format(start + timedelta(days=day))


def write_chunks(
    pool: ThreadPoolExecutor,
    chunks: list[feeds.FeedChunk],
    days: range,
    start: date,
    landing_dir: Path,
) -> int:
    """One file per feed and day, empty days included, so 'no data' never looks like 'missing'.

    Files are independent, so threads overlap their serialisation and I/O; waiting for all of
    them before the next chunk keeps memory bounded to one chunk.
    """
    bounds = [np.searchsorted(chunk.day, [*days, days.stop]) for chunk in chunks]
    jobs = []
    for i, day in enumerate(days):  # day by day across feeds: threads work in different folders
        for chunk, cuts in zip(chunks, bounds, strict=True):
            rows = chunk.rows.slice(cuts[i], cuts[i + 1] - cuts[i])
            path = landing_dir / relative_path(chunk.feed, start, day)
            jobs.append(pool.submit(write_day, path, rows, chunk.feed))
    for job in jobs:
        job.result()
    return len(jobs)


def write_day(path: Path, rows: pa.Table | pa.Array, feed: str) -> None:
    if path.suffix == ".jsonl":
        write_jsonl(path, rows)
    elif path.suffix == ".parquet":
        write_parquet(path, rows)
    else:
        write_csv(path, rows, FILES[feed][1])
