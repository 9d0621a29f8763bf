"""Tier migration matrices between two snapshot days: Python API and `tierops migration`."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pandas as pd
import pytest

from tests.conftest import SMALL_END
from tierops.cli import main
from tierops.drift.migration import NONE, Side, migration

D1 = SMALL_END - timedelta(days=60)
D2 = SMALL_END


def _tiers(con, day) -> pd.DataFrame:
    return con.execute(
        "select customer_id, tier_code from tier_assignments where as_of_date = ? and is_primary",
        [day],
    ).df()


def test_matrix_matches_an_independent_crosstab(backfilled):
    home, _ = backfilled
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        matrix = migration(con, Side(D1), Side(D2))
        before, after = _tiers(con, D1), _tiers(con, D2)
    joined = before.merge(after, on="customer_id", how="outer", suffixes=("_from", "_to"))
    joined = joined.fillna(NONE)
    expected = joined.groupby(["tier_code_from", "tier_code_to"]).size().to_dict()
    got = {(c.from_tier, c.to_tier): c.customers for c in matrix.cells}
    assert got == expected
    assert matrix.customers == len(joined)
    newcomers = sum(n for (f, _), n in got.items() if f == NONE)
    assert newcomers == len(set(after.customer_id) - set(before.customer_id)) > 0
    assert matrix.moved == int((joined.tier_code_from != joined.tier_code_to).sum())
    for tier in matrix.tiers:
        row = [c for c in matrix.cells if c.from_tier == tier]
        assert sum(c.share_of_from for c in row) == pytest.approx(1.0, abs=1e-3)


def test_cli_prints_the_matrix_and_json(backfilled, capsys):
    home, _ = backfilled
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        matrix = migration(con, Side(D1), Side(D2))
    assert main(["migration", "--from", D1.isoformat(), "--to", D2.isoformat()]) == 0
    out = capsys.readouterr().out
    assert f"tier migration {D1} -> {D2}" in out
    assert f"{matrix.moved:,} of {matrix.customers:,} customers changed tier" in out
    high_value_row = next(line for line in out.splitlines() if line.startswith("high_value"))
    cells = [int(x.replace(",", "")) for x in high_value_row.split()[1:]]
    assert cells[-1] == sum(c.customers for c in matrix.cells if c.from_tier == "high_value")

    assert main(["migration", "--from", D1.isoformat(), "--to", D2.isoformat(), "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["moved"] == matrix.moved
    assert len(body["cells"]) == len(matrix.cells)


def test_cli_names_a_missing_snapshot(backfilled):
    missing = SMALL_END + timedelta(days=5)
    with pytest.raises(SystemExit, match=f"no tier snapshot for {missing}"):
        main(["migration", "--from", D1.isoformat(), "--to", missing.isoformat()])


def test_subtier_matrix_splits_each_tier_into_its_subtiers(backfilled, capsys):
    home, _ = backfilled
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        tiers = migration(con, Side(D1), Side(D2))
        subtiers = migration(con, Side(D1), Side(D2), subtiers=True)
        parents = dict(
            con.execute(
                "select distinct subtier_code, tier_code from tier_assignments "
                "where subtier_code is not null"
            ).fetchall()
        )
    assert parents, "the default policy has sub-tiers of high_value"
    rolled: dict = {}
    for c in subtiers.cells:
        key = (parents.get(c.from_tier, c.from_tier), parents.get(c.to_tier, c.to_tier))
        rolled[key] = rolled.get(key, 0) + c.customers
    assert rolled == {(c.from_tier, c.to_tier): c.customers for c in tiers.cells}
    assert main(["migration", "--from", D1.isoformat(), "--to", D2.isoformat(), "--subtiers"]) == 0
    out = capsys.readouterr().out
    assert any(line.startswith(tuple(parents)) for line in out.splitlines())
