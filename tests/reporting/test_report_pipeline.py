"""KPIs and the report page produced by the real pipeline on the small generated data set."""

from __future__ import annotations

import json
from datetime import timedelta

import duckdb
import pytest

from tests.conftest import SMALL_END, SMALL_START


@pytest.fixture(scope="module")
def warehouse_rows(backfilled):
    home, _ = backfilled
    con = duckdb.connect(str(home.warehouse), read_only=True)
    kpis = con.execute(
        "select tier_code, kpi, window_days, snapshot_date, numerator, denominator, value "
        "from tier_kpis where as_of_date = ?",
        [SMALL_END],
    ).fetchall()
    # independent path: a purchase in (S, D] shows as orders_30d > 0 on D
    s30 = SMALL_END - timedelta(days=30)
    repurchase = con.execute(
        "select s.tier_code, count(*) filter (where fs.orders_total > 0), "
        "count(*) filter (where fs.orders_total > 0 and fd.orders_30d > 0), "
        "count(*) filter (where fd.orders_30d > 0) "
        "from tier_assignments as s "
        "join customer_features as fs using (as_of_date, customer_id) "
        "join customer_features as fd on fd.customer_id = s.customer_id and fd.as_of_date = ? "
        "where s.as_of_date = ? and s.is_primary group by 1",
        [SMALL_END, s30],
    ).fetchall()
    days = con.execute("select count(distinct as_of_date), min(as_of_date) from tier_kpis").fetchone()
    con.close()
    return home, kpis, repurchase, days


def test_kpis_cover_every_day_and_match_tier_counts(warehouse_rows):
    home, kpis, _, days = warehouse_rows
    assert days == ((SMALL_END - SMALL_START).days + 1, SMALL_START)
    manifest = json.loads(
        (home.outputs / SMALL_END.isoformat() / "manifest.json").read_text(encoding="utf-8")
    )
    customers = {t: (n, d, v) for t, k, _, _, n, d, v in kpis if k == "customers"}
    assert {t: int(n) for t, (n, _, _) in customers.items()} == manifest["tier_counts"]
    assert {int(d) for _, d, _ in customers.values()} == {manifest["customers"]}
    assert sum(v for _, _, v in customers.values()) == pytest.approx(1.0)


def test_repurchase_and_reactivation_match_feature_windows(warehouse_rows):
    _, kpis, repurchase, _ = warehouse_rows
    by_key = {(t, k, w): (s, n, d) for t, k, w, s, n, d, _ in kpis}
    for tier, base, repeaters, buyers in repurchase:
        snapshot, num, den = by_key[(tier, "repurchase_rate", 30)]
        assert snapshot == SMALL_END - timedelta(days=30)
        assert (num, den) == (repeaters, base), tier
        if tier in ("dormant", "churn_risk"):
            assert by_key[(tier, "reactivation_rate", 30)][1] == buyers, tier
        else:
            assert (tier, "reactivation_rate", 30) not in by_key
    assert any(n > 0 for t, k, w, s, n, d, v in kpis if k == "second_purchase_rate" and w == 90)
    assert not any(k == "renewal_rate" for _, k, *_ in kpis)  # retail preset: no renewals
