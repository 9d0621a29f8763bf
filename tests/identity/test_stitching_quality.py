"""Stitching on the generated data set: exact components and quality against ground truth."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import duckdb
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from tierops.identity.quality import stitching_quality
from tierops.settings import DBT_PROJECT_DIR
from tierops.transform.project import dbt_executable


def test_precision_and_recall_against_ground_truth(backfilled):
    home, _ = backfilled
    con = duckdb.connect(str(home.warehouse), read_only=True)
    quality = stitching_quality(con, home.truth)
    con.close()
    print(quality.as_dict())
    assert quality.identifiers > 2000
    assert quality.precision >= 0.99
    assert quality.recall >= 0.97
    # identifiers that never appear next to another one cannot be stitched by anyone
    assert quality.recall_all == quality.correct_pairs / quality.true_pairs
    assert quality.recall_all <= quality.recall_ceiling + 1e-12


def test_both_component_methods_equal_scipy(backfilled):
    """The components the pipeline built (the in-memory model on DuckDB) and the day-by-day
    staircase (its current rows) give exactly the clusters scipy finds on the same edges."""
    home, _ = backfilled
    con = duckdb.connect(str(home.warehouse), read_only=True)
    nodes = np.array(
        con.execute(
            "select node_num from int_identity__nodes where link_status = 'ok' order by 1"
        ).fetchall()
    ).ravel()
    src, dst = np.array(con.execute("select src, dst from int_identity__edges").fetchall()).T
    contracted = dict(
        con.execute("select node_num, component_num from int_identity__components").fetchall()
    )
    current = dict(
        con.execute(
            "select node_num, label_num from identity_map where valid_to is null"
        ).fetchall()
    )
    con.close()
    assert len(src) > 1000
    size = int(nodes.max()) + 1
    graph = coo_matrix((np.ones(len(src)), (src, dst)), shape=(size, size))
    _, labels = connected_components(graph, directed=False)
    # scipy's labels are arbitrary: name each cluster by its smallest node, as both methods do
    smallest = {}
    for node in nodes:
        smallest.setdefault(labels[node], int(node))
    expected = {int(n): smallest[labels[n]] for n in nodes}
    assert contracted == expected
    assert current == expected
    assert len(set(expected.values())) < len(expected)  # there is something to stitch


def test_portable_sql_components_equal_the_duckdb_ones(backfilled, tmp_path):
    """The portable SQL model (hook-and-contract rounds: the path a distributed engine takes)
    rebuilt on a copy of the warehouse gives the same table as the in-memory one."""
    home, _ = backfilled
    warehouse = tmp_path / "copy.duckdb"
    shutil.copyfile(home.warehouse, warehouse)
    query = "select node_num, component_num, component_size from int_identity__components"
    con = duckdb.connect(str(warehouse), read_only=True)
    built = sorted(con.execute(query).fetchall())
    con.close()
    env = {
        **os.environ,
        "TIEROPS_WAREHOUSE": str(warehouse),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    proc = subprocess.run(
        [dbt_executable(), "run", "--select", "int_identity__components",
         "--vars", json.dumps({"identity_components": "portable"}),
         "--project-dir", str(DBT_PROJECT_DIR), "--profiles-dir", str(DBT_PROJECT_DIR),
         "--target-path", str(tmp_path / "dbt_target")],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "sql table model" in proc.stdout  # the SQL twin ran, not the Python one
    con = duckdb.connect(str(warehouse), read_only=True)
    rebuilt = sorted(con.execute(query).fetchall())
    con.close()
    assert rebuilt == built
    assert max(size for _, _, size in built) >= 3
