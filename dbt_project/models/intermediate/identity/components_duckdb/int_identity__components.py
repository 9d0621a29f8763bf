"""Connected components of the usable identifiers, in memory, on the embedded DuckDB warehouse.

The fast twin of the portable SQL model `identity/int_identity__components.sql` (hook-and-contract
rounds in joins and group-bys, the path a distributed engine takes). dbt_project.yml enables
exactly one of the two: this one on a DuckDB target, the SQL one elsewhere or when the var
`identity_components` is `portable`. Both give the same table: every usable identifier
(`node_num`), its component labelled by the component's smallest node number (its oldest
identifier) and the component's size; tests/identity prove the two equal on generated data.

Only the integer columns of the node and edge lists cross into Python (as numpy arrays): scipy's
union-find labels them in one pass, which is what makes stitching a few million identifiers take
about a second instead of a dozen SQL rounds.
"""

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def model(dbt, session):
    dbt.config(materialized="table")
    nodes = (
        dbt.ref("int_identity__nodes")
        .filter("link_status = 'ok'")
        .project("node_num")
        .fetchnumpy()["node_num"]
    )
    # the edge list holds both directions of every link; src < dst keeps one (a pair linked
    # from both ends appears twice, which the sparse matrix sums: at most 2, int8 is enough)
    # as 32-bit integers when they fit (scipy indexes with int32: no conversion pass in Python)
    top = dbt.ref("int_identity__nodes").aggregate("max(node_num)").fetchall()[0][0] or 0
    kind = "integer" if top < 2**31 - 1 else "bigint"
    edges = (
        dbt.ref("int_identity__edges")
        .filter("src < dst")
        .project(f"cast(src as {kind}) as src, cast(dst as {kind}) as dst")
        .fetchnumpy()
    )
    src, dst = edges["src"], edges["dst"]
    # node numbers are small positive integers (row numbers in int_identity__nodes), so they
    # index the adjacency matrix directly; edges may name identifiers the usable list leaves out
    # (they still connect, as in the SQL model)
    size = int(max(nodes.max(initial=0), src.max(initial=0), dst.max(initial=0))) + 1
    graph = coo_matrix((np.ones(len(src), np.int8), (src, dst)), shape=(size, size)).tocsr()
    _, labels = connected_components(graph, directed=False)
    # name each component by its smallest node: the first index of each label in ascending
    # order (a reversed scatter leaves the first occurrence)
    first = np.empty(labels.max() + 1, dtype=np.int64)
    first[labels[::-1]] = np.arange(size - 1, -1, -1)
    # the size counts usable identifiers only, like the SQL model
    usable = labels[nodes]
    counts = np.bincount(usable, minlength=len(first))
    # plain int64 columns: DuckDB scans numpy arrays in place (no pandas, no Arrow round trip)
    return {
        "node_num": nodes.astype(np.int64),
        "component_num": first[usable],
        "component_size": counts[usable].astype(np.int64),
    }
