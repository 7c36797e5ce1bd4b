"""What a tenant's month shows, UsageMetrics and CostBreakdown, for the command line and the Billing Service
alike. Reads the warehouse through its views: never its write lock."""
from __future__ import annotations

from billing.aggregate import compute_daily_usage, compute_monthly_usage, live_monthly_totals, monthly_totals, usage_rows
from billing.breakdown import cost_breakdown
from billing.directory import Tenant, parse_period
from billing.invoices import Invoice
from billing.metering import usage_metrics
from billing.price_book import PriceBook
from billing.pricing import rate
from billing.settings import Settings
from billing.warehouse import Warehouse


def month_usage(settings: Settings, tenant: Tenant, month: str, price_book: PriceBook) -> dict:
    """UsageMetrics of a month; month to date for the open month."""
    parse_period(month)
    con = Warehouse(settings.warehouse_dir).connect()
    totals = live_monthly_totals(con, month, tenant.tenant_id).get(tenant.tenant_id, {})
    return usage_metrics(tenant, month, totals, price_book, month_to_date=month == settings.today().strftime("%Y-%m"))


def month_breakdown(settings: Settings, tenant: Tenant, month: str, invoice: Invoice | None,
                    price_book: PriceBook) -> dict:
    """The invoice's CostBreakdown; before the month is invoiced, an estimate from usage so far."""
    parse_period(month)
    con = Warehouse(settings.warehouse_dir).connect()
    compute_daily_usage(con, month, tenant.tenant_id)
    compute_monthly_usage(con)
    totals = monthly_totals(con).get(tenant.tenant_id, {})
    lines = invoice.lines if invoice else rate(tenant, month, totals, price_book).lines
    document = cost_breakdown(tenant, month, lines, usage_rows(con).get(tenant.tenant_id, []), price_book)
    return {**document, "invoice_id": invoice.invoice_id if invoice else None, "estimate": invoice is None}
