"""Channel mappings are validated on load with errors that name file, key and expectation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO
from tierops.ingestion.mapping import load_mappings
from tierops.lib.configfile import ConfigError


def _config_with(tmp_path: Path, feed_file: str, change) -> Path:
    config = tmp_path / "config"
    shutil.copytree(REPO / "config", config)
    path = config / "channels" / feed_file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return config


def test_shipped_mappings_are_valid():
    feeds = {m.feed: m for m in load_mappings(REPO / "config")}
    assert feeds["pos_orders"].source.encoding == "gbk"
    assert feeds["miniprogram_orders"].source.explode == "items"
    assert feeds["marketplace_orders"].fields["line_amount"].unit == "fen"


@pytest.mark.parametrize(
    ("change", "key", "fragment"),
    [
        (lambda d: d["fields"].update(colour="x"), "fields.colour", "not a field of order_lines"),
        (lambda d: d["fields"].pop("order_ts"), "fields", "order_ts"),
        (
            lambda d: d["identifiers"].update(passport="x"),
            "identifiers.passport",
            "unknown identifier type",
        ),
        (
            lambda d: d["fields"].update(line_amount={"column": "line_total", "unit": "dollar"}),
            "fields.line_amount.unit",
            "expected one of",
        ),
        (lambda d: d["source"].update(format="xml"), "source.format", "csv"),
        (lambda d: d.update(colour="red"), "colour", "unknown key"),
        (lambda d: d["source"].update(path="web/orders.csv"), "source", "{date"),
        (
            lambda d: d["fields"].update(order_ts="created_at"),
            "fields.order_ts",
            "timestamps need `format`",
        ),
    ],
)
def test_invalid_mapping_is_rejected_with_file_and_key(tmp_path, change, key, fragment):
    config = _config_with(tmp_path, "web_orders.yaml", change)
    with pytest.raises(ConfigError) as err:
        load_mappings(config)
    assert err.value.file.endswith("web_orders.yaml")
    assert err.value.key == key
    assert fragment in err.value.problem


def test_duplicate_feed_name_is_rejected(tmp_path):
    config = _config_with(tmp_path, "pos_orders.yaml", lambda d: d.update(feed="web_orders"))
    with pytest.raises(ConfigError, match="duplicate feed name 'web_orders'"):
        load_mappings(config)
