"""`config/strategy.yaml` is checked against the policy's tiers, the channels and the features."""

from __future__ import annotations

import pytest

from tests.test_cli import _cli


@pytest.mark.parametrize(
    ("old", "new", "key", "message"),
    [
        (
            "  dormant:\n    goal:",
            "  sleeping:\n    goal:",
            "strategy.yaml: tiers.sleeping",
            "unknown tier 'sleeping'; expected one of the policy's tiers: new, dormant, "
            "churn_risk, high_value, growth",
        ),
        (
            "channel: phone",
            "channel: fax",
            "strategy.yaml: tiers.high_value.actions[0].channel",
            "unknown channel 'fax'; expected one of sms, email, wechat, app_push, in_app, phone",
        ),
        (
            '"days_since_last_visit >= 14"',
            '"days_since_last_vist >= 14"',
            "strategy.yaml: tiers.high_value.actions[1].trigger",
            "unknown feature 'days_since_last_vist'",
        ),
    ],
    ids=["unknown-tier", "unknown-channel", "unknown-feature"],
)
def test_strategy_naming_unknown_things_is_rejected_precisely(
    pipeline_home, tmp_path, old, new, key, message
):
    path = pipeline_home.config_dir / "strategy.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    proc = _cli(["validate"], pipeline_home, tmp_path)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert key in proc.stderr
    assert message in proc.stderr


def test_default_strategy_is_valid_and_covers_every_tier(pipeline_home, tmp_path):
    proc = _cli(["validate"], pipeline_home, tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (
        "strategy retail-strategy-v1: 10 actions over high_value, growth, churn_risk, new, dormant"
        in proc.stderr
    )


def test_unknown_segment_and_unmapped_tier_are_rejected(pipeline_home, tmp_path):
    path = pipeline_home.config_dir / "strategy.yaml"
    text = path.read_text(encoding="utf-8")
    path.write_text(
        text.replace("segment: browse_no_buy_7d", "segment: browse_7d"), encoding="utf-8"
    )
    proc = _cli(["validate"], pipeline_home, tmp_path)
    assert proc.returncode == 2
    assert (
        "strategy.yaml: tiers.growth.actions[1].segment: unknown segment 'browse_7d'" in proc.stderr
    )
    path.write_text(text, encoding="utf-8")
    crm = pipeline_home.config_dir / "crm.yaml"
    crm.write_text(
        crm.read_text(encoding="utf-8").replace("  dormant: regular\n", ""), encoding="utf-8"
    )
    proc = _cli(["validate"], pipeline_home, tmp_path)
    assert proc.returncode == 2
    assert "crm.yaml: tier_levels: no level for tier(s) dormant" in proc.stderr
