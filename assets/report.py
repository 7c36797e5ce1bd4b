"""Reports of a closed month for tenants' Billing pages and finance."""

import dagster as dg

from assets.aggregate import monthly_usage
from assets.ingest import usage_events
from billing.aggregate import monthly_totals, read_monthly_usage
from billing.directory import month_days
from billing.metering import usage_metrics as build_usage_metrics
from billing.reports import write_report
from billing.sql import query
from billing_jobs.partitions import monthly_partitions
from resources import BillingStore


@dg.asset(partitions_def=monthly_partitions, deps=[monthly_usage], group_name="reports", kinds={"json"})
def usage_metrics(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """UsageMetrics of every tenant for the month (contract section 4): used, limit and percentage per metric,
    against the limits of the plan in effect on the month's last day."""
    period = context.partition_key
    warehouse = billing.warehouse()
    con = warehouse.connect()
    read_monthly_usage(con, warehouse, period)
    totals = monthly_totals(con)
    price_book = billing.price_book()
    documents = [
        build_usage_metrics(tenant, period, totals.get(tenant.tenant_id, {}), price_book)
        for tenant in billing.ledger().tenants()
    ]
    path = write_report(billing.settings().reports_dir, period, "usage_metrics", documents)
    over = [d["tenant_id"] for d in documents if any((d[f]["percentage"] or 0) > 100 for f in ("llm_tokens", "queries", "storage_gb", "api_requests"))]
    return dg.MaterializeResult(metadata={
        "tenants": len(documents),
        "tenants_over_a_limit": len(over),
        "path": dg.MetadataValue.path(str(path)),
    })


@dg.asset(partitions_def=monthly_partitions, deps=[usage_events], group_name="reports", kinds={"json"})
def quarantine_report(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """Rows quarantined from the month's snapshot folders, with their reason: never billed, never lost."""
    days = month_days(context.partition_key)
    relation = billing.warehouse().connect().execute(
        query("warehouse/quarantine_of_month"), {"first_day": days[0], "last_day": days[-1]})
    columns = [column[0] for column in relation.description]
    rows = [dict(zip(columns, row)) for row in relation.fetchall()]
    by_reason: dict[str, int] = {}
    for row in rows:
        by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + 1
    path = write_report(billing.settings().reports_dir, context.partition_key, "quarantine",
                        {"period": context.partition_key, "rows": len(rows), "by_reason": by_reason, "quarantined": rows})
    return dg.MaterializeResult(metadata={"rows": len(rows), **{f"reason: {k}": v for k, v in sorted(by_reason.items())},
                                          "path": dg.MetadataValue.path(str(path))})
