"""The holdout rule and the selection SQL, checked without running the pipeline."""

from __future__ import annotations

import hashlib
from datetime import date

import duckdb
import pytest
import sqlglot

from tierops.strategies.holdout import holdout_key_sql, is_holdout, threshold_hex


def test_threshold_is_the_share_of_the_hash_space_in_hex():
    assert threshold_hex(0) == "00000000"
    assert threshold_hex(0.1) == "19999999"  # floor(0.1 * 16^8) = 429496729 = 0x19999999
    assert threshold_hex(0.5) == "80000000"
    with pytest.raises(ValueError):
        threshold_hex(1.0)


def test_sql_hash_key_equals_the_python_rule():
    con = duckdb.connect()
    customers = [f"C{i:05d}" for i in range(2000)]
    con.execute("create table c as select unnest(?) as customer_id", [customers])
    key = holdout_key_sql("salt", "'act'", "customer_id")
    rows = con.execute(f"select customer_id, {key} from c").fetchall()
    for customer, sql_key in rows:
        assert sql_key == hashlib.md5(f"salt:act:{customer}".encode()).hexdigest()[:8]
    held = con.execute(f"select count(*) from c where {key} < '{threshold_hex(0.2)}'").fetchone()[0]
    assert held == sum(is_holdout("salt", "act", c, 0.2) for c in customers)
    assert 0.17 < held / len(customers) < 0.23


@pytest.mark.parametrize("dialect", ["postgres", "snowflake", "spark", "trino", "bigquery"])
def test_selection_sql_transpiles_to_other_warehouses(dialect, pipeline_home):
    from tierops.settings import Settings
    from tierops.strategies.assets import plan_strategy
    from tierops.strategies.selection import window_statements
    from tierops.transform.project import model_columns

    strategy, planned = plan_strategy(Settings.from_env())
    out = window_statements(
        strategy,
        planned,
        model_columns("customer_features"),
        date(2025, 6, 29),
        date(2025, 7, 1),
        dialect,
    )
    # tables and deletes, six work tables, two statements per day, ledger and funnel inserts
    assert len(out) == 4 + 6 + 2 * 2 + 2
    joined = " ".join(out).lower()
    assert "md5" in joined
    for statement in out:
        sqlglot.parse_one(statement, read=dialect)  # the output is valid in that dialect
