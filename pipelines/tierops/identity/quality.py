"""Stitching quality against the generator's ground truth: pairwise precision and recall.

Every pair of identifiers of the truth is counted: a pair the map puts in one customer is a
predicted link, a pair belonging to one person is a true link. precision = correct predicted links
/ predicted links. Two recalls:

* `recall`: correct links / *linkable* true links, i.e. pairs of one person's identifiers that the
  data connects through records of that person alone (no shared phone, no hub). Identifiers that
  never appear together with another (an anonymous device, a marketplace buyer id on orders
  without a phone) cannot be stitched by any method; they do not count here.
* `recall_all`: correct links / every true pair, with `recall_ceiling` the value a perfect
  stitcher would reach on this data.

An identifier missing from the map counts as a customer of its own. Computed in SQL on the
warehouse (DuckDB; the truth is a Parquet file); only the totals come back.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb

from tierops.ingestion.schema import IDENTIFIER_TYPES


@dataclass(frozen=True)
class StitchingQuality:
    identifiers: int
    true_pairs: int
    linkable_pairs: int
    predicted_pairs: int
    correct_pairs: int
    correct_linkable_pairs: int

    @property
    def precision(self) -> float:
        return self.correct_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.correct_linkable_pairs / self.linkable_pairs if self.linkable_pairs else 1.0

    @property
    def recall_all(self) -> float:
        return self.correct_pairs / self.true_pairs if self.true_pairs else 1.0

    @property
    def recall_ceiling(self) -> float:
        return self.linkable_pairs / self.true_pairs if self.true_pairs else 1.0

    def as_dict(self) -> dict[str, float | int]:
        return {
            **asdict(self),
            "precision": self.precision,
            "recall": self.recall,
            "recall_all": self.recall_all,
            "recall_ceiling": self.recall_ceiling,
        }


def _quality_sql() -> str:
    record_nodes = "\n    union all\n    ".join(
        f"select signature, '{t}:' || {t} as node from int_identity__observations "
        f"where {t} is not null"
        for t in IDENTIFIER_TYPES
    )
    return f"""
with recursive truth as (
    select distinct person_id, id_type || ':' || id_value as node from read_parquet(?)
),
record_nodes as (
    {record_nodes}
),
-- links between two identifiers of the same person seen in one record
own_links as (
    select distinct a.node as a, b.node as b
    from record_nodes as a
    join record_nodes as b on b.signature = a.signature and b.node <> a.node
    join truth as ta on ta.node = a.node
    join truth as tb on tb.node = b.node and tb.person_id = ta.person_id
),
reach(node, other) as (
    select node, node from truth
    union
    select reach.node, own_links.b from reach join own_links on own_links.a = reach.other
),
linkable as (
    select node, min(other) as part from reach group by node
),
joined as (
    select
        truth.person_id,
        linkable.part,
        coalesce(m.customer_id, 'unmapped:' || truth.node) as customer_id
    from truth
    join linkable on linkable.node = truth.node
    left join (select node, customer_id from identity_map where valid_to is null) as m
        on m.node = truth.node
)
select
    (select count(*) from joined),
    (select sum(n * (n - 1) / 2) from (select count(*) as n from joined group by person_id)),
    (select sum(n * (n - 1) / 2) from (select count(*) as n from joined group by person_id, part)),
    (select sum(n * (n - 1) / 2) from (select count(*) as n from joined group by customer_id)),
    (select sum(n * (n - 1) / 2) from (
        select count(*) as n from joined group by person_id, customer_id)),
    (select sum(n * (n - 1) / 2) from (
        select count(*) as n from joined group by person_id, part, customer_id))
"""


def stitching_quality(con: duckdb.DuckDBPyConnection, truth_dir: Path) -> StitchingQuality:
    """Pairwise precision/recall of `identity_map` (current customers) against truth identifiers."""
    row = con.execute(_quality_sql(), [str(truth_dir / "identifiers.parquet")]).fetchall()[0]
    return StitchingQuality(*(int(v or 0) for v in row))
