"""Monthly aggregation of accepted usage events, one partition per month."""

import dagster as dg

from assets.ingest import WAREHOUSE_POOL, usage_events
from billing.aggregate import (compute_monthly_usage, compute_storage_peaks, monthly_totals, read_daily_usage,
                               write_daily_usage)
from billing.directory import month_days
from billing.sql import query
from billing.text import markdown_text
from billing_jobs.partitions import monthly_partitions
from resources import BillingStore


@dg.asset(
    partitions_def=monthly_partitions,
    deps=[usage_events],
    pool=WAREHOUSE_POOL,
    group_name="metering",
    kinds={"duckdb", "parquet"},
)
def daily_usage(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """Daily usage of the month by tenant, service, metric, workload and user, and each tenant's daily storage peak.

    Events count for the day and month of their `occurred_at` in UTC, whichever day's folder they arrived in.
    """
    period = context.partition_key
    warehouse = billing.warehouse()
    con = warehouse.connect()
    write_daily_usage(con, warehouse, period)
    compute_storage_peaks(con)
    warehouse.write_partition(con, "storage_peaks", period, {"rows": con.table("month_storage_peaks")})
    return dg.MaterializeResult(metadata={
        "rows": len(con.table("month_daily_usage")),
        "storage_peaks": dg.MetadataValue.md(_markdown(con, "month_storage_peaks")),
    })


@dg.asset(partitions_def=monthly_partitions, deps=[daily_usage], pool=WAREHOUSE_POOL, group_name="metering",
          kinds={"duckdb", "parquet"})
def monthly_usage(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """The month's usage: counters summed, storage as the largest daily peak; the quantities that are billed."""
    period = context.partition_key
    warehouse = billing.warehouse()
    con = warehouse.connect()
    read_daily_usage(con, warehouse, period)
    compute_monthly_usage(con)
    warehouse.write_partition(con, "monthly_usage", period, {"rows": con.table("month_usage")})
    totals = monthly_totals(con)
    by_metric: dict = {}
    for metrics in totals.values():
        for metric, quantity in metrics.items():
            by_metric[metric] = by_metric.get(metric, 0) + quantity
    return dg.MaterializeResult(metadata={
        "tenants": len(totals),
        **{f"total {metric}": float(quantity) for metric, quantity in sorted(by_metric.items())},
        "preview": dg.MetadataValue.md(_markdown(con, "month_usage")),
    })


@dg.asset_check(asset=monthly_usage, blocking=True,
                description="The month's aggregate counts every billed event of the month, once.")
def monthly_usage_reconciles(context: dg.AssetCheckExecutionContext, billing: BillingStore) -> dg.AssetCheckResult:
    period = context.run.tags.get("dagster/partition")
    days = month_days(period)
    warehouse = billing.warehouse()
    con = warehouse.connect()
    [(events, summed)] = con.execute(query("warehouse/month_event_totals"),
                                     {"first_day": days[0], "last_day": days[-1]}).fetchall()
    read_daily_usage(con, warehouse, period)
    [(aggregated,)] = con.execute(query("warehouse/month_counter_totals")).fetchall()
    return dg.AssetCheckResult(
        passed=events == summed == aggregated,
        metadata={"billed_events": events, "events_in_arrival_sums": int(summed), "events_in_aggregate": int(aggregated)},
    )


def _markdown(con, table: str, limit: int = 20) -> str:
    relation = con.table(table).limit(limit)
    header = "| " + " | ".join(relation.columns) + " |"
    rule = "|" + "---|" * len(relation.columns)
    # Ids come from snapshot files: every cell is shown literally, never as a link, HTML or a broken table.
    rows = ["| " + " | ".join("" if v is None else markdown_text(v) for v in row) + " |" for row in relation.fetchall()]
    return "\n".join([header, rule, *rows])
