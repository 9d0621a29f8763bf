"""Stitching quality on generated demo data: pairwise precision and recall against ground truth.

Generates a data set with the project's generator into a scratch home, runs ingestion and the
dbt models for the whole range in one run (as `tierops backfill` does), and compares the
current `identity_map` with the generator's truth (`tierops.identity.quality`).

    .venv/bin/python bench/identity_quality.py --customers 5000 --months 4

Writes bench/results/identity_quality.json and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "pipelines"))
sys.path.insert(0, str(REPO))
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

RESULTS = REPO / "bench" / "results" / "identity_quality.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--months", type=int, default=4)
    parser.add_argument("--end", type=date.fromisoformat, default=date(2025, 6, 30))
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    import duckdb
    from dagster import AssetSelection, DagsterInstance, materialize
    from dagster._core.storage.tags import (
        ASSET_PARTITION_RANGE_END_TAG,
        ASSET_PARTITION_RANGE_START_TAG,
    )

    from tierops.definitions import build_definitions
    from tierops.generator import GeneratorConfig, generate
    from tierops.identity.quality import stitching_quality
    from tierops.settings import Settings
    from tierops.transform.project import prepare_manifest

    start = args.end - timedelta(days=30 * args.months)
    work = Path(tempfile.mkdtemp(prefix="tierops_quality_"))
    try:
        home = work / "data"
        shutil.copytree(REPO / "config", work / "config")
        os.environ["TIEROPS_HOME"] = str(home)
        os.environ["TIEROPS_CONFIG_DIR"] = str(work / "config")
        config = GeneratorConfig(
            customers=args.customers, start=start, end=args.end, seed=args.seed
        )
        generate(config, home / "landing", home / "truth")
        prepare_manifest()
        defs = build_definitions(Settings.from_env())
        started = time.perf_counter()
        result = materialize(
            list(defs.assets),
            selection=AssetSelection.groups("ingestion", "staging", "intermediate", "marts"),
            resources=defs.resources,
            instance=DagsterInstance.ephemeral(),
            tags={
                ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
                ASSET_PARTITION_RANGE_END_TAG: args.end.isoformat(),
            },
            raise_on_error=True,
        )
        assert result.success
        seconds = time.perf_counter() - started
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
            quality = stitching_quality(con, home / "truth")
            merges = con.execute("select count(*) from identity_merges").fetchall()[0][0]
            audit = dict(
                con.execute("select reason, count(*) from identity_audit group by 1").fetchall()
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)

    out = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": {
            "customers": args.customers,
            "start": start.isoformat(),
            "end": args.end.isoformat(),
            "seed": args.seed,
        },
        "pipeline_seconds": round(seconds, 1),
        "quality": quality.as_dict(),
        "merges": merges,
        "audit_rows_by_reason": audit,
        "targets": {"precision": 0.99, "recall": 0.97},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    q = quality
    print(f"{args.customers:,} customers {start} .. {args.end}: {q.identifiers:,} identifiers")
    print(f"precision {q.precision:.4f}  recall {q.recall:.4f}  (target 0.99 / 0.97)")
    print(f"recall over every identifier seen {q.recall_all:.4f}; ceiling {q.recall_ceiling:.4f}")
    print(f"merges {merges:,}; audit {audit}")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
