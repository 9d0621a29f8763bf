"""A/B aggregation SQL on a hand-built ledger: a planted uplift is found, a null effect is not."""

from __future__ import annotations

from datetime import date, timedelta

import duckdb
import pytest

from tierops.reporting.experiments import ActionSpec, compute_experiment_log, day_experiments
from tierops.strategies.selection import LEDGER_DDL
from tierops.tiering.engine import ASSIGNMENTS_DDL

ISSUED = date(2025, 3, 1)
D = date(2025, 3, 31)
BEFORE = date(2025, 2, 1)
ACTIONS = [
    ActionSpec("coupon", "growth", "sms", "purchase", 7),
    ActionSpec("newsletter", "growth", "email", "visit", 14),
]


def _features(con, day, customer, last_order, last_visit, monetary):
    con.execute(
        "insert into customer_features values (?, ?, ?, ?, ?)",
        [day, customer, last_order, last_visit, monetary],
    )


def _ledger(con, day, customer, action, group):
    con.execute(
        "insert into contact_ledger values (?, ?, ?, 'growth', 'sms', 'T1', ?, 'v1', '')",
        [day, customer, action, group],
    )


@pytest.fixture
def conn():
    con = duckdb.connect()
    con.execute(ASSIGNMENTS_DDL)
    con.execute(LEDGER_DDL)
    con.execute(
        "create table customer_features (as_of_date date, customer_id varchar, "
        "last_order_date date, last_visit_date date, monetary_total double)"
    )
    con.execute(
        "insert into tier_assignments (as_of_date, customer_id, tier_code, is_primary, priority, "
        "rule_id, policy_version) values (?, 'x', 'growth', true, 1, 'growth', 'v1')",
        [D],
    )
    # coupon: 60 of 200 treated buy (50 each) within 7 days, 20 of 200 held out do
    for group, buyers in (("treatment", 60), ("holdout", 20)):
        for i in range(200):
            cid = f"{group[0]}{i}"
            _ledger(con, ISSUED, cid, "coupon", group)
            _features(con, ISSUED, cid, BEFORE, BEFORE, 100.0)
            bought = i < buyers
            _features(
                con,
                ISSUED + timedelta(days=7),
                cid,
                ISSUED + timedelta(days=3) if bought else BEFORE,
                BEFORE,
                150.0 if bought else 100.0,
            )
    # selected again later: still counted once, from the first selection
    _ledger(con, ISSUED + timedelta(days=4), "t0", "coupon", "treatment")
    # window not closed by D (issued 03-28 + 7 days > 03-31): not in the readout yet
    _ledger(con, date(2025, 3, 28), "late", "coupon", "treatment")
    _features(con, date(2025, 3, 28), "late", BEFORE, BEFORE, 10.0)
    # newsletter: 30 of 150 visit in both groups (no effect), nobody spends
    for group in ("treatment", "holdout"):
        for i in range(150):
            cid = f"n{group[0]}{i}"
            _ledger(con, ISSUED, cid, "newsletter", group)
            _features(con, ISSUED, cid, BEFORE, BEFORE, 80.0)
            visited = ISSUED + timedelta(days=2) if i < 30 else BEFORE
            _features(con, ISSUED + timedelta(days=14), cid, BEFORE, visited, 80.0)
    yield con
    con.close()


def test_planted_uplift_found_and_null_effect_not(conn):
    rows = compute_experiment_log(conn, ACTIONS, D, D + timedelta(days=1), 100, 0.20)
    assert len(rows) == 2
    log = {r["action_id"]: r for r in day_experiments(conn, D)}

    coupon = log["coupon"]
    assert (coupon["n_treatment"], coupon["conversions_treatment"]) == (200, 60)
    assert (coupon["n_holdout"], coupon["conversions_holdout"]) == (200, 20)
    assert coupon["first_cohort_date"] == coupon["last_cohort_date"] == ISSUED
    assert coupon["rate_diff"] == pytest.approx(0.20)
    assert coupon["rate_diff_low"] > 0.1
    assert coupon["revenue_per_customer_treatment"] == pytest.approx(60 * 50 / 200)
    # Welch by hand: var_t = (60*2500 - 3000^2/200)/199 = 527.64, var_h = (20*2500 - 1000^2/200)/199
    # = 226.13, se = sqrt(527.64/200 + 226.13/200) = 1.9414, df = 343.1, t(0.975) = 1.9669
    assert coupon["revenue_diff"] == pytest.approx(10.0)
    se = ((105000 / 199) / 200 + (45000 / 199) / 200) ** 0.5
    assert se == pytest.approx(1.9414, abs=1e-4)
    assert coupon["revenue_diff_low"] == pytest.approx(10 - 1.9669 * se, abs=0.002)
    assert coupon["verdict"] == "uplift"
    assert coupon["warnings"] == ""

    news = log["newsletter"]
    assert (news["n_treatment"], news["conversions_treatment"]) == (150, 30)
    assert (news["n_holdout"], news["conversions_holdout"]) == (150, 30)
    assert news["rate_diff"] == 0
    assert news["rate_diff_low"] < 0 < news["rate_diff_high"]
    assert news["revenue_diff"] == 0
    assert news["verdict"] == "no_difference"


def test_log_is_replaced_per_day_and_empty_without_actions(conn):
    window = (D - timedelta(days=1), D + timedelta(days=1))
    first = compute_experiment_log(conn, ACTIONS, *window, 100, 0.20)
    again = compute_experiment_log(conn, ACTIONS, *window, 100, 0.20)
    assert len(first) == len(again) == 2  # only D has tier assignments (a run day)
    total = conn.execute("select count(*) from experiment_log").fetchone()[0]
    assert total == 2
    assert compute_experiment_log(conn, [], *window, 100, 0.20) == []
    assert day_experiments(conn, D) == []


def test_strict_sample_size_limits_make_the_uplift_inconclusive(conn):
    compute_experiment_log(conn, ACTIONS, D, D + timedelta(days=1), 500, 0.20)
    coupon = {r["action_id"]: r for r in day_experiments(conn, D)}["coupon"]
    assert coupon["verdict"] == "uplift"  # significant stays significant
    assert "treatment n=200 < 500" in coupon["warnings"]
    news = {r["action_id"]: r for r in day_experiments(conn, D)}["newsletter"]
    assert news["verdict"] == "inconclusive"  # not significant and too small to conclude
