"""Invoices of a month: rated into the ledger, checked, then rendered to PDF and stored."""
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from decimal import Decimal

import dagster as dg

from assets.aggregate import monthly_usage
from billing.aggregate import monthly_totals, read_monthly_usage
from billing.collection import collection
from billing.directory import Tenant
from billing.invoices import ADJUSTMENT, Invoice
from billing.object_store import pdf_key
from billing.pdf import UsageSummary, render_invoice, usage_summary
from billing.pricing import rate
from billing.settings import Seller
from billing.text import markdown_text
from billing_jobs.partitions import monthly_partitions
from resources import BillingStore

PDF_WORKERS = 2  # one per core of the reference machine


@dg.asset(partitions_def=monthly_partitions, deps=[monthly_usage], group_name="invoicing", kinds={"sql"})
def invoices(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """One invoice per tenant for the month, rated from monthly usage with the price book.

    A draft is recomputed on every run; a final invoice is never rewritten, and a different amount
    found later becomes an adjustment carried to the tenant's next invoice.
    """
    period = context.partition_key
    totals = _monthly_totals(billing, period)
    book, price_book = billing.invoice_book(), billing.price_book()
    outcomes = book.record_all([(tenant, rate(tenant, period, totals.get(tenant.tenant_id, {}), price_book))
                                for tenant in billing.ledger().tenants()], billing.settings().now())
    issued = book.of_period(period)
    actions: dict[str, int] = {}
    for outcome in outcomes:
        actions[outcome.action] = actions.get(outcome.action, 0) + 1
    adjusted = [o for o in outcomes if o.action == "adjusted"]
    for outcome in adjusted:
        context.log.warning(f"final invoice {outcome.invoice_id} differs by {outcome.difference}: adjustment recorded")
    return dg.MaterializeResult(metadata={
        "invoices": len(issued),
        **{f"invoices {action}": count for action, count in sorted(actions.items())},
        "total_billed_usd": float(sum((i.total for i in issued), Decimal(0))),
        "adjustments": dg.MetadataValue.md("\n".join(
            f"- {o.invoice_id}: {o.difference:+}" for o in adjusted) or "none"),
        **_collection_metadata(billing, period, issued),
        "preview": dg.MetadataValue.md(_preview(issued)),
    })


def _monthly_totals(billing: BillingStore, period: str) -> dict[str, dict[str, Decimal]]:
    warehouse = billing.warehouse()
    con = warehouse.connect()
    read_monthly_usage(con, warehouse, period)
    return monthly_totals(con)


def _collection_metadata(billing: BillingStore, period: str, issued: list[Invoice]) -> dict:
    metadata = collection(billing.ledger(), period, issued).metadata()
    metadata["failed payments"] = dg.MetadataValue.md(metadata["failed payments"])
    return metadata


def _preview(issued: list[Invoice], limit: int = 20) -> str:
    rows = ["| invoice | tenant | state | subtotal | tax | total | due |", "|---|---|---|---|---|---|---|"]
    rows += [f"| {i.invoice_number} | {markdown_text(i.tenant_id)} | {i.state} | {i.subtotal} | {i.tax} | {i.total} | {i.due_date} |"
             for i in sorted(issued, key=lambda i: -i.total)[:limit]]
    return "\n".join(rows)


@dg.asset_check(asset=invoices, blocking=True, description="Every tenant in the directory has exactly one invoice for the month.")
def one_invoice_per_tenant(context: dg.AssetCheckExecutionContext, billing: BillingStore) -> dg.AssetCheckResult:
    period = context.run.tags["dagster/partition"]
    tenants = {tenant.tenant_id for tenant in billing.ledger().tenants()}
    invoiced = Counter(invoice.tenant_id for invoice in billing.invoice_book().of_period(period))
    missing, doubled = tenants - invoiced.keys(), {t for t, count in invoiced.items() if count > 1}
    return dg.AssetCheckResult(passed=not missing and not doubled,
                               metadata={"missing": ", ".join(sorted(missing)), "doubled": ", ".join(sorted(doubled))})


@dg.asset_check(asset=invoices, blocking=True, description="No invoice line is negative (adjustment credits aside).")
def no_negative_line(context: dg.AssetCheckExecutionContext, billing: BillingStore) -> dg.AssetCheckResult:
    period = context.run.tags["dagster/partition"]
    negative = [f"{i.invoice_number}: {line.description}" for i in billing.invoice_book().of_period(period)
                for line in i.lines if line.amount < 0 and line.metric != ADJUSTMENT]
    return dg.AssetCheckResult(passed=not negative, metadata={"negative_lines": "\n".join(negative)})


def _render(job: tuple[Invoice, Tenant, UsageSummary, Seller]) -> bytes:
    return render_invoice(*job)


@dg.asset(partitions_def=monthly_partitions, deps=[invoices, "cost_breakdowns"], group_name="invoicing",
          kinds={"pdf", "s3"})
def invoice_pdfs(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """The month's invoices as PDFs (Jinja2 + WeasyPrint, rendered in parallel) in the object store.

    A final invoice that already has its final PDF keeps it: an issued document is never replaced (a draft's
    PDF, under a name of its own, is replaced by every close and by the final one). Its usage
    summary is the month's usage as rated in this close, next to the overage the invoice bills.
    """
    period = context.partition_key
    book, store = billing.invoice_book(), billing.object_store()
    tenants = {tenant.tenant_id: tenant for tenant in billing.ledger().tenants()}
    todo = [i for i in book.of_period(period) if i.state == "draft" or i.pdf_key != pdf_key(period, i.invoice_id)]
    totals, price_book, seller = _monthly_totals(billing, period), billing.price_book(), billing.settings().seller
    jobs = [(i, tenants[i.tenant_id], usage_summary(i, tenants[i.tenant_id], totals.get(i.tenant_id, {}), price_book),
             seller) for i in todo]
    unrecorded: dict[str, str] = {}
    with ProcessPoolExecutor(PDF_WORKERS) as pool:
        for invoice, pdf in zip(todo, pool.map(_render, jobs, chunksize=8)):
            key = pdf_key(period, invoice.invoice_id, draft=invoice.state == "draft")
            store.put(key, pdf, "application/pdf")
            unrecorded[invoice.invoice_id] = key
            if len(unrecorded) == 500:  # a crash loses at most these links; the next run renders them again
                book.set_pdfs(unrecorded)
                unrecorded.clear()
    book.set_pdfs(unrecorded)
    issued = book.of_period(period)
    return dg.MaterializeResult(metadata={"rendered": len(todo), "kept": len(issued) - len(todo),
                                          "store": billing.settings().object_store,
                                          "pdfs": dg.MetadataValue.md(_pdf_links(store, issued))})


def _pdf_links(store, issued: list[Invoice], limit: int = 5) -> str:
    """Links to a few PDFs, the largest invoices first (an S3 link is presigned, valid BILLING_PRESIGN_SECONDS)."""
    largest = sorted((i for i in issued if i.pdf_key), key=lambda i: -i.total)[:limit]
    links = [f"- [{i.invoice_number}]({store.url(i.pdf_key)}) {i.tenant_id}, {i.total} {i.currency}" for i in largest]
    more = len([i for i in issued if i.pdf_key]) - len(largest)
    return "\n".join(links + ([f"- and {more} more: `billing invoices --tenant ID`"] if more > 0 else [])) or "none"


@dg.asset_check(asset="invoice_payments", description="The month's collection after charging: invoices by status, "
                "collected, tax, and the payments that failed (warns when one did).")
def payments_collected(context: dg.AssetCheckExecutionContext, billing: BillingStore) -> dg.AssetCheckResult:
    period = context.run.tags["dagster/partition"]
    metadata = _collection_metadata(billing, period, billing.invoice_book().of_period(period))
    return dg.AssetCheckResult(passed=metadata["payments failed"] == 0, severity=dg.AssetCheckSeverity.WARN,
                               metadata=metadata)
