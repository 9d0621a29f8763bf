"""All dbt models as one multi-asset; lineage joins the feed assets.

The models are not partitioned: each run rebuilds them for the run's window in a single dbt call
(one day at night, the whole range in a backfill), and `customer_features` keeps one row per
customer and day. Per-day status lives on the partitioned assets around them (feeds, tiers,
audiences); partitioning the dozen models too would add a dozen events per day to every backfill.
"""

import shutil
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Output,
)
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    dbt_assets,
)

from tierops.identity.config import load_identity_config
from tierops.identity.metrics import identity_metrics
from tierops.ingestion.lake import ensure_empty_tables
from tierops.ingestion.schema import ENTITIES
from tierops.lib.env import scoped_env
from tierops.partitions import window_from_run
from tierops.settings import Settings
from tierops.transform.project import DBT_PROJECT
from tierops.warehouse import WAREHOUSE_POOL, Warehouse

LAKE_SOURCE = "lake"
IDENTITY_MAP = AssetKey("identity_map")
IDENTITY_MAP_MODEL = "model.tierops.identity_map"


class TieropsTranslator(DagsterDbtTranslator):
    """Models keep their names; a model reading `lake.<table>` depends on every feed of that table."""

    def __init__(self, feeds_by_table: Mapping[str, Sequence[AssetKey]]):
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self._feeds_by_table = feeds_by_table

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: Any
    ) -> AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if not unique_id.startswith("model."):
            return spec
        node = manifest["nodes"][unique_id]
        deps: list[AssetDep] = []
        for dep in spec.deps:
            path = dep.asset_key.path
            if len(path) == 2 and path[0] == LAKE_SOURCE and path[1] in self._feeds_by_table:
                deps.extend(AssetDep(k) for k in self._feeds_by_table[path[1]])
            else:
                deps.append(dep)
        layer = node["fqn"][1] if len(node["fqn"]) > 2 else "warehouse"
        return spec.replace_attributes(deps=deps, group_name=layer)


def build_dbt_assets(
    settings: Settings, feeds_by_table: Mapping[str, Sequence[AssetKey]]
) -> AssetsDefinition:
    @dbt_assets(
        manifest=DBT_PROJECT.manifest_path,
        project=DBT_PROJECT,
        dagster_dbt_translator=TieropsTranslator(feeds_by_table),
        pool=WAREHOUSE_POOL,
        name="warehouse_models",
    )
    def warehouse_models(
        context: AssetExecutionContext, dbt: DbtCliResource, warehouse: Warehouse
    ) -> Iterator[Any]:
        start, end = window_from_run(context, settings)
        ensure_empty_tables(settings.lake_dir, list(ENTITIES.values()))
        env = {
            **settings.dbt_env(),
            "TIEROPS_WINDOW_START": start.isoformat(),
            "TIEROPS_WINDOW_END": end.isoformat(),
            "TIEROPS_IDENTITY_CONFIG": load_identity_config(settings.config_dir).to_env(),
        }
        context.log.info(f"dbt build for [{start}, {end}) on {settings.warehouse_path}")
        held: list[Any] = []
        failure: Exception | None = None
        with scoped_env(env):
            invocation = dbt.cli(["build"], context=context)
            try:
                for event in invocation.stream():
                    # identity_map's result (and, to keep the topological order, everything after
                    # it) waits for the identity metrics, read once dbt has let go of the file
                    if held or _asset_key_of(event) == IDENTITY_MAP:
                        held.append(event)
                    else:
                        yield event
            except Exception as exc:  # a failed model or test: report what succeeded, then fail
                failure = exc
        # each invocation gets its own target/<id> folder; keep the project folder from growing
        shutil.rmtree(invocation.target_path, ignore_errors=True)
        metrics: dict[str, Any] = {}
        if held and failure is None:
            with warehouse.connect(read_only=True) as conn:
                metrics = identity_metrics(conn, start, end)
        for event in held:
            if _asset_key_of(event) == IDENTITY_MAP and isinstance(event, Output):
                event = event.with_metadata({**event.metadata, **metrics})
            yield event
        if failure is not None:
            raise failure

    return warehouse_models


def _asset_key_of(event: Any) -> AssetKey | None:
    if isinstance(event, Output):
        unique_id = event.metadata.get("unique_id")
        unique_id = getattr(unique_id, "value", unique_id)
        return IDENTITY_MAP if unique_id == IDENTITY_MAP_MODEL else None
    return getattr(event, "asset_key", None)
