"""Identity stitching on a 2.5 M identifier / 2 M link graph: the dbt model beside scipy.

Builds a synthetic identifier graph (persons with 1-9 identifiers linked as random trees, plus a
few long chains that stress the number of rounds; identifiers first seen on random days over 400
days, 80 % of links on the newer identifier's first day and 20 % up to 30 days later, which are
merges of two customers), writes it as the two tables the components
model reads (`int_identity__nodes`, `int_identity__edges`) into a scratch DuckDB file, and runs
the real model with dbt twice: the portable SQL one (`--vars '{identity_components: portable}'`,
what a distributed engine runs) and the default one on DuckDB (in memory with scipy), each with
`dbt run --select int_identity__components`; `--history` also runs `identity_map`, the day-by-day
staircase. In the same run, `scipy.sparse.csgraph.
connected_components` labels the same edges in memory (the reference for the in-memory limit).
Every method must give identical clusters.

    .venv/bin/python bench/identity_stitching.py                 # 2.5 M / 2 M, components only
    .venv/bin/python bench/identity_stitching.py --history       # + identity_map over time

Writes bench/results/identity_stitching.json and prints a table. The machine may be shared:
the load average before and after is recorded next to the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "pipelines"))

from tierops.settings import DBT_PROJECT_DIR  # noqa: E402
from tierops.transform.project import dbt_executable  # noqa: E402

RESULTS = REPO / "bench" / "results" / "identity_stitching.json"
TARGET_SECONDS = 10.0
FIRST_DAY = date(2024, 1, 1)
DAYS = 400
LATE_LINK_SHARE = 0.2


def build_graph(identifiers: int, links: int, chains: int, chain_length: int, seed: int):
    """Node numbers 1..identifiers (random order), `links` undirected edges with a first day."""
    rng = np.random.default_rng(seed)
    chain_nodes = chains * chain_length
    rest = identifiers - chain_nodes
    sizes = rng.integers(1, 10, size=rest)  # more than enough persons
    ends = np.cumsum(sizes)
    persons = int(np.searchsorted(ends, rest)) + 1
    sizes = sizes[:persons]
    sizes[-1] -= int(ends[persons - 1] - rest)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    position = np.arange(rest) - np.repeat(starts, sizes)
    child = np.flatnonzero(position > 0)
    # each identifier after a person's first links to a random earlier one: a random tree
    parent = np.repeat(starts, sizes)[child] + (rng.random(len(child)) * position[child]).astype(
        np.int64
    )
    src, dst = [child], [parent]
    for c in range(chains):
        first = rest + c * chain_length
        src.append(np.arange(first + 1, first + chain_length))
        dst.append(np.arange(first, first + chain_length - 1))
    src, dst = np.concatenate(src), np.concatenate(dst)
    if len(src) > links:  # drop tree links at random (more, smaller persons)
        keep = np.sort(rng.choice(len(src), size=links, replace=False))
        src, dst = src[keep], dst[keep]
    elif len(src) < links:  # extra links inside persons (cycles)
        extra = links - len(src)
        person_of = np.repeat(np.arange(persons), sizes)
        a = rng.integers(0, rest, size=extra)
        b = starts[person_of[a]] + (rng.random(extra) * sizes[person_of[a]]).astype(np.int64)
        src, dst = np.concatenate([src, a]), np.concatenate([dst, b])
    # identifiers first seen on random days; node numbers in age order, as int_identity__nodes
    # numbers them (first seen, then value), unrelated to the person structure
    first_seen = rng.integers(0, DAYS, size=identifiers)
    numbers = np.empty(identifiers, np.int64)
    numbers[np.lexsort((rng.random(identifiers), first_seen))] = np.arange(1, identifiers + 1)
    # most links appear with the newer identifier (a record shows it next to a known one); a
    # fifth appear later, joining two identifiers that were separate customers until then
    late = rng.random(len(src)) < LATE_LINK_SHARE
    since = np.maximum(first_seen[src], first_seen[dst]) + np.where(
        late, rng.integers(1, 31, size=len(src)), 0
    )
    return numbers, first_seen, numbers[src], numbers[dst], since


def write_tables(path: Path, numbers, first_seen, src, dst, since) -> None:
    day0 = np.datetime64(FIRST_DAY.isoformat(), "D")
    nodes = pa.table(
        {
            "node_num": numbers,
            "first_seen": (day0 + first_seen).astype("datetime64[D]"),
            "link_status": pa.array(["ok"] * len(numbers)),
        }
    )
    edges = pa.table({"src": src, "dst": dst, "since": (day0 + since).astype("datetime64[D]")})
    with duckdb.connect(str(path)) as con:
        con.register("nodes_in", nodes)
        con.register("edges_in", edges)
        con.execute(
            "create table int_identity__nodes as select node_num,"
            " 'device_id:' || node_num as node, 'device_id' as id_type,"
            " cast(node_num as varchar) as id_value, first_seen, first_seen as last_seen,"
            " link_status from nodes_in"
        )
        con.execute(
            "create table int_identity__edges as"
            " select src, dst, since from edges_in union all select dst, src, since from edges_in"
        )


def run_dbt(warehouse: Path, work: Path, models: list[str], method: str = "fast") -> dict:
    last = FIRST_DAY + timedelta(days=DAYS + 30)
    env = {
        **os.environ,
        "TIEROPS_WAREHOUSE": str(warehouse),
        "TIEROPS_WINDOW_START": last.isoformat(),
        "TIEROPS_WINDOW_END": (last + timedelta(days=1)).isoformat(),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    target = work / "dbt_target"
    cmd = [dbt_executable(), "run", "--select", *models, "--project-dir", str(DBT_PROJECT_DIR),
           "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", str(target),
           "--vars", json.dumps({"identity_components": method})]  # fmt: skip
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:])
    results = json.loads((target / "run_results.json").read_text())["results"]
    per_model = {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}
    return {"dbt_wall_seconds": wall, "model_seconds": per_model}


def scipy_components(numbers, src, dst) -> tuple[float, np.ndarray]:
    """Seconds and, per node number, the smallest node number of its component."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    n = int(numbers.max()) + 1
    started = time.perf_counter()
    graph = coo_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(n, n)).tocsr()
    _, labels = connected_components(graph, directed=False)
    seconds = time.perf_counter() - started
    smallest = np.full(labels.max() + 1, n, np.int64)
    np.minimum.at(smallest, labels[numbers], numbers)
    canonical = np.zeros(n, np.int64)
    canonical[numbers] = smallest[labels[numbers]]
    return seconds, canonical


def same_clusters(warehouse: Path, numbers, expected) -> bool:
    """int_identity__components as built now labels every node as scipy does."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        got = con.execute(
            "select node_num, component_num from int_identity__components"
        ).fetchnumpy()
    return bool(
        len(got["node_num"]) == len(numbers)
        and np.array_equal(expected[got["node_num"]], got["component_num"])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--identifiers", type=int, default=2_500_000)
    parser.add_argument("--links", type=int, default=2_000_000)
    parser.add_argument("--chains", type=int, default=10, help="long chains (stress rounds)")
    parser.add_argument("--chain-length", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--history", action="store_true", help="also run identity_map")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="tierops_stitch_"))
    try:
        warehouse = work / "bench.duckdb"
        numbers, first_seen, src, dst, since = build_graph(
            args.identifiers, args.links, args.chains, args.chain_length, args.seed
        )
        write_tables(warehouse, numbers, first_seen, src, dst, since)
        scipy_seconds, expected = scipy_components(numbers, src, dst)
        checks = {}
        # the portable SQL model first (what a distributed engine runs), then the default
        # in-memory one on DuckDB, which stays in the warehouse for --history
        portable = run_dbt(warehouse, work, ["int_identity__components"], "portable")
        checks["portable_sql_identical_to_scipy"] = same_clusters(warehouse, numbers, expected)
        models = ["int_identity__components"] + (["identity_map"] if args.history else [])
        dbt = run_dbt(warehouse, work, models)
        checks["components_identical_to_scipy"] = same_clusters(warehouse, numbers, expected)
        with duckdb.connect(str(warehouse), read_only=True) as con:
            if args.history:
                current = con.execute(
                    "select node_num, label_num from identity_map"
                    " where valid_to is null and stitch_status = 'stitched'"
                ).fetchnumpy()
                checks["history_current_identical_to_scipy"] = bool(
                    np.array_equal(expected[current["node_num"]], current["label_num"])
                )
        components = len(np.unique(expected[numbers]))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    seconds = dbt["model_seconds"]["int_identity__components"]
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "graph": {
            "identifiers": len(numbers),
            "links": len(src),
            "components": components,
            "long_chains": f"{args.chains} x {args.chain_length}",
            "late_link_share": LATE_LINK_SHARE,
            "seed": args.seed,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
        "seconds": {
            "dbt_int_identity__components": round(seconds, 2),
            "dbt_int_identity__components_portable_sql": round(
                portable["model_seconds"]["int_identity__components"], 2
            ),
            "scipy_connected_components": round(scipy_seconds, 3),
            **(
                {"dbt_identity_map_history": round(dbt["model_seconds"]["identity_map"], 2)}
                if args.history
                else {}
            ),
            "dbt_process_wall": round(dbt["dbt_wall_seconds"], 2),
        },
        "ratio_vs_scipy": round(seconds / scipy_seconds, 1),
        "target_seconds": TARGET_SECONDS,
        "meets_target": seconds < TARGET_SECONDS,
        "checks": checks,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"graph: {len(numbers):,} identifiers, {len(src):,} links, {components:,} components")
    print(f"load average before/after: {load_before[0]:.2f} / {result['machine']['load_after'][0]:.2f}"
          f" on {os.cpu_count()} cpus")  # fmt: skip
    print(f"{'method':<44}{'seconds':>10}")
    for name, value in result["seconds"].items():
        print(f"{name:<44}{value:>10}")
    print(f"components model / scipy: {result['ratio_vs_scipy']}x; target < {TARGET_SECONDS:.0f} s:"
          f" {'met' if result['meets_target'] else 'MISSED'}")  # fmt: skip
    for name, ok in checks.items():
        print(f"{name}: {'yes' if ok else 'NO'}")
    print(f"written {args.out}")
    if not all(checks.values()):
        raise SystemExit("clusters differ")


if __name__ == "__main__":
    main()
