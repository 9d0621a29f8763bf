"""The files that name tiers (strategy, CRM, segments, reporting) follow the policy in force.

Full mode reads them from config/, reduced mode from config/presets/orders_only/; `tierops
validate` checks both sets in a full-mode home, each against its own policy. The full pipeline
runs in reduced mode and on the SaaS preset are in test_presets.py.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import yaml

from tests.conftest import REPO
from tests.test_cli import _cli

ORDERS_ONLY = "presets/orders_only/"
EXPECTED_TIERS = "expected one of the policy's tiers: core, loyal, at_risk, lost, regular"


@pytest.mark.parametrize(
    ("file", "old", "new", "key", "message"),
    [
        (
            "checks.yaml",
            "    high_value: {max_share: 0.20}",
            "    high_valu: {max_share: 0.20}",
            "config/checks.yaml: tier_skew.bounds.high_valu",
            "unknown tier 'high_valu'; expected one of the policy's tiers: new, dormant, "
            "churn_risk, high_value, growth",
        ),
        (
            f"{ORDERS_ONLY}checks.yaml",
            "    core: {max_share: 0.30}",
            "    cor: {max_share: 0.30}",
            f"{ORDERS_ONLY}checks.yaml: tier_skew.bounds.cor",
            f"unknown tier 'cor'; {EXPECTED_TIERS}",
        ),
        (
            f"{ORDERS_ONLY}checks.yaml",
            "features: [days_since_last_order, orders_30d, monetary_365d]",
            "features: [days_since_last_order, visits_30d, monetary_365d]",
            f"{ORDERS_ONLY}checks.yaml: rfm_shift.features[1]",
            "'visits_30d' is not supplied by any configured feed",
        ),
        (
            f"{ORDERS_ONLY}strategy.yaml",
            "  core:\n",
            "  cor:\n",
            f"{ORDERS_ONLY}strategy.yaml: tiers.cor",
            f"unknown tier 'cor'; {EXPECTED_TIERS}",
        ),
        (
            f"{ORDERS_ONLY}strategy.yaml",
            '"days_since_last_order >= 60"',
            '"days_since_last_visit >= 60"',
            f"{ORDERS_ONLY}strategy.yaml: tiers.at_risk.actions[0].trigger",
            "uses days_since_last_visit, which no configured feed supplies",
        ),
        (
            f"{ORDERS_ONLY}crm.yaml",
            "  regular: regular\n",
            "",
            f"{ORDERS_ONLY}crm.yaml: tier_levels",
            "no level for tier(s) regular; map every tier",
        ),
        (
            f"{ORDERS_ONLY}segments.yaml",
            "tiers: [at_risk, lost]",
            "tiers: [at_risk, churn_risk]",
            f"{ORDERS_ONLY}segments.yaml: segments[1].tiers",
            f"unknown tier 'churn_risk'; {EXPECTED_TIERS}",
        ),
        (
            f"{ORDERS_ONLY}reporting.yaml",
            "reactivation_tiers: [at_risk, lost]",
            "reactivation_tiers: [at_risk, dormant]",
            f"{ORDERS_ONLY}reporting.yaml: reactivation_tiers[1]",
            "'dormant' is not a tier of policy orders-only-v1",
        ),
    ],
    ids=[
        "full-mode-checks-tier",
        "checks-tier",
        "checks-feature",
        "strategy-tier",
        "strategy-feature",
        "crm-unmapped",
        "segment-tier",
        "reporting-tier",
    ],
)
def test_tier_files_are_checked_against_their_policy(
    pipeline_home, tmp_path, file, old, new, key, message
):
    path = pipeline_home.config_dir / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    proc = _cli(["validate"], pipeline_home, tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert key in proc.stderr
    assert message in proc.stderr


def test_validate_in_reduced_mode_reads_the_orders_only_files(pipeline_home, tmp_path):
    for feed in ("tracking_events", "crm_members"):
        (pipeline_home.config_dir / "channels" / f"{feed}.yaml").unlink()
    # the retail strategy is not the one in force: its retail tier codes do not matter now
    proc = _cli(["validate"], pipeline_home, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stderr
    assert "policy retail-v1 is replaced by orders-only-v1" in out
    assert "tier policy orders-only-v1: core, loyal, at_risk, lost, regular" in out
    assert f"{ORDERS_ONLY.rstrip('/')}" in out
    assert "strategy orders-only-strategy-v1: 5 actions over core, loyal, at_risk, lost" in out
    assert "crm crm-orders-only-v1" in out
    assert "retail-strategy-v1" not in out
    assert "if a feed goes missing" not in out


PRESETS = ["retail", "saas", "content", "services", "orders_only"]


@pytest.mark.parametrize("preset", PRESETS)
def test_every_preset_folder_is_valid_for_its_policy(preset, capsys):
    """config/presets/<name>/ holds every tier file, each valid against config/presets/<name>.yaml
    (what `tierops validate` checks after copying the preset over config/)."""
    from tierops.cli import validate_tier_files
    from tierops.settings import Settings
    from tierops.tiering.assets import TIER_FILES, compile_policy, policy_in_force

    config = REPO / "config"
    folder = config / "presets" / preset
    assert sorted(p.name for p in folder.glob("*.yaml")) == sorted(TIER_FILES)
    settings = Settings(config_dir=config, home=REPO / "data", landing_dir=REPO / "landing")
    every_feed = {"orders", "events", "members", "subscriptions"}
    compiled = compile_policy(settings, config / "presets" / f"{preset}.yaml", every_feed)
    in_force = replace(policy_in_force(settings, compiled), config_dir=folder)
    validate_tier_files(settings, in_force)
    out = capsys.readouterr().err
    assert f"tier policy {compiled.policy.version}: {', '.join(in_force.tier_codes)}" in out
    strategy = yaml.safe_load((folder / "strategy.yaml").read_text(encoding="utf-8"))
    assert f"strategy {strategy['version']}: " in out


def test_shipped_config_is_the_retail_preset():
    config = REPO / "config"
    assert (config / "tier_policy.yaml").read_bytes() == (
        config / "presets" / "retail.yaml"
    ).read_bytes()
    for name in ("strategy.yaml", "crm.yaml", "segments.yaml", "reporting.yaml", "checks.yaml"):
        assert (config / name).read_bytes() == (config / "presets" / "retail" / name).read_bytes()
