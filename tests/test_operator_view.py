"""What operators read in the Dagster UI: the quarantine check judges its own days, the invoices show their
collection, invoice_pdfs links to PDFs, runs from the CLI say so."""
from collections import Counter
from decimal import Decimal

import dagster as dg

from assets.ingest import quarantine_is_empty, usage_events
from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing_jobs.runner import close_month, local_instance
from resources import BillingStore
from tests.conftest import Metering, event, tenant
from tests.test_payments import boundary_billed  # noqa: F401 (a fixture)


def test_the_quarantine_check_judges_the_days_it_checks_not_the_whole_warehouse(billing_home):
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme"))
    metering.write("2026-10-01", [event("x1", "2026-10-01T10:00:00Z", tenant_id="ghost")])
    metering.write("2026-10-02", [event("e1", "2026-10-02T10:00:00Z")])
    resources = {"billing": BillingStore()}
    with dg.instance_for_test() as instance:
        def check(day):
            result = dg.materialize([usage_events, quarantine_is_empty], partition_key=day, resources=resources,
                                    instance=instance)
            [evaluation] = result.get_asset_check_evaluations()
            return evaluation.passed, evaluation.metadata["quarantined_rows"].value

        assert check("2026-10-01") == (False, 1)
        assert check("2026-10-02") == (True, 0)  # day one's ghost row is not this day's



def test_the_close_shows_collection_pdf_links_and_that_the_cli_launched_it(billing_home):
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme", plan="starter", tax_rate=0.2), tenant("big", plan="enterprise"),
                            tenant("idle"))
    metering.write("2026-10-15", [event("q1", "2026-10-15T10:00:00Z", "acme", "sql_queries", "10500")])
    close_month(metering.settings, "2026-10")
    issued = InvoiceBook(Ledger(metering.settings.ledger_url)).of_period("2026-10")
    instance = local_instance(metering.settings)

    def metadata(asset: str) -> dict:
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        return {name: value.value for name, value in event.asset_materialization.metadata.items()}

    invoices = metadata("invoices")  # as invoiced, before the charges
    assert (invoices["invoices paid"], invoices["invoices pending"], invoices["invoices overdue"]) == (0, 3, 0)
    assert invoices["tax_usd"] == str(sum((invoice.tax for invoice in issued), Decimal(0))) != "0"
    assert invoices["collected_usd"] == "0" and invoices["failed payments"] == "none"
    # after the charges: no STRIPE_API_KEY, so no card invoice was ever tried: all stay pending, none overdue
    [check] = instance.event_log_storage.get_asset_check_execution_history(
        dg.AssetCheckKey(dg.AssetKey("invoice_payments"), "payments_collected"), limit=1)
    evaluation = check.event.dagster_event.event_specific_data
    collected = {name: value.value for name, value in evaluation.metadata.items()}
    assert check.status.value == "SUCCEEDED" and collected["payments failed"] == 0
    statuses = Counter(invoice.status for invoice in issued)
    assert (collected["invoices paid"], collected["invoices pending"], collected["invoices overdue"]) == (
        statuses["paid"], statuses["pending"], statuses["overdue"]) == (0, 3, 0)
    links = metadata("invoice_pdfs")["pdfs"].splitlines()
    assert len(links) == 3 and all("](file://" in link and ".pdf)" in link for link in links)
    runs = instance.get_runs()
    assert len(runs) == 3 and all(run.tags.get("billing/launched_by") == "cli" for run in runs)


def test_ingestion_counts_days_without_a_folder_apart_from_unchanged_days(billing_home):
    from billing_jobs.runner import ingest

    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme"))
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z")])
    metering.write("2026-10-04", [event("e2", "2026-10-04T10:00:00Z")])
    instance = local_instance(metering.settings)
    counts = ("days_ingested", "days_unchanged", "days_without_folder")
    first = ingest(metering.settings, instance)
    assert tuple(first[name] for name in counts) == (2, 0, 2)  # 1 to 4 October: two folders, two days without
    again = ingest(metering.settings, instance)
    assert tuple(again[name] for name in counts) == (0, 2, 2)
    assert "days_skipped" not in again


def test_the_collection_names_each_failed_payment(boundary_billed):
    from billing.collection import collection
    from tests.test_payments import ISSUE_DAY

    book, payments = boundary_billed
    for tenant_id in ("stolen", "bank"):
        [invoice] = [i for i in book.of_period("2026-10") if i.tenant_id == tenant_id]
        payments.charge(invoice, book.ledger.tenant(tenant_id), ISSUE_DAY)
    issued = book.of_period("2026-10")
    summary = collection(book.ledger, "2026-10", issued).metadata()
    [stolen] = [i for i in issued if i.tenant_id == "stolen"]
    assert summary["payments failed"] == 1
    assert summary["failed payments"] == f"- {stolen.invoice_number} (stolen): attempt 1, stolen_card"
    assert summary["invoices pending"] == 4 and summary["collected_usd"] == "0"
