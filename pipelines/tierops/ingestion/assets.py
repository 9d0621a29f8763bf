"""One daily-partitioned asset per feed mapping: landing files → lake Parquet + quarantine."""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    PartitionsDefinition,
    asset,
)

from tierops.ingestion.ingest import ingest_days
from tierops.ingestion.lake import ensure_empty_tables
from tierops.ingestion.mapping import FeedMapping
from tierops.ingestion.schema import ENTITIES
from tierops.partitions import days_in, run_window
from tierops.settings import Settings

QUALITY_CHECK = "quarantine_share"


def feed_asset_key(mapping: FeedMapping) -> AssetKey:
    return AssetKey([mapping.feed])


def build_feed_asset(
    mapping: FeedMapping, settings: Settings, partitions: PartitionsDefinition
) -> AssetsDefinition:
    key = feed_asset_key(mapping)
    limit = mapping.quality.max_quarantine_share
    source = mapping.source.path or f"sql via ${mapping.source.url_env}"

    @asset(
        key=key,
        group_name="ingestion",
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        kinds={"parquet", "pandas"},
        description=f"{mapping.title or mapping.feed}: {source} → lake/{mapping.entity}",
        metadata={
            "mapping": MetadataValue.path(
                str(settings.config_dir / "channels" / f"{mapping.feed}.yaml")
            ),
            "entity": mapping.entity,
            "channel": mapping.channel,
            "source": source,
        },
        check_specs=[
            AssetCheckSpec(
                QUALITY_CHECK,
                asset=key,
                description=f"Great Expectations suite '{mapping.entity}': at most {limit:.1%} of rows quarantined",
            )
        ],
    )
    def _ingest(context: AssetExecutionContext) -> MaterializeResult:
        start, end = run_window(context)
        report = ingest_days(
            mapping,
            settings.landing_dir,
            settings.lake_dir,
            days_in(start, end),
            settings.tz,
            log=context.log.info,
        )
        # tables no feed delivers (e.g. subscriptions in retail) still need a schema for dbt
        ensure_empty_tables(settings.lake_dir, list(ENTITIES.values()))
        reasons = dict(report.reasons.most_common())
        severity = (
            AssetCheckSeverity.ERROR
            if mapping.quality.severity == "error"
            else AssetCheckSeverity.WARN
        )
        return MaterializeResult(
            metadata={
                "days": report.days,
                "rows_read": report.rows_read,
                "rows_kept": report.rows_kept,
                "rows_quarantined": report.rows_quarantined,
                "quarantine_reasons": MetadataValue.json(reasons),
                "lake_folder": MetadataValue.path(
                    str(settings.lake_dir / mapping.entity / f"feed={mapping.feed}")
                ),
            },
            check_results=[
                AssetCheckResult(
                    check_name=QUALITY_CHECK,
                    passed=report.quarantine_share <= limit,
                    severity=severity,
                    metadata={
                        "quarantine_share": MetadataValue.float(round(report.quarantine_share, 6)),
                        "limit": MetadataValue.float(limit),
                        "rows_quarantined": report.rows_quarantined,
                        "reasons": MetadataValue.json(reasons),
                        "days_with_quarantine": MetadataValue.json(report.quarantined_by_day),
                    },
                )
            ],
        )

    return _ingest
