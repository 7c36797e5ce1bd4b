"""The month-end close through Dagster on embedded defaults: invoices, breakdowns, PDFs; reruns; late usage."""
import json
from decimal import Decimal as D

import pytest

from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing_jobs.runner import close_month
from tests.conftest import Metering, event, tenant
from tests.test_pdf import pdf_text


@pytest.fixture
def closed(billing_home):
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme", plan="starter", tax_rate=0.2),
                            tenant("big", plan="enterprise", payment_method={"type": "wire"}, country="DE"),
                            tenant("idle", plan="professional"))
    metering.write("2026-10-15", [event("q1", "2026-10-15T10:00:00Z", "acme", "sql_queries", "10500"),
                                  event("s1", "2026-10-15T10:00:00Z", "big", "storage_gb", "1100", user_id=None)])
    close_month(metering.settings, "2026-10")
    return metering


def invoices(metering, period="2026-10"):
    return {i.tenant_id: i for i in InvoiceBook(Ledger(metering.settings.ledger_url)).of_period(period)}


def test_every_tenant_gets_one_final_invoice_with_breakdown_and_pdf(closed):
    issued = invoices(closed)
    assert set(issued) == {"acme", "big", "idle"}
    acme, big, idle = issued["acme"], issued["big"], issued["idle"]
    assert (acme.subtotal, acme.tax, acme.total, acme.state) == (D("101.50"), D("20.30"), D("121.80"), "final")
    assert (big.subtotal, big.due_date.isoformat()) == (D("5007.60"), "2026-12-01")  # 76 GB x 0.10 over 1,024
    assert idle.total == D("499.00")
    breakdowns = {b["tenant_id"]: b for b in json.loads((closed.settings.reports_dir / "2026-10" / "cost_breakdowns.json").read_text())}
    assert breakdowns["acme"]["total_usd"] == 101.5
    assert breakdowns["acme"]["by_service"]["query_engine"]["query_cost"] == 101.5
    text = pdf_text((closed.settings.home / "objects" / acme.pdf_key).read_bytes())
    assert acme.invoice_number in text and "$121.80" in text


def test_rerunning_the_close_changes_nothing(closed):
    before = invoices(closed)
    pdf = (closed.settings.home / "objects" / before["acme"].pdf_key).stat().st_mtime_ns
    close_month(closed.settings, "2026-10")
    assert invoices(closed) == before
    assert (closed.settings.home / "objects" / before["acme"].pdf_key).stat().st_mtime_ns == pdf  # issued, kept


def test_late_usage_after_the_invoice_is_final_lands_on_the_next_invoice(closed):
    closed.write("2026-11-02", [event("late", "2026-10-31T22:00:00Z", "acme", "sql_queries", "400")])
    close_month(closed.settings, "2026-10")
    october = invoices(closed)["acme"]
    assert october.total == D("121.80")
    assert [a["amount"] for a in october.adjustments] == [D("2.00")]  # 400 queries x 0.005
    close_month(closed.settings, "2026-11")
    november = invoices(closed, "2026-11")["acme"]
    assert [(line.metric, line.amount) for line in november.lines][-1] == ("adjustment", D("2.00"))


def test_the_breakdown_check_reads_the_written_report_and_names_what_does_not_add_up(closed):
    import dagster as dg

    from assets import invoice, rate
    from resources import BillingStore

    report = closed.settings.reports_dir / "2026-10" / "cost_breakdowns.json"
    documents = json.loads(report.read_text())
    acme = next(d for d in documents if d["tenant_id"] == "acme")
    acme["by_user"][0]["cost_usd"] += 0.01  # a cent that is on no invoice
    report.write_text(json.dumps([d for d in documents if d["tenant_id"] != "idle"]))  # and a breakdown lost
    defs = dg.Definitions(assets=[invoice.invoices, rate.cost_breakdowns], asset_checks=[rate.breakdowns_match_invoices],
                          jobs=[dg.define_asset_job("check", selection=dg.AssetSelection.checks(rate.breakdowns_match_invoices))],
                          resources={"billing": BillingStore(billing_home=str(closed.settings.home))})
    # The check alone, on the report as it is now (a partition key would need the asset in the job too).
    result = defs.resolve_job_def("check").execute_in_process(tags={"dagster/partition": "2026-10"}, raise_on_error=False)
    [evaluation] = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.metadata["mismatched_tenants"].value == "acme, idle"
