"""Industry presets end to end on generated data, and reduced mode (orders only).

Retail (config/tier_policy.yaml is the retail preset) runs in tests/pipeline/test_nightly.py and
the other tiering tests. Here: SaaS data from the generator's SaaS profile with the subscriptions
feed; the SaaS, content and services presets on it; and retail data with only the order feeds.
"""

from __future__ import annotations

import csv
import json
import shutil
from datetime import date

import duckdb
import pytest
import yaml
from dagster import AssetSelection

from tests.conftest import REPO, SMALL_END, SMALL_START, _activate, make_home
from tests.helpers import failure_messages, run_range, warehouse_rows
from tierops.settings import Settings
from tierops.tiering.assets import TIER_FILES, compile_policy
from tierops.tiering.thresholds import calibrate

SAAS_START, SAAS_END = date(2025, 3, 1), date(2025, 6, 30)
TIERS_ONLY = AssetSelection.assets("tier_assignments")


def _materialization(result, key: str) -> dict:
    events = [
        e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key
    ]
    return {k: getattr(v, "value", v) for k, v in events[-1].materialization.metadata.items()}


@pytest.fixture(scope="module")
def saas_home(tmp_path_factory):
    from tierops.generator import GeneratorConfig, generate

    root = tmp_path_factory.mktemp("saas")
    home = make_home(root)
    config = GeneratorConfig(
        customers=300, start=SAAS_START, end=SAAS_END, seed=5, industry="saas", bad_row_rate=0.0
    )
    generate(config, home.landing, home.truth)
    presets = home.config_dir / "presets"
    shutil.copy(presets / "channels" / "saas_subscriptions.yaml", home.config_dir / "channels")
    shutil.copy(presets / "saas.yaml", home.config_dir / "tier_policy.yaml")
    for name in TIER_FILES:  # the preset's strategy, CRM levels, segments and reporting
        shutil.copy(presets / "saas" / name, home.config_dir / name)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        result = run_range(SAAS_START, SAAS_END)  # every asset of the nightly job
        assert result.success, failure_messages(result)
    return home, result


def test_saas_generator_writes_subscriptions_and_saas_events(saas_home):
    home, _ = saas_home
    files = sorted((home.landing / "subscriptions").glob("*.csv"))
    assert len(files) == (SAAS_END - SAAS_START).days + 1
    header = files[0].read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("subscription_id,account_id,admin_email,status,plan,seats")
    types = dict(
        warehouse_rows(home, "select event_type, count(*) from stg_lake__events group by 1")
    )
    assert {"login", "feature_use", "content_view"} <= set(types)
    assert "product_view" not in types and "add_to_cart" not in types


def test_saas_features_follow_the_subscription_feed(saas_home):
    home, _ = saas_home
    # the latest row of every subscription by the last day, read straight from the lake table
    expected = dict(
        warehouse_rows(
            home,
            "with latest as (select *, row_number() over (partition by subscription_key "
            "order by file_date desc, updated_at desc) as r from stg_lake__subscriptions) "
            "select member_id, case when status = 'active' then seats else 0 end "
            "from latest where r = 1",
        )
    )
    got = dict(
        warehouse_rows(
            home,
            "select m.member_id, f.seats from customer_features f "
            "join (select distinct customer_id, node, substr(node, 11) as member_id "
            "from identity_map where valid_to is null and node like 'member_id:%') m "
            "using (customer_id) where f.as_of_date = ?",
            [SAAS_END],
        )
    )
    assert len(expected) > 150
    compared = [mid for mid in expected if mid in got]
    assert len(compared) >= 0.9 * len(expected)
    assert all(got[mid] == expected[mid] for mid in compared)
    renewals = warehouse_rows(
        home,
        "select count(*), min(days_to_renewal), max(term_months) from customer_features "
        "where as_of_date = ? and active_subscriptions > 0",
        [SAAS_END],
    )[0]
    assert renewals[0] > 100 and renewals[1] >= 0 and renewals[2] == 12


def test_saas_preset_end_to_end(saas_home):
    home, result = saas_home
    meta = _materialization(result, "tier_assignments")
    assert meta["policy_version"] == "saas-v1" and meta["mode"] == "full"
    counts = meta["tier_counts"]
    assert set(counts) == {"churned", "renewal_risk", "power_account", "low_adoption", "steady"}
    assert all(n > 0 for n in counts.values()), counts
    churned_ok = warehouse_rows(
        home,
        "select count(*) from tier_assignments a join customer_features f "
        "using (as_of_date, customer_id) where a.as_of_date = ? "
        "and (a.tier_code = 'churned') <> (f.active_subscriptions = 0)",
        [SAAS_END],
    )[0][0]
    assert churned_ok == 0
    power = warehouse_rows(
        home,
        "select subtier_code, evidence from tier_assignments where as_of_date = ? "
        "and tier_code = 'power_account'",
        [SAAS_END],
    )
    assert power and all(s in ("power_expand", "power_enterprise") for s, _ in power)
    assert all("seats=" in e and "p80(seats)=" in e for _, e in power)


SAAS_TIERS = {"churned", "renewal_risk", "power_account", "low_adoption", "steady"}


def test_saas_full_run_uses_the_presets_strategy_crm_and_reporting(saas_home):
    home, result = saas_home
    day_dir = home.outputs / SAAS_END.isoformat()
    manifest = json.loads((day_dir / "manifest.json").read_text(encoding="utf-8"))
    tiers = _materialization(result, "tier_assignments")
    assert manifest["policy_version"] == "saas-v1" and manifest["mode"] == "full"
    assert manifest["strategy_version"] == "saas-strategy-v1"
    assert manifest["crm_version"] == "crm-saas-v1"
    files = {
        p.name.removeprefix("tier_").removesuffix(".csv")
        for p in (day_dir / "audiences").glob("tier_*.csv")
        if not p.name.endswith(".delta.csv")
    }
    assert files == SAAS_TIERS
    assert manifest["tier_counts"] == tiers["tier_counts"]
    # CRM levels follow the preset's map: churned accounts are inactive unless in grace
    levels = dict(
        warehouse_rows(
            home,
            "select tier_code, list(distinct level_code) from crm_membership "
            "where as_of_date = ? and not in_grace group by 1",
            [SAAS_END],
        )
    )
    assert levels.get("churned") == ["inactive"]
    assert levels.get("power_account") == ["strategic"]
    actions = {a for (a,) in warehouse_rows(home, "select distinct action_id from contact_ledger")}
    assert actions and actions <= {
        "saas_csm_call", "saas_feature_tour", "saas_expand_offer", "saas_winback_mail",
    }  # fmt: skip
    report = (day_dir / "report.html").read_text(encoding="utf-8")
    assert "Power account" in report and "reduced mode" not in report
    kpis = _materialization(result, "tier_kpis")
    assert kpis["reactivation_tiers"] == ["churned"]
    assert set(kpis["tier_share"]) == set(tiers["tier_counts"])


@pytest.mark.parametrize(
    ("preset", "tiers"),
    [
        ("content", {"lapsed", "super_fan", "paying_reader", "engaged_free", "casual"}),
        ("services", {"lapsed_contract", "key_account", "renewal_due", "annual", "short_term"}),
    ],
)
def test_content_and_services_presets_on_generated_data(saas_home, preset, tiers):
    home, _ = saas_home
    policy = yaml.safe_load((REPO / "config" / "presets" / f"{preset}.yaml").read_text())
    (home.config_dir / "tier_policy.yaml").write_text(
        yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        compiled = compile_policy(Settings.from_env())
        con = duckdb.connect(str(home.warehouse))
        try:
            calibrate(con, compiled, SAAS_END, SAAS_END, adopt=True, source="test")
        finally:
            con.close()
        result = run_range(SAAS_END, SAAS_END, selection=TIERS_ONLY)
        assert result.success, failure_messages(result)
    meta = _materialization(result, "tier_assignments")
    assert meta["policy_version"] == f"{preset}-v1"
    assert set(meta["tier_counts"]) <= tiers
    assert len(meta["tier_counts"]) >= 3, meta["tier_counts"]
    assert (
        sum(meta["tier_counts"].values())
        == warehouse_rows(
            home, "select count(*) from tier_assignments where as_of_date = ?", [SAAS_END]
        )[0][0]
    )


@pytest.fixture(scope="module")
def reduced_home(tmp_path_factory, small_landing):
    landing, truth = small_landing
    home = make_home(tmp_path_factory.mktemp("reduced"), landing_from=landing)
    shutil.copytree(truth, home.truth)
    for feed in ("tracking_events", "crm_members"):
        (home.config_dir / "channels" / f"{feed}.yaml").unlink()
    with pytest.MonkeyPatch.context() as monkeypatch:
        _activate(home, monkeypatch)
        result = run_range(SMALL_START, SMALL_END)  # every asset of the nightly job
        assert result.success, failure_messages(result)
    return home, result


def test_reduced_mode_tiers_on_recency_frequency_amount(reduced_home):
    home, result = reduced_home
    meta = _materialization(result, "tier_assignments")
    assert meta["mode"] == "reduced"
    assert meta["configured_policy"] == "retail-v1"
    assert meta["policy_version"] == "orders-only-v1"
    assert meta["tier_config_dir"] == "config/presets/orders_only"
    unavailable = set(meta["unavailable_features"])
    assert {"is_member", "visits_30d", "active_days_30d", "optin_sms"} <= unavailable
    assert "orders_total" not in unavailable and "monetary_total" not in unavailable
    assert set(meta["tier_counts"]) == {"core", "loyal", "at_risk", "lost", "regular"}
    assert set(meta["thresholds"]) == {
        "quantile(days_since_last_order, 0.333333)",
        "quantile(days_since_last_order, 0.666667)",
        "quantile(orders_total, 0.333333)",
        "quantile(orders_total, 0.666667)",
        "quantile(monetary_total, 0.333333)",
        "quantile(monetary_total, 0.666667)",
    }
    logs = [
        e.message
        for e in result.all_events
        if e.event_type_value == "ENGINE_EVENT" or e.is_step_event
    ]
    assert logs  # the run recorded its steps
    buyers = warehouse_rows(
        home,
        "select count(*) from customer_features where as_of_date = ? and orders_total > 0",
        [SMALL_END],
    )[0][0]
    assert sum(meta["tier_counts"].values()) == buyers
    # three levels each: tertile scores, and the core tier is exactly r=3 and m=3
    core = warehouse_rows(
        home,
        "select a.evidence from tier_assignments a where a.as_of_date = ? and tier_code = 'core'",
        [SMALL_END],
    )
    assert core and all(e.startswith("m_score=3; r_score=3") for (e,) in core)


ORDERS_ONLY_TIERS = {"core", "loyal", "at_risk", "lost", "regular"}


def _csv_rows(path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return sum(1 for _ in csv.reader(fh)) - 1


def test_reduced_mode_full_run_writes_the_orders_only_audiences(reduced_home):
    home, result = reduced_home
    day_dir = home.outputs / SMALL_END.isoformat()
    manifest = json.loads((day_dir / "manifest.json").read_text(encoding="utf-8"))
    tiers = _materialization(result, "tier_assignments")
    assert manifest["policy_version"] == "orders-only-v1"
    assert manifest["mode"] == "reduced" and manifest["configured_policy"] == "retail-v1"
    assert manifest["tier_config_dir"].endswith("presets/orders_only")
    assert manifest["unavailable_features"] == tiers["unavailable_features"]
    assert {"optin_sms", "visits_30d"} <= set(manifest["unavailable_features"])
    # one audience file per tier of the policy in force, rows = the warehouse's assignments
    warehouse = dict(
        warehouse_rows(
            home,
            "select tier_code, count(*) from tier_assignments where as_of_date = ? "
            "and is_primary group by 1",
            [SMALL_END],
        )
    )
    files = {p.stem.removeprefix("tier_"): p for p in (day_dir / "audiences").glob("tier_*.csv")}
    files = {code: p for code, p in files.items() if not code.endswith(".delta")}
    assert set(files) == ORDERS_ONLY_TIERS
    assert {code: _csv_rows(p) for code, p in files.items()} == {
        code: warehouse.get(code, 0) for code in ORDERS_ONLY_TIERS
    }
    assert manifest["tier_counts"] == tiers["tier_counts"] == warehouse
    audiences = _materialization(result, "audience_files")
    assert audiences["mode"] == "reduced" and audiences["policy_version"] == "orders-only-v1"
    assert audiences["strategy_version"] == "orders-only-strategy-v1"


def test_reduced_mode_strategy_crm_segments_and_kpis_follow_the_orders_only_policy(reduced_home):
    home, result = reduced_home
    ledger = _materialization(result, "contact_ledger")
    assert ledger["strategy_version"] == "orders-only-strategy-v1"
    assert ledger["mode"] == "reduced"
    assert ledger["tier_config_dir"].endswith("presets/orders_only")
    # no CRM feed, so no consent: every action is recorded as no_consent, nobody is contacted
    assert set(ledger["actions_without_consent_source"]) == {
        "oo_core_thanks", "oo_loyal_cross_sell", "oo_at_risk_coupon", "oo_lost_mail",
        "oo_second_order",
    }  # fmt: skip
    funnel = ledger["funnel_today"]
    assert sum(f["no_consent"] for f in funnel.values()) > 0
    assert all(f["treatment"] == 0 and f["holdout"] == 0 for f in funnel.values())
    ledger_tiers = {
        t for (t,) in warehouse_rows(home, "select distinct tier_code from contact_ledger")
    }
    assert ledger_tiers <= ORDERS_ONLY_TIERS
    # CRM levels from config/presets/orders_only/crm.yaml
    crm = _materialization(result, "crm_membership")
    assert crm["crm_version"] == "crm-orders-only-v1" and crm["mode"] == "reduced"
    mapped = set(
        warehouse_rows(
            home,
            "select distinct tier_code, level_code from crm_membership where not in_grace",
        )
    )
    expected = {
        ("core", "diamond"), ("loyal", "gold"), ("at_risk", "silver"), ("lost", "regular"),
        ("regular", "regular"),
    }  # fmt: skip
    assert mapped and mapped <= expected
    assert sum(crm["customers_per_level"].values()) == sum(
        _materialization(result, "tier_assignments")["tier_counts"].values()
    )
    # segments: codes and tier filters of the orders-only segments file
    segments = dict(
        warehouse_rows(
            home,
            "select s.segment_code, list(distinct a.tier_code) from segment_memberships s "
            "join tier_assignments a using (as_of_date, customer_id) where a.is_primary "
            "group by 1",
        )
    )
    assert set(segments) <= {"single_order_buyers", "big_ticket_lapsing"} and segments
    assert set(segments.get("single_order_buyers", [])) <= {"regular", "loyal"}
    assert set(segments.get("big_ticket_lapsing", [])) <= {"at_risk", "lost"}
    # KPIs and the report name the orders-only tiers
    tiers = _materialization(result, "tier_assignments")
    kpis = _materialization(result, "tier_kpis")
    assert kpis["reactivation_tiers"] == ["at_risk", "lost"]
    assert set(kpis["tier_share"]) == set(tiers["tier_counts"])
    # drift checks read config/presets/orders_only/checks.yaml: skew bounds of orders-only tiers
    skew = next(
        e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == "tier_drift" and e.check_name == "tier_skew"
    )
    bounds = skew.metadata["details"].value["bounds_pct"]
    assert bounds == {"core": [None, pytest.approx(30.0)], "lost": [None, pytest.approx(50.0)]}
    core_share = tiers["tier_counts"]["core"] / sum(tiers["tier_counts"].values())
    assert skew.passed == (
        core_share <= 0.30
        and tiers["tier_counts"]["lost"] <= 0.5 * sum(tiers["tier_counts"].values())
    )
    assert _materialization(result, "tier_drift")["mode"] == "reduced"
    report = (home.outputs / SMALL_END.isoformat() / "report.html").read_text(encoding="utf-8")
    assert "核心客户" in report
    note = (
        "简化模式 / reduced mode: retail-v1 → orders-only-v1; 不可用特征 / unavailable features: "
    )
    assert note + ", ".join(tiers["unavailable_features"]) + "</p>" in report
    assert _materialization(result, "run_report")["mode"] == "reduced"
