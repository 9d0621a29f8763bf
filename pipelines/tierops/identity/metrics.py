"""Identity metrics shown as Dagster metadata on the `identity_map` asset after each dbt build.

Small aggregates only (counts, a size histogram, merges per day): computed in SQL on the
warehouse, a few dozen rows come back.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import duckdb
from dagster import MetadataValue

from tierops.warehouse import table_exists

# Component size buckets of the histogram: label → (smallest, largest) size.
SIZE_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("1", 1, 1),
    ("2", 2, 2),
    ("3", 3, 3),
    ("4", 4, 4),
    ("5", 5, 5),
    ("6-10", 6, 10),
    ("11-50", 11, 50),
    (">50", 51, 2**62),
)


def identity_metrics(conn: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[str, Any]:
    """Metadata for the window [start, end): the state at its end and the merges inside it.

    A run that materializes a subset of the dbt models on a new warehouse may build identity_map
    before identity_audit or identity_merges exist: their figures are then left out."""
    customers, identifiers = conn.execute(
        "select count(distinct customer_id), count(*) from identity_map where valid_to is null"
    ).fetchall()[0]
    sizes = dict(
        conn.execute(
            "select component_size, count(*) from ("
            " select customer_id, count(*) as component_size from identity_map"
            " where valid_to is null group by customer_id) group by component_size"
        ).fetchall()
    )
    histogram = {
        label: sum(n for size, n in sizes.items() if low <= size <= high)
        for label, low, high in SIZE_BUCKETS
    }
    guards: dict[str, int] = {}
    if table_exists(conn, "identity_audit"):
        guards = dict(
            conn.execute(
                "select reason, coalesce(sum(case when node is null then records else 1 end), 0)"
                " from identity_audit group by reason"
            ).fetchall()
        )
    merges = []
    if table_exists(conn, "identity_merges"):
        merges = conn.execute(
            "select merged_on, count(*) from identity_merges"
            " where merged_on >= ? and merged_on < ? group by merged_on order by merged_on",
            [start, end],
        ).fetchall()
    per_day = {d.isoformat(): int(n) for d, n in merges}
    metrics = {
        "customers": MetadataValue.int(int(customers)),
        "identifiers": MetadataValue.int(int(identifiers)),
        "identifiers_per_customer": MetadataValue.float(
            round(identifiers / customers, 3) if customers else 0.0
        ),
        "largest_customer_identifiers": MetadataValue.int(int(max(sizes, default=0))),
        "component_sizes": MetadataValue.json(histogram),
    }
    if table_exists(conn, "identity_audit"):
        metrics |= {
            "blocked_identifiers": MetadataValue.int(int(guards.get("blocked", 0))),
            "hub_identifiers": MetadataValue.int(int(guards.get("hub", 0))),
            "unstitched_in_oversized_components": MetadataValue.int(
                int(guards.get("component_too_large", 0))
            ),
            "unusable_identifier_values": MetadataValue.int(int(guards.get("unusable_value", 0))),
        }
    if table_exists(conn, "identity_merges"):
        metrics |= {
            "merges_in_window": MetadataValue.int(sum(per_day.values())),
            "merges_per_day": MetadataValue.json(per_day),
        }
    return metrics
