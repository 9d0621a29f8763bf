"""Ingest a window of days for one feed: read → normalise → validate → lake + quarantine."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc

from tierops.ingestion import lake
from tierops.ingestion.mapping import FeedMapping
from tierops.ingestion.normalize import combine, normalize
from tierops.ingestion.quality import validate
from tierops.ingestion.readers import RawBatch, read_day

# Rows normalised and validated per pass: per-call overhead, not rows, dominates small daily files.
BATCH_ROWS = 1_000_000
READ_THREADS = 4
WRITE_THREADS = 2
READ_AHEAD_DAYS = 32  # files read but not yet processed (bounds memory on long backfills)


@dataclass
class FeedReport:
    feed: str
    days: int = 0
    rows_read: int = 0
    rows_kept: int = 0
    rows_quarantined: int = 0
    reasons: Counter = field(default_factory=Counter)
    quarantined_by_day: dict[str, int] = field(default_factory=dict)

    @property
    def quarantine_share(self) -> float:
        return self.rows_quarantined / self.rows_read if self.rows_read else 0.0


def ingest_days(
    mapping: FeedMapping,
    landing_dir: Path,
    lake_dir: Path,
    days: Iterable[date],
    business_tz: ZoneInfo,
    log: Callable[[str], None] = lambda _msg: None,
) -> FeedReport:
    """Days are read ahead in parallel, processed in batches of about BATCH_ROWS rows, and
    written while the next batch is processed (one batch's files in flight at most)."""
    report = FeedReport(feed=mapping.feed)
    pending: list[RawBatch] = []
    pending_rows = 0
    in_flight: list[Future] = []
    todo = iter(days)
    reads: deque[Future] = deque()
    with (
        ThreadPoolExecutor(max_workers=READ_THREADS) as readers,
        ThreadPoolExecutor(max_workers=WRITE_THREADS) as writers,
    ):

        def read_ahead() -> None:
            while len(reads) < READ_AHEAD_DAYS and (day := next(todo, None)) is not None:
                reads.append(readers.submit(read_day, mapping, landing_dir, day))

        read_ahead()
        while reads:
            batch = reads.popleft().result()
            read_ahead()
            pending.append(batch)
            pending_rows += batch.rows
            report.days += 1
            if pending_rows >= BATCH_ROWS:
                in_flight = _flush(
                    pending, mapping, lake_dir, business_tz, report, log, writers, in_flight
                )
                pending, pending_rows = [], 0
        if pending:
            in_flight = _flush(
                pending, mapping, lake_dir, business_tz, report, log, writers, in_flight
            )
        _wait(in_flight)
    return report


def _wait(futures: list[Future]) -> None:
    for future in futures:
        future.result()


def _flush(
    pending: list[RawBatch],
    mapping: FeedMapping,
    lake_dir: Path,
    business_tz: ZoneInfo,
    report: FeedReport,
    log: Callable[[str], None],
    writers: ThreadPoolExecutor,
    previous: list[Future],
) -> list[Future]:
    """Normalise and validate several days at once; returns the writes it started."""
    raw = combine(pending, mapping)
    canonical = normalize(raw, mapping, business_tz)
    outcome = validate(canonical, mapping)
    report.reasons.update(outcome.failures)
    bad = outcome.bad_mask
    good_by_day = lake.split_by_day(canonical.filter(pa.array(~bad)), mapping.entity_def)
    bad_by_day = _by_day(lake.quarantine_rows(canonical, raw, outcome.reasons))
    _wait(previous)  # one batch of files in flight at most (memory)
    entity = mapping.entity_def
    writes = [
        writers.submit(
            lake.write_day, lake_dir, entity, mapping.feed, b.day, good_by_day.get(b.day)
        )
        for b in pending
    ]
    for batch in pending:
        qpath = lake.partition_path(lake_dir, "quarantine", mapping.feed, batch.day)
        bad_rows = bad_by_day.get(batch.day)
        if bad_rows is not None:
            writes.append(
                writers.submit(lake.write_quarantine, lake_dir, mapping.feed, batch.day, bad_rows)
            )
            report.quarantined_by_day[batch.day.isoformat()] = bad_rows.num_rows
        elif qpath.exists():
            qpath.unlink()  # a corrected re-delivery must not keep yesterday's complaints
    n_bad = int(bad.sum())
    report.rows_read += canonical.num_rows
    report.rows_kept += canonical.num_rows - n_bad
    report.rows_quarantined += n_bad
    log(
        f"{mapping.feed}: {pending[0].day}..{pending[-1].day} read {canonical.num_rows:,} rows, "
        f"quarantined {n_bad:,}"
    )
    return writes


def _by_day(rows: pa.Table) -> dict[date, pa.Table]:
    """Quarantined rows per file day, in file and row order."""
    days = rows["file_day"].to_pylist()
    return {
        day: rows.filter(pc.equal(rows["file_day"], pa.scalar(day, pa.date32())))
        for day in dict.fromkeys(days)
    }
