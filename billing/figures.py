"""What a tenant's month shows, UsageMetrics and CostBreakdown, for the command line and the Billing Service
alike, from a WarehouseReader: a closed month as the close stored it, any other from the ingested usage."""
from __future__ import annotations

from billing.breakdown import cost_breakdown
from billing.directory import Tenant, parse_period
from billing.invoices import Invoice
from billing.metering import usage_metrics
from billing.price_book import PriceBook
from billing.pricing import rate
from billing.warehouse_reader import WarehouseReader


def month_usage(reader: WarehouseReader, tenant: Tenant, month: str, price_book: PriceBook) -> dict:
    """UsageMetrics of a month; month to date for the open month."""
    parse_period(month)
    totals = reader.totals(month, tenant.tenant_id)
    open_month = reader.settings.today().strftime("%Y-%m")
    return usage_metrics(tenant, month, totals, price_book, month_to_date=month == open_month)


def month_breakdown(reader: WarehouseReader, tenant: Tenant, month: str, invoice: Invoice | None,
                    price_book: PriceBook) -> dict:
    """The invoice's CostBreakdown; before the month is invoiced, an estimate from usage so far."""
    parse_period(month)
    totals, rows = reader.usage(month, tenant.tenant_id)
    lines = invoice.lines if invoice else rate(tenant, month, totals, price_book).lines
    document = cost_breakdown(tenant, month, lines, rows, price_book)
    return {**document, "invoice_id": invoice.invoice_id if invoice else None, "estimate": invoice is None}
