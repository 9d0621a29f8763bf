"""Ingest a window of days for one feed: read → normalise → validate → lake + quarantine."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd

from tierops.ingestion import lake
from tierops.ingestion.mapping import FeedMapping
from tierops.ingestion.normalize import normalize
from tierops.ingestion.quality import validate
from tierops.ingestion.readers import RawBatch, read_day

BATCH_ROWS = (
    1_000_000  # rows validated per GX call: one call per day would cost seconds per backfill month
)


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
    report = FeedReport(feed=mapping.feed)
    pending: list[tuple[RawBatch, pd.DataFrame]] = []
    pending_rows = 0
    for day in days:
        batch = read_day(mapping, landing_dir, day)
        canonical = normalize(batch, mapping, business_tz)
        pending.append((batch, canonical))
        pending_rows += len(canonical)
        report.days += 1
        if pending_rows >= BATCH_ROWS:
            _flush(pending, mapping, lake_dir, report, log)
            pending, pending_rows = [], 0
    if pending:
        _flush(pending, mapping, lake_dir, report, log)
    return report


def _flush(
    pending: list[tuple[RawBatch, pd.DataFrame]],
    mapping: FeedMapping,
    lake_dir: Path,
    report: FeedReport,
    log: Callable[[str], None],
) -> None:
    frames = [canonical for _, canonical in pending]
    keys = [batch.day.isoformat() for batch, _ in pending]
    combined = pd.concat(frames, keys=keys, names=["_day", "_pos"])
    combined.index = pd.RangeIndex(len(combined))
    outcome = validate(combined, mapping)
    report.reasons.update(outcome.failures)
    offset = 0
    for batch, canonical in pending:
        size = len(canonical)
        reasons = outcome.reasons.iloc[offset : offset + size]
        reasons.index = canonical.index
        offset += size
        bad = reasons != ""
        good_rows = canonical.loc[~bad]
        lake.write_rows(lake_dir, mapping.entity_def, mapping.feed, batch.day, good_rows)
        qpath = lake.partition_path(lake_dir, "quarantine", mapping.feed, batch.day)
        if bad.any():
            lake.write_quarantine(
                lake_dir, mapping.feed, batch.day, canonical.loc[bad], batch.frame, reasons
            )
            report.quarantined_by_day[batch.day.isoformat()] = int(bad.sum())
        elif qpath.exists():
            qpath.unlink()  # a corrected re-delivery must not keep yesterday's complaints
        report.rows_read += size
        report.rows_kept += int((~bad).sum())
        report.rows_quarantined += int(bad.sum())
    first, last = pending[0][0].day, pending[-1][0].day
    log(
        f"{mapping.feed}: {first}..{last} read {offset:,} rows, "
        f"quarantined {int(outcome.bad_mask.sum()):,}"
    )
