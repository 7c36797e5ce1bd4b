"""Ingestion: one partition per arrival day (the snapshot folder dt=YYYY-MM-DD)."""

from collections import Counter
from datetime import date, timedelta

import dagster as dg

from billing.ingest import DayResult, ingest_days, prepare_ingest
from billing.sql import query
from billing_jobs.partitions import daily_partitions
from resources import BillingStore

# Writers of the warehouse run one at a time: event dedup reads what the other days accepted.
WAREHOUSE_POOL = "warehouse"


class IngestConfig(dg.Config):
    # Skip days whose files and tenant directory are unchanged since they were last ingested.
    only_changed: bool = False


def _days(context: dg.AssetExecutionContext) -> list[date]:
    window = context.partition_time_window
    start, end = window.start.date(), window.end.date()
    return [start + timedelta(days=n) for n in range((end - start).days)]


def _summary_table(results: list[DayResult]) -> str:
    lines = ["| day | files | read | accepted | duplicates | quarantined | note |", "|---|---|---|---|---|---|---|"]
    lines += [
        f"| {r.day} | {r.files} | {r.rows_read} | {r.accepted} | {r.duplicates} | {r.quarantined} | {r.skipped or ''} |"
        for r in results
    ]
    return "\n".join(lines)


@dg.asset(
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=WAREHOUSE_POOL,
    group_name="metering",
    kinds={"duckdb", "parquet"},
)
def usage_events(context: dg.AssetExecutionContext, config: IngestConfig, billing: BillingStore) -> dg.MaterializeResult:
    """Usage events of the arrival days in the partition range, validated and deduplicated.

    Each day's folder is read whole (Parquet, CSV and JSON Lines), every row classified as accepted,
    duplicate (same event_id and content seen before, on any day) or quarantined with its reason,
    and the day's partition replaced atomically (consecutive days in batches, replaced together).
    A day without a folder is left as it was.
    """
    snapshots = billing.snapshots()
    strays = snapshots.strays()  # what is under the root but not in a day folder: never read, so said
    for stray in strays:
        context.log.warning(stray)
    warehouse = billing.warehouse()
    tenant_ids = [tenant.tenant_id for tenant in billing.ledger().tenants()]
    con = warehouse.connect()
    prepare_ingest(con, snapshots, tenant_ids)

    def log(result: DayResult) -> None:
        context.log.info(f"{result.day}: read {result.rows_read}, accepted {result.accepted}, duplicates "
                         f"{result.duplicates}, quarantined {result.quarantined} {result.skipped or ''}")

    results = ingest_days(con, warehouse, snapshots, _days(context), tenant_ids, force=not config.only_changed,
                          progress=log)
    reasons = Counter()
    for result in results:
        reasons.update(result.quarantine_reasons)
    ingested = [r for r in results if r.skipped is None]
    return dg.MaterializeResult(metadata={
        "days_ingested": len(ingested),
        # A day without a folder is not an unchanged one: a range of 59 days with 34 folders says so.
        "days_without_folder": sum(r.skipped == "no folder" for r in results),
        "days_unchanged": sum(r.skipped == "unchanged" for r in results),
        "rows_read": sum(r.rows_read for r in ingested),
        "accepted": sum(r.accepted for r in ingested),
        "duplicates": sum(r.duplicates for r in ingested),
        "quarantined": sum(r.quarantined for r in ingested),
        **{f"quarantined: {reason}": count for reason, count in sorted(reasons.items())},
        "days": dg.MetadataValue.md(_summary_table(results)),
        "warnings": dg.MetadataValue.json(strays),
    })


@dg.asset_check(asset=usage_events, description="Rows of the ingested days that were quarantined (warns, does not block).")
def quarantine_is_empty(context: dg.AssetCheckExecutionContext, billing: BillingStore) -> dg.AssetCheckResult:
    # The days of this run, not the whole warehouse: an old quarantined row would fail every later ingestion.
    tags = context.run.tags
    first = tags.get("dagster/partition") or tags["dagster/asset_partition_range_start"]
    last = tags.get("dagster/partition") or tags["dagster/asset_partition_range_end"]
    con = billing.warehouse().connect()
    count = con.execute(query("warehouse/quarantine_count"),
                        {"first_day": date.fromisoformat(first), "last_day": date.fromisoformat(last)}).fetchall()[0][0]
    return dg.AssetCheckResult(passed=count == 0, severity=dg.AssetCheckSeverity.WARN,
                               metadata={"quarantined_rows": count, "days": f"{first} to {last}"})
