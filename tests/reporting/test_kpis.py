"""Per-tier KPI SQL against values computed by hand on a seven-customer warehouse."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from tierops.reporting.config import ReportingConfig, load_reporting_config
from tierops.reporting.kpis import compute_kpis, day_kpis
from tierops.tiering.engine import ASSIGNMENTS_DDL
from tierops.tiering.policy import load_policy

D = date(2025, 3, 31)
S30 = date(2025, 3, 1)
S90 = date(2024, 12, 31)

# (day, customer, tier, orders_total, orders_30d, monetary_total, monetary_30d, m90, m365)
FEATURES = [
    (D, "c1", "high_value", 5, 1, 1000.0, 100.0, 300.0, 800.0),
    (D, "c2", "high_value", 3, 0, 600.0, 0.0, 200.0, 600.0),
    (D, "c3", "dormant", 2, 1, 100.0, 50.0, 50.0, 100.0),
    (D, "c4", "new", 2, 1, 150.0, 50.0, 150.0, 150.0),
    (D, "c5", "new", 1, 1, 40.0, 40.0, 40.0, 40.0),
    (D, "c6", "dormant", 1, 0, 60.0, 0.0, 0.0, 0.0),
    (D, "c7", "growth", 2, 0, 200.0, 0.0, 200.0, 200.0),
    (S30, "c1", "high_value", 4, 1, 900.0, 90.0, 250.0, 700.0),
    (S30, "c2", "high_value", 3, 0, 600.0, 0.0, 300.0, 600.0),
    (S30, "c3", "dormant", 1, 0, 50.0, 0.0, 0.0, 0.0),
    (S30, "c4", "new", 1, 1, 100.0, 100.0, 100.0, 100.0),
    (S30, "c6", "dormant", 1, 0, 60.0, 0.0, 0.0, 60.0),
    (S90, "c1", "high_value", 2, 1, 500.0, 100.0, 200.0, 500.0),
]


@pytest.fixture
def conn():
    con = duckdb.connect()
    con.execute(ASSIGNMENTS_DDL)
    con.execute(
        "create table customer_features (as_of_date date, customer_id varchar, "
        "orders_total integer, orders_30d integer, orders_90d integer, orders_365d integer, "
        "monetary_total double, monetary_30d double, monetary_90d double, monetary_365d double, "
        "active_subscriptions integer, renewal_date date)"
    )
    for day, cid, tier, orders, o30, total, m30, m90, m365 in FEATURES:
        con.execute(
            "insert into tier_assignments (as_of_date, customer_id, tier_code, is_primary, "
            "priority, rule_id, policy_version) values (?, ?, ?, true, 1, ?, 'v1')",
            [day, cid, tier, tier],
        )
        con.execute(
            "insert into customer_features values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, null)",
            [day, cid, orders, o30, orders, orders, total, m30, m90, m365],
        )
    # a secondary (overlapping) tier must never count
    con.execute(
        "insert into tier_assignments (as_of_date, customer_id, tier_code, is_primary, priority, "
        "rule_id, policy_version) values (?, 'c1', 'dormant', false, 2, 'dormant', 'v1')",
        [D],
    )
    yield con
    con.close()


def _kpis(rows: list[dict]) -> dict[tuple, dict]:
    return {(r["kpi"], r["window_days"], r["tier_code"]): r for r in rows}


def test_kpis_match_hand_computation(conn):
    config = ReportingConfig(reactivation_tiers=["dormant"], renewal_cycle_days=30)
    compute_kpis(conn, config, D, date(2025, 4, 1))
    k = _kpis(day_kpis(conn, D))

    # snapshot on D: 7 customers, high_value 2 of them
    assert k[("customers", None, "high_value")]["numerator"] == 2
    assert k[("customers", None, "high_value")]["value"] == pytest.approx(2 / 7)
    assert k[("customers", None, "dormant")]["value"] == pytest.approx(2 / 7)
    assert k[("ltv_to_date", None, "high_value")]["value"] == pytest.approx((1000 + 600) / 2)
    assert k[("revenue_per_customer", 30, "new")]["value"] == pytest.approx((50 + 40) / 2)
    assert k[("revenue_per_customer", 365, "dormant")]["value"] == pytest.approx(50)

    # 30-day outcomes of the 2025-03-01 cohort
    rep = k[("repurchase_rate", 30, "high_value")]
    assert (rep["numerator"], rep["denominator"], rep["value"]) == (1, 2, 0.5)  # c1 yes, c2 no
    assert rep["snapshot_date"] == S30
    assert k[("repurchase_rate", 30, "dormant")]["value"] == 0.5  # c3 bought again, c6 did not
    assert k[("repurchase_rate", 30, "new")]["value"] == 1.0
    assert k[("second_purchase_rate", 30, "new")]["value"] == 1.0  # c4: 1 → 2 orders
    assert k[("second_purchase_rate", 30, "dormant")]["value"] == 0.5  # c3 yes, c6 no
    assert k[("second_purchase_rate", 30, "high_value")]["value"] is None  # nobody had 1 order
    assert k[("revenue_next_per_customer", 30, "high_value")]["value"] == pytest.approx(50)
    assert k[("revenue_next_per_customer", 30, "dormant")]["value"] == pytest.approx(25)
    react = k[("reactivation_rate", 30, "dormant")]
    assert (react["numerator"], react["denominator"]) == (1, 2)
    assert ("reactivation_rate", 30, "high_value") not in k  # only lapsed tiers

    # 90-day outcomes of the 2024-12-31 cohort (only c1 existed)
    assert k[("repurchase_rate", 90, "high_value")]["value"] == 1.0
    assert k[("revenue_next_per_customer", 90, "high_value")]["value"] == pytest.approx(500)
    assert ("repurchase_rate", 90, "new") not in k

    # renewal over a 30-day cycle: bought in the 30 days before S30, bought again after
    renew = k[("renewal_rate", 30, "high_value")]
    assert (renew["numerator"], renew["denominator"]) == (1, 1)  # c1 (c2 had no order in cycle)
    assert k[("renewal_rate", 30, "new")]["value"] == 1.0
    assert k[("renewal_rate", 30, "dormant")]["value"] is None  # nobody due for renewal


def test_rerun_replaces_the_window_and_renewals_absent_by_default(conn):
    config = ReportingConfig(reactivation_tiers=["dormant"])
    first = compute_kpis(conn, config, S30, date(2025, 4, 1))
    again = compute_kpis(conn, config, S30, date(2025, 4, 1))
    assert first == again > 0
    kpis = {r["kpi"] for r in day_kpis(conn, D)}
    assert "renewal_rate" not in kpis
    assert "repurchase_rate" in kpis
    # S30 itself has no 30-day-old snapshot: only snapshot KPIs for that day
    assert {r["kpi"] for r in day_kpis(conn, S30)} == {
        "customers",
        "ltv_to_date",
        "revenue_per_customer",
    }


def test_reporting_config_rejects_unknown_tier(tmp_path):
    from tierops.lib.configfile import ConfigError
    from tierops.settings import PROJECT_ROOT

    (tmp_path / "tier_policy.yaml").write_text(
        (PROJECT_ROOT / "config" / "tier_policy.yaml").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    (tmp_path / "reporting.yaml").write_text("reactivation_tiers: [sleeping]\n", encoding="utf-8")
    policy = load_policy(tmp_path)
    with pytest.raises(ConfigError, match=r"reporting.yaml: reactivation_tiers\[0\]: 'sleeping'"):
        load_reporting_config(tmp_path, policy)
    (tmp_path / "reporting.yaml").write_text("outcome_windows_days: [45]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="outcome_windows_days"):
        load_reporting_config(tmp_path, policy)


def test_subscription_renewals_due_in_the_window(conn):
    # c1 renews on 03-15 (due in the 30-day window) and renews to 2026-03-15; c2 is due on 03-20
    # and lets it lapse; c3 is due only after D
    subs = [
        (S30, "c1", 1, date(2025, 3, 15)),
        (D, "c1", 1, date(2026, 3, 15)),
        (S30, "c2", 1, date(2025, 3, 20)),
        (D, "c2", 0, None),
        (S30, "c3", 1, date(2025, 4, 10)),
        (D, "c3", 1, date(2025, 4, 10)),
    ]
    for day, cid, active, renewal in subs:
        conn.execute(
            "update customer_features set active_subscriptions = ?, renewal_date = ? "
            "where as_of_date = ? and customer_id = ?",
            [active, renewal, day, cid],
        )
    compute_kpis(conn, ReportingConfig(), D, date(2025, 4, 1))
    k = _kpis(day_kpis(conn, D))
    renew = k[("renewal_rate", 30, "high_value")]
    assert (renew["numerator"], renew["denominator"], renew["value"]) == (1, 2, 0.5)
    assert ("renewal_rate", 30, "dormant") not in k  # c3's renewal is not due yet
    assert ("renewal_rate", 90, "high_value") not in k  # nothing fell due in the 90-day window
