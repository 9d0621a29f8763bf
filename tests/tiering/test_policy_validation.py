"""A wrong tier policy fails before any data is touched, naming file, key, position and expectation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tierops.lib.configfile import ConfigError
from tierops.settings import Settings
from tierops.tiering.assets import compile_policy


def _settings(tmp_path: Path) -> Settings:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    return Settings(config_dir=config, home=tmp_path / "data", landing_dir=tmp_path / "landing")


def _policy() -> dict:
    return yaml.safe_load((REPO / "config" / "tier_policy.yaml").read_text(encoding="utf-8"))


def _reject(tmp_path: Path, policy: dict) -> ConfigError:
    settings = _settings(tmp_path)
    file = settings.config_dir / "tier_policy.yaml"
    file.write_text(yaml.safe_dump(policy, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        compile_policy(settings)
    assert caught.value.file == str(file)
    return caught.value


def _tier(policy: dict, code: str) -> dict:
    return next(t for t in policy["tiers"] if t["code"] == code)


def test_shipped_policy_and_presets_are_valid(tmp_path):
    settings = _settings(tmp_path)
    compiled = compile_policy(settings)
    assert compiled.policy.version == "retail-v1"
    assert [t.code for t in compiled.policy.tiers] == [
        "new",
        "dormant",
        "churn_risk",
        "high_value",
        "growth",
    ]
    for preset in sorted((settings.config_dir / "presets").glob("*.yaml")):
        compiled = compile_policy(settings, file=preset)
        assert compiled.policy.tiers, preset


def test_unknown_feature_names_key_position_and_choices(tmp_path):
    policy = _policy()
    _tier(policy, "churn_risk")["rule"] = "days_since_last_order > 75 and lifetime_value > 10"
    err = _reject(tmp_path, policy)
    assert err.key == "tiers[2].rule"
    assert "unknown feature 'lifetime_value'; expected one of active_days_30d" in err.problem
    assert "at position 32 in expression" in err.problem
    assert "(line " in err.problem


def test_bad_expression_syntax(tmp_path):
    policy = _policy()
    _tier(policy, "dormant")["rule"] = "orders_total = = 0"
    err = _reject(tmp_path, policy)
    assert err.key == "tiers[1].rule"
    assert "cannot parse" in err.problem and "position" in err.problem


def test_overlapping_priorities(tmp_path):
    policy = _policy()
    for i, tier in enumerate(policy["tiers"], start=1):
        tier["priority"] = i * 10
    policy["tiers"][3]["priority"] = 20
    err = _reject(tmp_path, policy)
    assert err.key == "tiers[3].priority"
    assert "overlapping priorities: 20 is also the priority of tiers[1] (dormant)" in err.problem
    assert "expected a unique number" in err.problem


def test_quantile_shares_that_do_not_add_up(tmp_path):
    policy = _policy()
    policy["subtiers"] = []
    policy["tiers"] = [
        {"code": "top", "name_zh": "头部", "name_en": "Top", "cut": {"feature": "monetary_365d", "top": 10}},
        {"code": "mid", "name_zh": "腰部", "name_en": "Middle", "cut": {"feature": "monetary_365d", "middle": 60}},
        {"code": "low", "name_zh": "尾部", "name_en": "Bottom", "cut": {"feature": "monetary_365d", "bottom": 20}},
        {"code": "other", "name_zh": "其他", "name_en": "Other"},
    ]  # fmt: skip
    policy["fallback"] = "other"
    err = _reject(tmp_path, policy)
    assert err.key == "tiers[2].cut"
    assert "shares on monetary_365d add up to 90 %" in err.problem
    assert "expected 100 %" in err.problem


def test_overlapping_quantile_bands(tmp_path):
    policy = _policy()
    policy["tiers"][3]["cut"] = {"feature": "monetary_365d", "top": 30}
    policy["tiers"][2]["cut"] = {"feature": "monetary_365d", "between": [50, 80]}
    err = _reject(tmp_path, policy)
    assert err.key == "tiers[3].cut"
    assert "70..100 % of monetary_365d overlaps tiers[2] (50..80 %)" in err.problem


def test_subtier_of_a_missing_tier(tmp_path):
    policy = _policy()
    policy["subtiers"][0]["parent"] = "vip"
    err = _reject(tmp_path, policy)
    assert err.key == "subtiers[0].parent"
    assert "'vip' is not a tier code; expected one of new, dormant" in err.problem


def test_fallback_that_is_not_a_tier(tmp_path):
    policy = _policy()
    policy["fallback"] = "others"
    err = _reject(tmp_path, policy)
    assert err.key == "fallback"
    assert "'others' is not a tier code" in err.problem
    assert "(line " in err.problem


def test_duplicate_tier_code(tmp_path):
    policy = _policy()
    policy["tiers"][2]["code"] = "dormant"
    err = _reject(tmp_path, policy)
    assert err.key == "tiers[2].code"
    assert "duplicate tier code 'dormant' (also tiers[1])" in err.problem


def test_misspelt_key(tmp_path):
    policy = _policy()
    policy["tiers"][0]["rules"] = policy["tiers"][0].pop("rule")
    err = _reject(tmp_path, policy)
    assert err.key == "tiers[0].rules"
    assert "unknown key; expected one of:" in err.problem and "rule" in err.problem


def test_quantile_share_out_of_range(tmp_path):
    policy = _policy()
    _tier(policy, "high_value")["cut"] = {"feature": "monetary_365d", "top": 120}
    err = _reject(tmp_path, policy)
    assert err.key == "tiers[3].cut.top"
    assert "less than 100" in err.problem


def test_override_to_unknown_tier_and_without_expiry(tmp_path):
    policy = _policy()
    policy["overrides"] = [{"customers": ["C1"], "tier": "platinum", "reason": "key account", "until": "2026-01-31"}]  # fmt: skip
    err = _reject(tmp_path / "a", policy)
    assert err.key == "overrides[0].tier"
    assert "'platinum' is not a tier code" in err.problem
    policy["overrides"] = [{"customers": ["C1"], "tier": "high_value", "reason": "key account"}]
    err = _reject(tmp_path / "b", policy)
    assert err.key == "overrides[0].until"
    assert err.problem.startswith("required key is missing (line ")


def test_unknown_feature_in_quantile_cut(tmp_path):
    policy = _policy()
    _tier(policy, "high_value")["rule"] = "monetary_365d >= p90(monetary_999d)"
    err = _reject(tmp_path, policy)
    assert err.key == "tiers[3].rule"
    assert "unknown feature 'monetary_999d' in quantile" in err.problem


@pytest.mark.parametrize(
    "rule",
    [
        "monetary_365d > 0; drop table customer_features",
        "monetary_365d > (select max(monetary_365d) from customer_features)",
        "monetary_365d > 0 -- and always true",
        "read_csv('/etc/passwd') is not null",
        "monetary_365d > 0 or 1 in (select 1)",
    ],
)
def test_sql_injection_is_rejected(tmp_path, rule):
    policy = _policy()
    _tier(policy, "high_value")["rule"] = rule
    err = _reject(tmp_path, policy)
    assert err.key == "tiers[3].rule"
    assert "position" in err.problem
    assert any(
        word in err.problem
        for word in (
            "';' is not allowed",
            "not allowed in a rule",
            "comments are not allowed",
            "is not allowed",
        )
    ), err.problem
