"""The Dagster code location loads and wires the graph the README describes."""

from __future__ import annotations

from dagster import AssetKey

from tests.helpers import definitions

FEEDS = {
    "web_orders",
    "miniprogram_orders",
    "pos_orders",
    "marketplace_orders",
    "tracking_events",
    "crm_members",
}


def test_definitions_load_with_every_layer(pipeline_home):
    defs = definitions()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    assert keys >= FEEDS
    assert {
        "stg_lake__order_lines",
        "identity_map",
        "customer_features",
        "tier_assignments",
        "audience_files",
    } <= keys


def test_feed_lineage_joins_dbt_sources(pipeline_home):
    graph = definitions().resolve_asset_graph()
    parents = {k.to_user_string() for k in graph.get(AssetKey("stg_lake__order_lines")).parent_keys}
    assert parents == {"web_orders", "miniprogram_orders", "pos_orders", "marketplace_orders"}
    events = {k.to_user_string() for k in graph.get(AssetKey("stg_lake__events")).parent_keys}
    assert events == {"tracking_events"}
    tiers = {k.to_user_string() for k in graph.get(AssetKey("tier_assignments")).parent_keys}
    assert tiers == {"customer_features"}


def test_nightly_job_and_schedule(pipeline_home):
    defs = definitions()
    job = defs.resolve_job_def("tierops_nightly")
    assert job.partitions_def is not None
    assert job.executor_def.name == "in_process"
    schedule = defs.resolve_schedule_def("tierops_nightly_schedule")
    assert schedule.cron_schedule == "30 2 * * *"
    assert schedule.execution_timezone == "Asia/Shanghai"


def test_every_warehouse_step_is_in_the_duckdb_pool(pipeline_home):
    defs = definitions()
    pools = {}
    for assets_def in defs.assets:
        for key in assets_def.keys:
            pools[key.to_user_string()] = (
                assets_def.node_def.pool if hasattr(assets_def, "node_def") else None
            )
    for name in (
        "tier_assignments",
        "audience_files",
        "customer_features",
        "identity_map",
        "tier_kpis",
        "run_report",
        "segment_memberships",
        "contact_ledger",
        "crm_membership",
    ):
        assert pools[name] == "duckdb", name
    assert pools["web_orders"] is None  # ingestion writes Parquet, never the warehouse


def test_export_assets_are_partitioned_like_tiers_and_ordered(pipeline_home):
    graph = definitions().resolve_asset_graph()
    tiers = graph.get(AssetKey("tier_assignments"))
    for name in ("segment_memberships", "contact_ledger", "crm_membership", "audience_files"):
        node = graph.get(AssetKey(name))
        assert node.group_name == "exports", name
        assert node.partitions_def == tiers.partitions_def, name
    parents = {k.to_user_string() for k in graph.get(AssetKey("contact_ledger")).parent_keys}
    assert {"tier_assignments", "segment_memberships", "customer_features"} <= parents
    files = {k.to_user_string() for k in graph.get(AssetKey("audience_files")).parent_keys}
    assert {"contact_ledger", "crm_membership", "segment_memberships"} <= files
