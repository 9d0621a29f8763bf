"""The reference for stitching: scipy.sparse.csgraph.connected_components on the same edges.

Reads the edge list `scale.py` extracted from the warehouse (the exact edges `identity_map`
labels: node numbers of usable identifiers linked by a shared record), times building the sparse
matrix plus the components call `--repeat` times, and prints one JSON line with the median
(`seconds`) and every run. Run in its own process for its RSS.

    python bench/stitch_peer.py --edges edges.parquet --nodes 1234567 --repeat 5
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", required=True, help="Parquet with int64 columns src, dst")
    parser.add_argument("--nodes", type=int, required=True, help="node numbers are 1..nodes")
    parser.add_argument("--repeat", type=int, default=1, help="time it this many times")
    args = parser.parse_args()

    import numpy as np
    import pyarrow.parquet as pq
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    started = time.perf_counter()
    table = pq.read_table(args.edges)
    src = table["src"].to_numpy().astype(np.int32)
    dst = table["dst"].to_numpy().astype(np.int32)
    load_seconds = time.perf_counter() - started

    n = args.nodes + 1  # node numbers start at 1; row 0 is an isolated dummy
    runs = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        graph = coo_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(n, n)).tocsr()
        count, _labels = connected_components(graph, directed=False)
        runs.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "seconds": statistics.median(runs),
                "runs_seconds": [round(r, 3) for r in runs],
                "load_seconds": load_seconds,
                "edges": len(src),
                "nodes": args.nodes,
                "components": int(count) - 1,
                "self_max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
