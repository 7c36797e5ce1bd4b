"""Cost breakdowns: each invoice's subtotal allocated to services and users (contract section 4)."""
from decimal import Decimal

import dagster as dg

from assets.invoice import invoices
from billing.aggregate import read_monthly_usage, usage_rows
from billing.breakdown import cost_breakdown
from billing.reports import read_report, write_report
from billing_jobs.partitions import monthly_partitions
from resources import BillingStore


def breakdowns_of(billing: BillingStore, period: str) -> list[dict]:
    warehouse = billing.warehouse()
    con = warehouse.connect()
    read_monthly_usage(con, warehouse, period)
    rows = usage_rows(con)
    tenants = {tenant.tenant_id: tenant for tenant in billing.ledger().tenants()}
    price_book = billing.price_book()
    return [cost_breakdown(tenants[i.tenant_id], period, i.lines, rows.get(i.tenant_id, []), price_book)
            for i in billing.invoice_book().of_period(period)]


@dg.asset(partitions_def=monthly_partitions, deps=[invoices], group_name="invoicing", kinds={"json"})
def cost_breakdowns(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """CostBreakdown of every invoice of the month: by service (six figures) and by user, each adding up
    to the invoice subtotal to the cent (largest remainder; rule in docs/cost-allocation.md)."""
    period = context.partition_key
    documents = breakdowns_of(billing, period)
    path = write_report(billing.settings().reports_dir, period, "cost_breakdowns", documents)
    by_service: dict[str, Decimal] = {}
    for document in documents:
        for service, figures in document["by_service"].items():
            by_service[service] = by_service.get(service, Decimal(0)) + sum(figures.values(), Decimal(0))
    return dg.MaterializeResult(metadata={
        "tenants": len(documents),
        **{f"{service} usd": float(amount) for service, amount in sorted(by_service.items())},
        "path": dg.MetadataValue.path(str(path)),
    })


@dg.asset_check(asset=cost_breakdowns, blocking=True,
                description="Each invoice has a breakdown in the written report, and its total, services and "
                            "users add up to the invoice's subtotal.")
def breakdowns_match_invoices(context: dg.AssetCheckExecutionContext, billing: BillingStore) -> dg.AssetCheckResult:
    period = context.run.tags["dagster/partition"]
    subtotals = {i.tenant_id: i.subtotal for i in billing.invoice_book().of_period(period)}
    documents = {d["tenant_id"]: d for d in read_report(billing.settings().reports_dir, period, "cost_breakdowns")}
    wrong = subtotals.keys() ^ documents.keys()  # an invoice without a breakdown, or the other way round
    for tenant_id, document in documents.items():
        services = sum((v for figures in document["by_service"].values() for v in figures.values()), Decimal(0))
        users = sum((entry["cost_usd"] for entry in document["by_user"]), Decimal(0))
        if not document["total_usd"] == services == users == subtotals.get(tenant_id):
            wrong.add(tenant_id)
    return dg.AssetCheckResult(passed=not wrong, metadata={"mismatched_tenants": ", ".join(sorted(wrong))})
