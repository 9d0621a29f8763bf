"""Feed ingestion throughput: every feed over all history, rows per second and peak RSS.

The initial load of issue 8 starts with every feed reading every day of history (read →
normalise → Great Expectations → lake Parquet + quarantine). This measures that part alone,
one subprocess per feed (its own peak RSS), on the landing files of `bench/scale.py` (generated
with the project's generator if missing, shared with that benchmark), into a scratch lake.

    .venv/bin/python bench/ingestion.py --customers 100000            # label "current"
    .venv/bin/python bench/ingestion.py --customers 100000 --code /path/to/other/checkout \\
        --label before                                                  # another version

Results are merged into bench/results/ingestion.json under the label; a table is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from measure import run_measured, self_max_rss_mb  # noqa: E402

DEFAULT_END = date(2025, 11, 30)
FEEDS = (
    "tracking_events",
    "miniprogram_orders",
    "crm_members",
    "marketplace_orders",
    "pos_orders",
    "web_orders",
)


def worker(args: argparse.Namespace) -> None:
    """Inside the subprocess: ingest one feed over the window and print one JSON line."""
    started = time.perf_counter()
    from zoneinfo import ZoneInfo

    from tierops.ingestion.ingest import ingest_days
    from tierops.ingestion.mapping import load_mappings
    from tierops.partitions import days_in

    mapping = {m.feed: m for m in load_mappings(Path(args.code) / "config")}[args.worker]
    imported = time.perf_counter()
    report = ingest_days(
        mapping,
        Path(args.landing),
        Path(args.lake),
        days_in(args.start, args.end + timedelta(days=1)),
        ZoneInfo(args.tz),
    )
    seconds = time.perf_counter() - imported
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "seconds": seconds,
                # CPU of the whole process (all threads, imports included): on a shared
                # machine less sensitive to the load than wall time
                "cpu_seconds": usage.ru_utime + usage.ru_stime,
                "import_seconds": imported - started,
                "rows": report.rows_read,
                "rows_quarantined": report.rows_quarantined,
                "days": report.days,
                "self_max_rss_mb": round(self_max_rss_mb()),
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=731, help="days of history, ending at --end")
    parser.add_argument("--end", type=date.fromisoformat, default=DEFAULT_END)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--work", help="work folder (default data/bench/scale-<customers>)")
    parser.add_argument("--feeds", default=",".join(FEEDS))
    parser.add_argument("--code", default=str(ROOT), help="checkout whose pipelines/ to measure")
    parser.add_argument("--label", default="current")
    parser.add_argument("--output", default=str(BENCH / "results" / "ingestion.json"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--landing", help=argparse.SUPPRESS)
    parser.add_argument("--lake", help=argparse.SUPPRESS)
    parser.add_argument("--start", type=date.fromisoformat, help=argparse.SUPPRESS)
    parser.add_argument("--tz", default="Asia/Shanghai", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        sys.path.insert(0, str(Path(args.code) / "pipelines"))
        worker(args)
        return 0

    from scale import Bench, load_conditions

    scale = Bench(args)
    scale.work.mkdir(parents=True, exist_ok=True)
    scale.generate()  # reuses the landing files when present
    landing = scale.home / "landing"
    # all history but the last day: the feeds' part of the initial load in scale.py
    start, end = scale.start, scale.end - timedelta(days=1)
    lake = scale.work / "ingestion_lake"
    code = Path(args.code).resolve()
    env = {
        **os.environ,
        "GX_ANALYTICS_ENABLED": "false",
        "PYTHONPATH": str(code / "pipelines"),
    }
    run = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code": str(code),
        "machine": load_conditions(),
        "feeds": {},
    }
    for feed in [f.strip() for f in args.feeds.split(",") if f.strip()]:
        shutil.rmtree(lake, ignore_errors=True)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", feed,
               "--code", str(code), "--landing", str(landing), "--lake", str(lake),
               "--start", start.isoformat(), "--end", end.isoformat()]  # fmt: skip
        scale.say(f"ingestion {args.label}: {feed} {start} .. {end}")
        measured = run_measured(f"ingest {feed}", cmd, env=env, log=scale.log, json_stdout=True)
        inner = measured.extra
        run["feeds"][feed] = {
            "rows": inner["rows"],
            "rows_quarantined": inner["rows_quarantined"],
            "days": inner["days"],
            "seconds": round(inner["seconds"], 2),
            "rows_per_second": round(inner["rows"] / inner["seconds"]),
            "cpu_seconds": round(inner["cpu_seconds"], 2),
            "wall_seconds": round(measured.seconds, 2),
            "import_seconds": round(inner["import_seconds"], 2),
            "peak_rss_mb": round(measured.peak_rss_mb),
            "mean_loadavg": round(measured.mean_load, 1),
        }
        scale.say(f"  {run['feeds'][feed]}")
    shutil.rmtree(lake, ignore_errors=True)
    out = Path(args.output)
    results = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    key = f"{args.customers}"
    entry = results.setdefault(key, {"customers": args.customers, "start": start.isoformat(),
                                     "end": end.isoformat(), "runs": {}})  # fmt: skip
    earlier = entry["runs"].get(args.label)
    if earlier and earlier.get("code") == run["code"] and args.feeds != ",".join(FEEDS):
        # a run of some feeds completes the same label's other feeds
        run["feeds"] = {**earlier["feeds"], **run["feeds"]}
    feeds = run["feeds"]
    rows = sum(f["rows"] for f in feeds.values())
    seconds = sum(f["seconds"] for f in feeds.values())
    run["total"] = {
        "rows": rows,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(sum(f.get("cpu_seconds", 0) for f in feeds.values()), 2),
        "rows_per_second": round(rows / seconds) if seconds else 0,
        "peak_rss_mb": max((f["peak_rss_mb"] for f in feeds.values()), default=0),
    }
    entry["runs"][args.label] = run
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print_table(entry)
    print(f"written to {out}")
    return 0


def print_table(entry: dict) -> None:
    runs = entry["runs"]
    labels = list(runs)
    print(f"\n{entry['customers']:,} customers, {entry['start']} .. {entry['end']}")
    head = "".join(f"{label + ' rows/s (wall, CPU)':>36}{'RSS MB':>8}" for label in labels)
    print(f"{'feed':<22}{'rows':>12}{head}")
    feeds = dict.fromkeys(f for run in runs.values() for f in run["feeds"])
    for feed in [*feeds, "total"]:
        cells = []
        rows = 0
        for label in labels:
            run = runs[label]
            item = run["total"] if feed == "total" else run["feeds"].get(feed)
            if not item:
                cells.append(f"{'':>44}")
                continue
            rows = item["rows"]
            cpu = item.get("cpu_seconds", 0)
            cells.append(
                f"{item['rows_per_second']:>13,} ({item['seconds']:>6.1f}s, {cpu:>6.1f}s)"
                f"{item['peak_rss_mb']:>8,}"
            )
        print(f"{feed:<22}{rows:>12,}{''.join(cells)}")


if __name__ == "__main__":
    sys.exit(main())
