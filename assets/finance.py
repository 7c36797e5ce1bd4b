"""The finance close pack (contract section 7): CSV reports, reconciled by blocking checks, then one workbook
and one summary PDF. Written to $BILLING_HOME/reports/YYYY-MM/ and to the object store under reports/YYYY-MM/."""
from datetime import datetime, time
from decimal import Decimal

import dagster as dg
from stripe import StripeError

from assets.pay import invoice_payments
from assets.report import quarantine_report
from billing.close_pack import front_lines, summary_pdf, workbook_bytes
from billing.directory import month_days
from billing.finance import (AR_AGING, COLLECTIONS, REGISTER, REVENUE, TEMPLATES, FinanceBook, Report, aging_by_bucket,
                             aging_disagreements, build_changes, build_quarantine, build_revenue_summary, close_totals,
                             collections_disagreements, read_report, register_disagreements, revenue_disagreements,
                             stripe_disagreements, stripe_payment_intents)
from billing.invoices import issue_date
from billing.object_store import FolderStore
from billing.reports import read_report as read_json_report
from billing.sql import query
from billing_jobs.partitions import monthly_partitions
from resources import BillingStore, StripeResource

PREVIEW_ROWS = 10


_RUN_BOOKS: dict[tuple[str, str], FinanceBook] = {}  # the current run's, by (run id, ledger)


def _finance(context, billing: BillingStore) -> FinanceBook:
    """The run's FinanceBook, which reads each thing once (billing/finance.py): the month's invoices with their
    lines, the tenants, the payments are read by the first step that needs them, and the reports and checks of
    the run after it all use that read. The finance steps follow invoice_payments, the last step of a close that
    writes invoices or payments. A check run alone, a later run, or a step in a process of its own reads afresh.
    Only the latest run's book is kept."""
    key = (context.run.run_id, str(billing.settings().ledger_url))
    book = _RUN_BOOKS.get(key)
    if book is None:
        _RUN_BOOKS.clear()
        book = _RUN_BOOKS[key] = FinanceBook(billing.invoice_book(), remember=True)
    return book


def publish(billing: BillingStore, period: str, name: str, data: bytes, content_type: str) -> str:
    """One file of the pack, in the reports folder and in the object store (the same bytes); its local path."""
    settings = billing.settings()
    FolderStore(str(settings.reports_dir)).put(f"{period}/{name}", data, content_type)
    billing.object_store().put(f"reports/{period}/{name}", data, content_type)
    return str(settings.reports_dir / period / name)


def _preview(report: Report) -> str:
    names = [name for name, _ in report.columns]
    lines = ["| " + " | ".join(names) + " |", "|" + "---|" * len(names)]
    lines += ["| " + " | ".join("" if row[n] is None else str(row[n]) for n in names) + " |"
              for row in report.rows[:PREVIEW_ROWS]]
    return "\n".join(lines) + (f"\n\n… {len(report.rows) - PREVIEW_ROWS} more rows" if len(report.rows) > PREVIEW_ROWS else "")


def _result(billing: BillingStore, period: str, report: Report, **extra) -> dg.MaterializeResult:
    path = publish(billing, period, report.file_name, report.csv_bytes(), "text/csv")
    return dg.MaterializeResult(metadata={**_money_metadata(report.totals()), **extra, "path": dg.MetadataValue.path(path),
                                          "preview": dg.MetadataValue.md(_preview(report))})


def written(billing: BillingStore, period: str, template: Report) -> Report:
    """A report as written in the reports folder, read back typed: what finance reads is what is checked."""
    return read_report(template, (billing.settings().reports_dir / period / template.file_name).read_bytes())


def _period(context: dg.AssetCheckExecutionContext) -> str:
    return context.run.tags["dagster/partition"]


def _check(problems: list[str], **extra) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=not problems, metadata={"disagreements": len(problems),
                                                              "first": "\n".join(problems[:20]), **extra})


FINANCE = dict(partitions_def=monthly_partitions, group_name="finance")


@dg.asset(**FINANCE, deps=[invoice_payments], kinds={"csv"})
def invoice_register(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """invoice_register.csv: every invoice of the month with its tenant, plan, amounts, what was paid and status."""
    period = context.partition_key
    finance = _finance(context, billing)
    return _result(billing, period, finance.register(period, finance.tenants()))


@dg.asset_check(asset=invoice_register, blocking=True,
                description="The register adds up to the ledger's invoices of the month, invoice by invoice.")
def register_matches_ledger(context: dg.AssetCheckExecutionContext, billing: BillingStore) -> dg.AssetCheckResult:
    period = _period(context)
    return _check(register_disagreements(written(billing, period, REGISTER), _finance(context, billing).invoices(period)))


@dg.asset(**FINANCE, deps=[invoice_register], kinds={"csv"})
def revenue_summary(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """revenue_summary.csv: the month's invoice lines by plan and metric (base, overages, adjustments)."""
    period = context.partition_key
    invoices = _finance(context, billing).invoices(period)
    return _result(billing, period, build_revenue_summary(invoices, written(billing, period, REGISTER)))


@dg.asset_check(asset=revenue_summary, blocking=True,
                description="The revenue summary adds up to the register's subtotals, plan by plan.")
def revenue_adds_up_to_register(context: dg.AssetCheckExecutionContext, billing: BillingStore) -> dg.AssetCheckResult:
    period = _period(context)
    return _check(revenue_disagreements(written(billing, period, REVENUE), written(billing, period, REGISTER)))


@dg.asset(**FINANCE, deps=[invoice_payments], kinds={"csv"})
def ar_aging(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """ar_aging.csv: unpaid invoices of this and earlier months, aged as of the month's issue date."""
    period = context.partition_key
    as_of = issue_date(period)
    finance = _finance(context, billing)
    aging = finance.ar_aging(as_of, finance.tenants())
    buckets = {f"bucket {b}": dg.MetadataValue.text(str(v)) for b, v in aging_by_bucket(aging).items()}
    return _result(billing, period, aging, as_of=as_of.isoformat(), **buckets)


@dg.asset_check(asset=ar_aging, blocking=True,
                description="AR aging adds up to every open balance in the ledger, each in its bucket.")
def aging_adds_up_to_open_balances(context: dg.AssetCheckExecutionContext, billing: BillingStore) -> dg.AssetCheckResult:
    period = _period(context)
    return _check(aging_disagreements(written(billing, period, AR_AGING),
                                      _finance(context, billing).open_balances(issue_date(period))))


@dg.asset(**FINANCE, deps=[invoice_payments], kinds={"csv"})
def collections(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """collections.csv: every payment attempt (with Stripe's PaymentIntent id) and received transfer of the
    month's invoices."""
    period = context.partition_key
    report = _finance(context, billing).collections(period)
    collected = report.sum("amount", lambda row: row["status"] in ("succeeded", "received"))
    return _result(billing, period, report, collected=dg.MetadataValue.text(str(collected)))


@dg.asset_check(asset=collections, blocking=True,
                description="Collections agree with the payments recorded and, when a Stripe key is configured, with "
                            "Stripe's PaymentIntents; every paid invoice was collected in full.")
def collections_match_payments(context: dg.AssetCheckExecutionContext, billing: BillingStore,
                               stripe: StripeResource) -> dg.AssetCheckResult:
    period = _period(context)
    finance = _finance(context, billing)
    listed, invoices = written(billing, period, COLLECTIONS), finance.invoices(period)
    problems = collections_disagreements(listed, finance.collections(period), invoices)
    client = stripe.client()
    if client is None:
        return _check(problems, compared_with="the ledger only (no Stripe key configured)")
    first_charge = finance.first_charge_at(period)
    if first_charge is None:  # a PaymentIntent is only ever created for an attempt the ledger recorded first
        return _check(problems, compared_with="the ledger only (no charge attempt on the month's invoices)")
    try:
        intents = stripe_payment_intents(client, first_charge)
    except StripeError as error:  # unreachable, or the key refused: not checked, so not passed
        return _check([*problems, f"Stripe's PaymentIntents could not be listed: {type(error).__name__}: "
                                  f"{(str(error).strip().splitlines() or [''])[0]}"],
                      compared_with="the ledger; Stripe could not be asked")
    return _check(problems + stripe_disagreements(listed, intents, invoices),
                  compared_with=f"the ledger and Stripe's PaymentIntents ({len(intents)} listed)")


@dg.asset(**FINANCE, deps=[invoice_payments], kinds={"csv"})
def adjustments_report(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """adjustments.csv: adjustments recorded in the month, with the invoice they correct and the one carrying them."""
    period = context.partition_key
    return _result(billing, period, _finance(context, billing).adjustments(period))


@dg.asset(**FINANCE, deps=[invoice_payments], kinds={"csv"})
def changes_since_close(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """changes.csv: the month's final invoices whose amount a later close found different, old and new, with the
    adjustment recorded. Only its header when nothing changed."""
    period = context.partition_key
    return _result(billing, period, build_changes(_finance(context, billing).invoices(period)))


@dg.asset(**FINANCE, deps=[quarantine_report], kinds={"csv"})
def quarantine_csv(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """quarantine.csv: the rows of the month's snapshot folders that were not billed, with their reason."""
    period = context.partition_key
    days = month_days(period)
    relation = billing.warehouse().connect().execute(
        query("warehouse/quarantine_of_month"), {"first_day": days[0], "last_day": days[-1]})
    columns = [column[0] for column in relation.description]
    report = build_quarantine([dict(zip(columns, row)) for row in relation.fetchall()])
    by_reason: dict[str, int] = {}
    for row in report.rows:
        by_reason[row["reason"]] = by_reason.get(row["reason"], 0) + 1
    return _result(billing, period, report, **{f"reason: {k}": v for k, v in sorted(by_reason.items())})


CSV_ASSETS = [invoice_register, revenue_summary, ar_aging, collections, adjustments_report, changes_since_close,
              quarantine_csv]


def written_pack(billing: BillingStore, period: str) -> dict[str, Report]:
    return {template.name: written(billing, period, template) for template in TEMPLATES}


def _money_metadata(totals: dict) -> dict:
    return {name: value if isinstance(value, int) else dg.MetadataValue.text(str(value)) for name, value in totals.items()}


@dg.asset(**FINANCE, deps=CSV_ASSETS, kinds={"excel"})
def close_pack(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """close_pack.xlsx: a front sheet of the month's totals and a sheet per report, typed, from the CSV files."""
    period = context.partition_key
    reports, as_of = written_pack(billing, period), issue_date(period)
    totals = close_totals(reports)
    data = workbook_bytes(list(reports.values()), front_lines(period, as_of, totals), datetime.combine(as_of, time()))
    path = publish(billing, period, "close_pack.xlsx", data,
                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    return dg.MaterializeResult(metadata={**_money_metadata(totals), "sheets": len(reports) + 1,
                                          "path": dg.MetadataValue.path(path)})


def revenue_by_service(billing: BillingStore, period: str) -> dict | None:
    """The month's cost breakdowns summed by service; None when the month has none (the close writes them)."""
    if not (billing.settings().reports_dir / period / "cost_breakdowns.json").exists():
        return None
    services: dict = {}
    for document in read_json_report(billing.settings().reports_dir, period, "cost_breakdowns"):
        for service, figures in document["by_service"].items():
            services[service] = services.get(service, Decimal("0.00")) + sum(figures.values(), Decimal("0.00"))
    return services


@dg.asset(**FINANCE, deps=[*CSV_ASSETS, "cost_breakdowns"], kinds={"pdf"})
def close_summary(context: dg.AssetExecutionContext, billing: BillingStore) -> dg.MaterializeResult:
    """close_summary.pdf for the finance lead: invoiced, collected, outstanding, overdue; revenue by plan and by
    service; AR aging; this month against the previous three; largest adjustments; quarantined usage."""
    period = context.partition_key
    reports, as_of = written_pack(billing, period), issue_date(period)
    totals = close_totals(reports)
    data = summary_pdf(period, as_of, reports, totals, _finance(context, billing).month_over_month(period),
                       revenue_by_service(billing, period))
    path = publish(billing, period, "close_summary.pdf", data, "application/pdf")
    return dg.MaterializeResult(metadata={**_money_metadata(totals), "path": dg.MetadataValue.path(path)})


FINANCE_ASSETS = [*CSV_ASSETS, close_pack, close_summary]
FINANCE_CHECKS = [register_matches_ledger, revenue_adds_up_to_register, aging_adds_up_to_open_balances,
                  collections_match_payments]
