"""Rule semantics on generated data: quantile bands, priority vs overlapping, sub-tiers,
overrides with expiry, threshold adjustments. One pipeline run, then tier-only runs per policy."""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta

import duckdb
import pandas as pd
import pytest
import yaml
from dagster import AssetSelection

from tests.conftest import SMALL_END, SMALL_START, _activate, make_home
from tests.helpers import failure_messages, run_range, warehouse_rows
from tierops.settings import Settings
from tierops.tiering.assets import compile_policy
from tierops.tiering.thresholds import calibrate

TIERS_ONLY = AssetSelection.assets("tier_assignments")
DAY = SMALL_END


@pytest.fixture(scope="module")
def home(tmp_path_factory, small_landing):
    landing, truth = small_landing
    home = make_home(tmp_path_factory.mktemp("rules"), landing_from=landing)
    shutil.copytree(truth, home.truth)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        result = run_range(SMALL_START, SMALL_END)
        assert result.success, failure_messages(result)
    return home


def _tier_with(home, policy: dict, first: date = DAY, last: date = DAY, recalibrate=True):
    """Write the policy, calibrate a set for it on DAY (adopted), run the tiering for the days."""
    (home.config_dir / "tier_policy.yaml").write_text(
        yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        compiled = compile_policy(Settings.from_env())
        if recalibrate and compiled.quantiles:
            con = duckdb.connect(str(home.warehouse))
            try:
                calibrate(con, compiled, DAY, DAY, adopt=True, source="test")
            finally:
                con.close()
        result = run_range(first, last, selection=TIERS_ONLY)
        assert result.success, failure_messages(result)
    return result


def _policy(**changes) -> dict:
    base = {
        "version": "test-v1",
        "industry": "retail",
        "population": "orders_365d > 0",
        "quantile_population": "orders_365d > 0",
        "fallback": "other",
    }
    return {**base, **changes}


def _tier(code: str, **extra) -> dict:
    return {"code": code, "name_zh": f"{code}层", "name_en": code.title(), **extra}


def test_quantile_bands_match_declared_shares_at_calibration(home):
    policy = _policy(
        tiers=[
            _tier("top", cut={"feature": "monetary_365d", "top": 10}),
            _tier("middle", cut={"feature": "monetary_365d", "middle": 60}),
            _tier("bottom", cut={"feature": "monetary_365d", "bottom": 30}),
            _tier("other"),
        ]
    )
    _tier_with(home, policy)
    counts = dict(
        warehouse_rows(
            home,
            "select tier_code, count(*) from tier_assignments where as_of_date = ? group by 1",
            [DAY],
        )
    )
    total = sum(counts.values())
    buyers = warehouse_rows(
        home,
        "select count(*) from customer_features where as_of_date = ? and orders_365d > 0",
        [DAY],
    )[0][0]
    assert total == buyers > 300
    shares = {k: 100 * v / total for k, v in counts.items()}
    assert abs(shares["top"] - 10) <= 1, shares
    assert abs(shares["middle"] - 60) <= 1, shares
    assert abs(shares["bottom"] - 30) <= 1, shares
    assert "other" not in shares
    rule = warehouse_rows(
        home, "select distinct rule from tier_assignments where tier_code = 'middle'", []
    )
    assert rule == [("monetary_365d >= p30(monetary_365d) and monetary_365d < p90(monetary_365d)",)]


def test_rfm_score_model_tertiles(home):
    policy = _policy(
        scores={
            "recency": {"feature": "days_since_last_order", "levels": 3, "higher_is_better": False},
            "frequency": {"feature": "orders_365d", "levels": 3},
            "monetary": {"feature": "monetary_365d", "levels": 3},
        },
        tiers=[_tier("best", rule="rfm_score >= 8"), _tier("other")],
    )
    _tier_with(home, policy)
    cuts = dict(
        warehouse_rows(
            home,
            "select name, value from tier_thresholds where as_of_date = ? and feature = 'monetary_365d'",
            [DAY],
        )
    )
    assert set(cuts) == {"q0333_monetary_365d", "q0667_monetary_365d"}
    rows = warehouse_rows(
        home,
        "select a.tier_code, a.evidence, f.days_since_last_order, f.orders_365d, f.monetary_365d "
        "from tier_assignments a join customer_features f using (as_of_date, customer_id) "
        "where a.as_of_date = ?",
        [DAY],
    )
    t = dict(
        warehouse_rows(home, "select name, value from tier_thresholds where as_of_date = ?", [DAY])
    )

    def score(value, lo, hi, higher=True):
        if value is None:
            return 1
        return 1 + sum((value > c) if higher else (value < c) for c in (lo, hi))

    for tier, evidence, recency, freq, money in rows:
        rfm = (
            score(
                recency, t["q0333_days_since_last_order"], t["q0667_days_since_last_order"], False
            )
            + score(freq, t["q0333_orders_365d"], t["q0667_orders_365d"])
            + score(money, t["q0333_monetary_365d"], t["q0667_monetary_365d"])
        )
        assert (tier == "best") == (rfm >= 8), (tier, evidence, rfm)
        if tier == "best":
            assert evidence == f"rfm_score={rfm}"
    assert 0 < sum(r[0] == "best" for r in rows) < len(rows)


def test_priority_versus_overlapping(home):
    tiers = [
        _tier("frequent", rule="orders_365d >= 4"),
        _tier("big", rule="monetary_365d >= p50(monetary_365d)"),
        _tier("other"),
    ]
    _tier_with(home, _policy(assignment="priority", tiers=tiers))
    priority = dict(
        warehouse_rows(
            home, "select customer_id, tier_code from tier_assignments where as_of_date = ?", [DAY]
        )
    )
    _tier_with(home, _policy(assignment="overlapping", tiers=tiers))
    rows = warehouse_rows(
        home,
        "select customer_id, tier_code, is_primary from tier_assignments where as_of_date = ?",
        [DAY],
    )
    p50 = warehouse_rows(
        home,
        "select value from tier_thresholds where as_of_date = ? and name = 'q0500_monetary_365d'",
        [DAY],
    )[0][0]
    both = warehouse_rows(
        home,
        "select count(*) from customer_features where as_of_date = ? and orders_365d >= 4 "
        "and monetary_365d >= ?",
        [DAY, p50],
    )[0][0]
    members: dict[str, set[str]] = {}
    primaries: dict[str, list[str]] = {}
    for customer, tier, is_primary in rows:
        members.setdefault(customer, set()).add(tier)
        if is_primary:
            primaries.setdefault(customer, []).append(tier)
    assert both > 0
    assert sum(m == {"frequent", "big"} for m in members.values()) == both
    assert all("other" not in m or m == {"other"} for m in members.values())
    assert {c: p[0] for c, p in primaries.items()} == priority  # one primary = the priority tier
    assert all(len(p) == 1 for p in primaries.values())


def test_subtiers_split_their_parent_only(home):
    policy = yaml.safe_load(
        (home.config_dir.parent / "config" / "presets" / "retail.yaml").read_text()
    )
    _tier_with(home, policy)
    rows = warehouse_rows(
        home,
        "select tier_code, subtier_code, subtier_name_en, count(*) from tier_assignments "
        "where as_of_date = ? group by all",
        [DAY],
    )
    by_tier: dict[str, dict] = {}
    for tier, sub, name, n in rows:
        by_tier.setdefault(tier, {})[sub] = (name, n)
    assert set(by_tier["high_value"]) <= {
        "high_value_frequent",
        "high_value_big_ticket",
        "high_value_all_round",
    }
    assert None not in by_tier["high_value"] and None not in by_tier["growth"]
    assert all(set(v) == {None} for k, v in by_tier.items() if k not in ("high_value", "growth"))
    cut = warehouse_rows(
        home,
        "select value from tier_thresholds where as_of_date = ? and name = 'q0750_aov_365d'",
        [DAY],
    )[0][0]
    big = warehouse_rows(
        home,
        "select a.subtier_code, f.aov_365d >= ?, a.evidence from tier_assignments a "
        "join customer_features f using (as_of_date, customer_id) "
        "where a.as_of_date = ? and a.tier_code = 'high_value'",
        [cut, DAY],
    )
    for sub, above, evidence in big:
        if sub == "high_value_big_ticket":
            assert above and "| high_value_big_ticket: aov_365d=" in evidence
        if sub == "high_value_all_round":
            assert not above


def test_overrides_pin_until_expiry_and_adjustments_are_recorded(home):
    policy = yaml.safe_load(
        (home.config_dir.parent / "config" / "presets" / "retail.yaml").read_text()
    )
    first = DAY - timedelta(days=2)
    growth = [
        c
        for (c,) in warehouse_rows(
            home,
            "select customer_id from tier_assignments where as_of_date = ? and tier_code = 'growth' "
            "order by customer_id limit 2",
            [first],
        )
    ]
    until = DAY - timedelta(days=1)
    policy["overrides"] = [
        {
            "customers": growth,
            "tier": "high_value",
            "reason": "key account 重点客户",
            "until": until,
        }
    ]
    policy["threshold_adjustments"] = [
        {
            "cut": "p90(monetary_365d)",
            "multiply": 1.5,
            "reason": "budget covers fewer",
            "until": first,
        }
    ]
    _tier_with(home, policy, first, DAY)
    pinned = warehouse_rows(
        home,
        "select as_of_date, customer_id, tier_code, rule_id, rule, evidence, override_until "
        "from tier_assignments where customer_id in (?, ?) and as_of_date >= ? order by 1, 2",
        [*growth, first],
    )
    assert len(pinned) == 6
    for day, _, tier, rule_id, rule, evidence, pinned_until in pinned:
        if day <= until:
            assert (tier, rule_id, pinned_until) == ("high_value", "override", until)
            assert rule == "override: key account 重点客户"
            assert evidence.startswith(f"pinned until {until}; rules said growth (")
        else:
            assert (tier, rule_id, pinned_until) == ("growth", "fallback", None)
    thresholds = warehouse_rows(
        home,
        "select as_of_date, calibrated_value, value, adjustment from tier_thresholds "
        "where name = 'q0900_monetary_365d' and as_of_date >= ? order by 1",
        [first],
    )
    adjusted, *normal = thresholds
    assert adjusted[2] == pytest.approx(adjusted[1] * 1.5)
    assert adjusted[3].startswith(f"x1.5 until {first}: budget covers fewer")
    assert all(v == c and a is None for _, c, v, a in normal)
    evidence = warehouse_rows(
        home,
        "select evidence from tier_assignments where as_of_date = ? and tier_code = 'high_value' "
        "and rule_id = 'high_value' limit 1",
        [first],
    )[0][0]
    assert "[p90(monetary_365d) x1.5" in evidence


def test_cluster_report_cross_tabulates_without_assigning(home, tmp_path):
    from tests.test_cli import _cli

    before = warehouse_rows(
        home,
        "select count(*), sum(hash(customer_id, tier_code, rule_id)) from tier_assignments",
    )
    tiers = dict(
        warehouse_rows(
            home,
            "select tier_code, count(*) from tier_assignments where as_of_date = ? and is_primary "
            "group by 1",
            [DAY],
        )
    )
    proc = _cli(
        ["clusters", "--date", DAY.isoformat(), "--k", "4", "--sample", "100000"], home, tmp_path
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "clusters never assign tiers" in proc.stderr
    folder = home.outputs / DAY.isoformat() / "clustering"
    crosstab = pd.read_csv(folder / "crosstab.csv", encoding="utf-8-sig", index_col=0)
    assert crosstab.sum().to_dict() == tiers  # every customer of the day, by rule tier
    assert list(crosstab.index) == [0, 1, 2, 3]
    body = json.loads((folder / "clusters.json").read_text(encoding="utf-8"))
    assert set(body["suggested_cut_points"]) == set(body["features"])
    assert all(len(c) == 3 for c in body["suggested_cut_points"].values())
    assert "monetary_365d" in body["features"]
    assert "| cluster |" in (folder / "report.md").read_text(encoding="utf-8")
    assert (
        warehouse_rows(
            home,
            "select count(*), sum(hash(customer_id, tier_code, rule_id)) from tier_assignments",
        )
        == before
    )
