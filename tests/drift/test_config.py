"""config/checks.yaml and config/promotions.yaml: validated on load, errors name file and key."""

from __future__ import annotations

from datetime import date

import pytest

from tests.conftest import REPO
from tierops.checks.config import checked_features, load_checks_config
from tierops.drift.promotions import load_promotions, parse_range
from tierops.lib.configfile import ConfigError
from tierops.transform.project import model_columns


def test_shipped_config_is_valid():
    cfg = load_checks_config(REPO / "config")
    columns = set(model_columns("customer_features"))
    assert checked_features(cfg, columns, REPO / "config") == [
        "days_since_last_order",
        "orders_30d",
        "monetary_365d",
    ]
    assert cfg.tier_skew.bounds["high_value"].max_share == 0.20
    calendar = load_promotions(REPO / "config")
    assert {p.name for p in calendar.promotions} >= {"618", "double11"}


def test_unknown_feature_and_bad_bounds_are_named(tmp_path):
    (tmp_path / "checks.yaml").write_text("rfm_shift:\n  features: [recency, orders_30d]\n")
    cfg = load_checks_config(tmp_path)
    with pytest.raises(ConfigError) as err:
        checked_features(cfg, set(model_columns("customer_features")), tmp_path)
    assert err.value.key == "rfm_shift.features[0]"
    assert "unknown column 'recency'" in str(err.value)

    (tmp_path / "checks.yaml").write_text(
        "tier_skew:\n  bounds:\n    new: {min_share: 0.5, max_share: 0.1}\n"
    )
    with pytest.raises(ConfigError, match=r"min_share 0\.5 is above max_share 0\.1") as err:
        load_checks_config(tmp_path)
    assert "checks.yaml" in err.value.file

    (tmp_path / "checks.yaml").write_text("rfm_shift:\n  severity: fatal\n")
    with pytest.raises(ConfigError) as err:
        load_checks_config(tmp_path)
    assert err.value.key == "rfm_shift.severity"


def test_promotion_calendar_excludes_promotion_and_settle_days(tmp_path):
    (tmp_path / "promotions.yaml").write_text(
        "settle_days: 2\npromotions:\n  - {name: a, start: 2025-03-01, end: 2025-03-03}\n"
    )
    calendar = load_promotions(tmp_path)
    days = calendar.excluded_days(date(2025, 3, 2), date(2025, 3, 31))
    assert days == [date(2025, 3, d) for d in (2, 3, 4, 5)]
    (tmp_path / "promotions.yaml").write_text(
        "promotions:\n  - {name: a, start: 2025-03-05, end: 2025-03-01}\n"
    )
    with pytest.raises(ConfigError, match="end 2025-03-01 is before start 2025-03-05"):
        load_promotions(tmp_path)
    assert parse_range("2025-03-01:2025-03-04") == (date(2025, 3, 1), date(2025, 3, 4))
    with pytest.raises(ValueError, match="ends before it starts"):
        parse_range("2025-03-04:2025-03-01")
