"""Identity stitching on hand-made landing files, through the real feeds and dbt models.

Three business days:
  D1  a chain of five identifiers over four channels; strangers behind a blocklisted phone, a
      store phone typed for three member cards (a hub) and junk values; customer K1 (a phone)
  D2  customer K2 (an e-mail) on the web shop
  D3  a CRM record carrying K1's phone and K2's e-mail: the two customers merge

One home is processed D1–D2, then D2 again, then D3, then D3 again after the CRM file was
re-delivered without the e-mail; a second home processes D1–D3 in one backfill run.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from dagster import AssetKey, AssetSelection

from tests.conftest import _activate, make_home
from tests.helpers import failure_messages, run_range
from tests.identity.landing import keep_only_used_feeds, write_day

D1, D2, D3 = date(2025, 3, 3), date(2025, 3, 4), date(2025, 3, 5)
PIPELINE_UP_TO_MARTS = AssetSelection.groups("ingestion", "staging", "intermediate", "marts")

CHAIN = {
    "device_id:dev-chain-1",
    "openid:o-chain-1",
    "phone:13811112222",
    "member_id:VIPCHAIN1",
    "email:chain.person@example.com",
}
MERGING_CRM = {"member_id": "VIPK", "phone": "13955550001", "email": " K2.Person@Example.com"}


def _day1() -> dict[str, list[dict]]:
    return {
        "tracking_events": [
            {"device_id": "dev-chain-1", "openid": "o-chain-1"},
            {"device_id": "undefined", "member_id": "0", "openid": "null"},
            {"device_id": "undefined", "member_id": "0", "openid": "NULL"},
        ],
        "miniprogram_orders": [{"openid": "o-chain-1", "phone": "+86 138 1111 2222"}],
        "pos_orders": [
            {"phone": "138-1111-2222", "member_id": "VIPCHAIN1"},
            # a blocklisted phone (config/identity.yaml), typed in two formats
            {"phone": "13800000000", "member_id": "VIPBLOCK1"},
            {"phone": "138 0000 0000", "member_id": "VIPBLOCK2"},
            # a store's counter phone typed for three different member cards: a hub
            {"phone": "13755550000", "member_id": "VIPHUB1"},
            {"phone": "13755550000", "member_id": "VIPHUB2"},
            {"phone": "13755550000", "member_id": "VIPHUB3"},
            # junk that must link nothing
            {"phone": "0", "member_id": "VIPJUNK1"},
            {"phone": "0", "member_id": "VIPJUNK2"},
            {"phone": "13922220001", "member_id": "null"},
            {"phone": "13922220002", "member_id": "NULL"},
            {"phone": "13922220003", "member_id": "  0 "},
            {"phone": "13955550001"},  # K1
        ],
        "crm_members": [
            {"member_id": "VIPCHAIN1", "email": " Chain.Person@Example.COM "},
            {"member_id": "VIPHUB1", "phone": "13911110001"},
        ],
        "web_orders": [{"email": "null", "phone": "  "}, {"email": "NULL", "phone": "0"}],
    }


def _day2() -> dict[str, list[dict]]:
    return {"web_orders": [{"email": "k2.person@example.com"}]}


def _day3(with_email: bool) -> dict[str, list[dict]]:
    record = (
        dict(MERGING_CRM) if with_email else {k: MERGING_CRM[k] for k in ("member_id", "phone")}
    )
    return {"crm_members": [record]}


def _state(home) -> dict:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return {
            "current": dict(
                con.execute(
                    "select node, customer_id from identity_map where valid_to is null"
                ).fetchall()
            ),
            "history": sorted(
                con.execute(
                    "select node, customer_id, valid_from, valid_to from identity_map"
                ).fetchall(),
                key=str,
            ),
            "merges": con.execute(
                "select merged_on, absorbed_customer_id, surviving_customer_id, via_identifier,"
                " linked_identifier from identity_merges order by all"
            ).fetchall(),
            "aliases": con.execute(
                "select old_customer_id, customer_id, merged_on from identity_customer_aliases"
            ).fetchall(),
            "audit": con.execute(
                "select reason, id_type, node, detail, feed, records from identity_audit order by all"
            ).fetchall(),
        }
    finally:
        con.close()


def _identity_metadata(result) -> dict:
    for event in result.get_asset_materialization_events():
        if event.asset_key == AssetKey("identity_map"):
            return {k: v.value for k, v in event.materialization.metadata.items()}
    raise AssertionError("identity_map was not materialized")


def _run(first: date, last: date):
    result = run_range(first, last, PIPELINE_UP_TO_MARTS)
    assert result.success, failure_messages(result)
    return result


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    states, metadata = {}, {}
    with pytest.MonkeyPatch.context() as monkeypatch:
        home = make_home(tmp_path_factory.mktemp("identity_days"))
        keep_only_used_feeds(home.config_dir)
        write_day(home.landing, D1, _day1())
        write_day(home.landing, D2, _day2())
        write_day(home.landing, D3, _day3(with_email=True))
        _activate(home, monkeypatch)
        metadata["d1_d2"] = _identity_metadata(_run(D1, D2))
        states["d1_d2"] = _state(home)
        _run(D2, D2)
        states["d2_again"] = _state(home)
        metadata["d3"] = _identity_metadata(_run(D3, D3))
        states["d3"] = _state(home)
        write_day(home.landing, D3, _day3(with_email=False))  # re-delivered without the e-mail
        _run(D3, D3)
        states["d3_without_link"] = _state(home)

    with pytest.MonkeyPatch.context() as monkeypatch:
        backfill = make_home(tmp_path_factory.mktemp("identity_backfill"))
        keep_only_used_feeds(backfill.config_dir)
        for day, records in ((D1, _day1()), (D2, _day2()), (D3, _day3(with_email=True))):
            write_day(backfill.landing, day, records)
        _activate(backfill, monkeypatch)
        _run(D1, D3)
        states["backfill"] = _state(backfill)
    return states, metadata


def test_chain_of_five_identifiers_over_four_channels_is_one_customer(scenario):
    current = scenario[0]["d1_d2"]["current"]
    assert current.keys() >= CHAIN
    assert len({current[node] for node in CHAIN}) == 1
    # nobody else is in that customer
    chain_id = current["phone:13811112222"]
    assert {n for n, c in current.items() if c == chain_id} == CHAIN


def test_blocklisted_and_hub_phones_merge_nobody(scenario):
    state = scenario[0]["d1_d2"]
    current = state["current"]
    assert "phone:13800000000" not in current and "phone:13755550000" not in current
    cards = ["VIPBLOCK1", "VIPBLOCK2", "VIPHUB1", "VIPHUB2", "VIPHUB3"]
    assert len({current[f"member_id:{c}"] for c in cards}) == 5
    # the hub card with its own phone (from CRM) is still stitched to that phone
    assert current["member_id:VIPHUB1"] == current["phone:13911110001"]
    guarded = {(r[0], r[2]): r[3] for r in state["audit"] if r[0] in ("blocked", "hub")}
    assert set(guarded) == {("blocked", "phone:13800000000"), ("hub", "phone:13755550000")}
    assert guarded[("hub", "phone:13755550000")] == (
        "linked to 3 distinct member_id identifiers (limit 2)"
    )


def test_junk_values_link_nothing(scenario):
    state = scenario[0]["d1_d2"]
    current = state["current"]
    values = {node.split(":", 1)[1].strip().lower() for node in current}
    assert not values & {"", "0", "null", "undefined"}
    assert current["member_id:VIPJUNK1"] != current["member_id:VIPJUNK2"]
    phones = [current[f"phone:1392222000{i}"] for i in (1, 2, 3)]
    assert len(set(phones)) == 3
    unusable = {(r[1], r[4]): r[5] for r in state["audit"] if r[0] == "unusable_value"}
    assert unusable == {
        ("phone", "pos_orders"): 2,
        ("phone", "web_orders"): 1,  # "0"; the blank one is no value at all
        ("member_id", "pos_orders"): 3,
        ("email", "web_orders"): 2,
        ("device_id", "tracking_events"): 2,
        ("member_id", "tracking_events"): 2,
        ("openid", "tracking_events"): 2,
    }


def test_rerunning_a_day_changes_no_id(scenario):
    states = scenario[0]
    assert states["d2_again"]["current"] == states["d1_d2"]["current"]
    assert states["d2_again"]["history"] == states["d1_d2"]["history"]


def test_a_new_link_merges_two_customers_into_the_older_id(scenario):
    states, metadata = scenario
    before, after = states["d1_d2"]["current"], states["d3"]["current"]
    k1, k2 = before["phone:13955550001"], before["email:k2.person@example.com"]
    assert k1 != k2
    assert after["email:k2.person@example.com"] == after["phone:13955550001"] == k1
    assert after["member_id:VIPK"] == k1
    assert states["d3"]["merges"] == [
        (D3, k2, k1, "email:k2.person@example.com", "phone:13955550001")
    ]
    assert states["d3"]["aliases"] == [(k2, k1, D3)]
    # every other customer keeps its id
    assert {n: c for n, c in after.items() if c != k1} == {
        n: c for n, c in before.items() if c not in (k1, k2)
    }
    assert metadata["d3"]["merges_per_day"] == {D3.isoformat(): 1}
    assert metadata["d1_d2"]["merges_per_day"] == {}


def test_removing_the_only_link_splits_back_to_the_original_ids(scenario):
    states = scenario[0]
    before, split = states["d1_d2"]["current"], states["d3_without_link"]["current"]
    assert split["email:k2.person@example.com"] == before["email:k2.person@example.com"]
    assert split["phone:13955550001"] == before["phone:13955550001"]
    assert split["member_id:VIPK"] == before["phone:13955550001"]
    assert states["d3_without_link"]["merges"] == []
    assert states["d3_without_link"]["aliases"] == []


def test_one_backfill_gives_the_same_identities_as_day_by_day_runs(scenario):
    states = scenario[0]
    for key in ("current", "history", "merges", "aliases"):
        assert states["backfill"][key] == states["d3"][key], key


def test_identity_metrics_on_the_asset(scenario):
    states, metadata = scenario
    meta = metadata["d1_d2"]
    current = states["d1_d2"]["current"]
    assert meta["customers"] == len(set(current.values()))
    assert meta["identifiers"] == len(current)
    assert meta["blocked_identifiers"] == 1
    assert meta["hub_identifiers"] == 1
    assert meta["component_sizes"]["5"] == 1  # the chain
    assert meta["unusable_identifier_values"] == 14


@pytest.fixture(scope="module")
def oversized(tmp_path_factory):
    """Day 1 again, with max_component_size lowered below the chain's five identifiers."""
    import yaml

    with pytest.MonkeyPatch.context() as monkeypatch:
        home = make_home(tmp_path_factory.mktemp("identity_oversized"))
        keep_only_used_feeds(home.config_dir)
        path = home.config_dir / "identity.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        path.write_text(yaml.safe_dump({**config, "max_component_size": 4}), encoding="utf-8")
        write_day(home.landing, D1, _day1())
        _activate(home, monkeypatch)
        metadata = _identity_metadata(_run(D1, D1))
        return _state(home), metadata


def test_a_component_above_the_size_limit_is_left_unstitched_and_audited(oversized):
    state, metadata = oversized
    current = state["current"]
    assert len({current[node] for node in CHAIN}) == 5
    audited = {r[2]: r[3] for r in state["audit"] if r[0] == "component_too_large"}
    assert audited == dict.fromkeys(CHAIN, "component of 5 identifiers (limit 4): not stitched")
    assert metadata["unstitched_in_oversized_components"] == 5
    # smaller customers are still stitched
    assert current["member_id:VIPHUB1"] == current["phone:13911110001"]


def test_a_subset_up_to_identity_map_on_a_new_warehouse_reports_what_exists(tmp_path):
    """Materializing identity_map and what it needs, without identity_audit and identity_merges,
    on a warehouse where those tables were never built: the run succeeds and the metadata
    carries the figures that can be computed."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        home = make_home(tmp_path)
        keep_only_used_feeds(home.config_dir)
        write_day(home.landing, D1, _day1())
        _activate(home, monkeypatch)
        result = run_range(D1, D1, AssetSelection.assets("identity_map").upstream())
        assert result.success, failure_messages(result)
        metadata = _identity_metadata(result)
    con = duckdb.connect(str(home.warehouse), read_only=True)
    tables = {
        r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
    }
    customers = con.execute(
        "select count(distinct customer_id) from identity_map where valid_to is null"
    ).fetchone()[0]
    con.close()
    assert "identity_audit" not in tables and "identity_merges" not in tables
    assert customers > 5
    assert metadata["customers"] == customers
    assert metadata["component_sizes"]["5"] == 1  # the chain is still one customer
    assert "blocked_identifiers" not in metadata and "merges_in_window" not in metadata
