"""Benchmark: the 15-month demo (≈20 k customers) processed end to end, as `make demo` does.

Generates the demo landing files into a fresh folder, then runs `tierops backfill` over the whole
range in a separate process (Dagster start-up, dbt start-up and event bookkeeping included) and
reports wall time, peak RSS and the time of every step, read back from the Dagster instance.
Reference measured in the same run: reading every landing file once with pandas, the least work
any pipeline has to do with this data. On a shared machine wall time depends on what else runs:
the JSON also records the mean 1-minute load average during the pipeline and the CPU seconds the
pipeline's processes used (which depend much less on the load; on 2 idle cores the wall time is
roughly CPU seconds / 2 plus start-up).

    .venv/bin/python bench/demo_runtime.py [--customers 20000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "pipelines"))

from tierops.cli import DEMO_END, DEMO_START  # noqa: E402
from tierops.generator import GeneratorConfig, generate  # noqa: E402


def read_all_landing_files(landing: Path) -> float:
    """Seconds to parse every landing file once (pandas, no validation, no writes)."""
    started = time.perf_counter()
    for path in sorted(landing.rglob("*")):
        if path.suffix == ".csv":
            pd.read_csv(path, dtype=str, encoding="gbk" if path.parent.name == "pos" else "utf-8")
        elif path.suffix == ".jsonl":
            pd.read_json(path, lines=True)
        elif path.suffix == ".parquet":
            pd.read_parquet(path)
    return time.perf_counter() - started


def step_times(dagster_home: Path) -> dict[str, float]:
    env_home = os.environ.get("DAGSTER_HOME")
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    try:
        from dagster import DagsterInstance

        with DagsterInstance.get() as instance:
            run = instance.get_runs(limit=1)[0]
            starts: dict[str, float] = {}
            out: dict[str, float] = {}
            for record in instance.all_logs(run.run_id):
                event = record.dagster_event
                if event is None:
                    continue
                if event.event_type_value == "STEP_START":
                    starts[record.step_key] = record.timestamp
                elif event.event_type_value == "STEP_SUCCESS":
                    out[record.step_key] = record.timestamp - starts[record.step_key]
            return out
    finally:
        if env_home is None:
            os.environ.pop("DAGSTER_HOME", None)
        else:
            os.environ["DAGSTER_HOME"] = env_home


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--keep", help="work in this folder and keep it (default: a temp folder)")
    parser.add_argument("--output", default=str(ROOT / "bench" / "results" / "demo_runtime.json"))
    args = parser.parse_args()

    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="tierops-bench-"))
    if work.exists():
        shutil.rmtree(work)
    home, dagster_home = work / "data", work / "dagster_home"
    dagster_home.mkdir(parents=True)
    shutil.copy(ROOT / "dagster_home" / "dagster.yaml", dagster_home / "dagster.yaml")

    started = time.perf_counter()
    summary = generate(
        GeneratorConfig(customers=args.customers, start=DEMO_START, end=DEMO_END),
        home / "landing",
        home / "truth",
    )
    generate_s = time.perf_counter() - started
    reference_s = read_all_landing_files(home / "landing")

    env = {**os.environ, "TIEROPS_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    cmd = [sys.executable, "-m", "tierops.cli", "backfill", "--start", DEMO_START.isoformat(),
           "--end", DEMO_END.isoformat()]  # fmt: skip
    env["PYTHONPATH"] = str(ROOT / "pipelines") + os.pathsep + env.get("PYTHONPATH", "")
    loads: list[float] = []
    stop = threading.Event()

    def sample_load() -> None:
        while not stop.is_set():
            loads.append(os.getloadavg()[0])
            stop.wait(2.0)

    sampler = threading.Thread(target=sample_load, daemon=True)
    started = time.perf_counter()
    sampler.start()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    pipeline_s = time.perf_counter() - started
    stop.set()
    sampler.join()
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    pipeline_cpu_s = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        print(proc.stderr[-4000:], file=sys.stderr)
        return proc.returncode
    peak_rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    steps = step_times(dagster_home)

    result = {
        "customers": summary.persons,
        "days": summary.days,
        "orders": summary.orders,
        "events": summary.events,
        "generate_seconds": round(generate_s, 1),
        "pipeline_seconds": round(pipeline_s, 1),
        "pipeline_cpu_seconds": round(pipeline_cpu_s, 1),
        "loadavg_1m_mean_during_pipeline": round(sum(loads) / len(loads), 2) if loads else None,
        "cpus": os.cpu_count(),
        "peak_rss_mb": round(peak_rss_mb),
        "reference_read_landing_seconds": round(reference_s, 1),
        "pipeline_vs_reference": round(pipeline_s / reference_s, 1),
        "steps_seconds": {k: round(v, 1) for k, v in sorted(steps.items(), key=lambda kv: -kv[1])},
        "target_seconds": 120,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")

    print(f"demo: {summary.persons:,} customers, {summary.days} days, {summary.orders:,} orders, "
          f"{summary.events:,} events")  # fmt: skip
    print(f"{'stage':<34}{'seconds':>10}")
    print(f"{'generate landing files':<34}{generate_s:>10.1f}")
    print(f"{'pipeline (tierops backfill)':<34}{pipeline_s:>10.1f}   target < 120")
    print(f"{'  CPU seconds of the pipeline':<34}{pipeline_cpu_s:>10.1f}   "
          f"mean load average {result['loadavg_1m_mean_during_pipeline']} on {os.cpu_count()} CPUs")  # fmt: skip
    for step, seconds in result["steps_seconds"].items():
        print(f"{'  ' + step:<34}{seconds:>10.1f}")
    print(f"{'reference: read landing once':<34}{reference_s:>10.1f}   pipeline = "
          f"{result['pipeline_vs_reference']}× reference")  # fmt: skip
    print(f"peak RSS of the pipeline process: {peak_rss_mb:,.0f} MB")
    print(f"written to {args.output}")
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
