"""Stitching on the generated data set: exact components and quality against ground truth."""

from __future__ import annotations

import duckdb
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from tierops.identity.quality import stitching_quality


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
    """The hook-and-contract components and the day-by-day staircase (its current rows) give
    exactly the clusters scipy finds on the same edges."""
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
