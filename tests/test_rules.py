"""Rules that a planted bug once broke unnoticed, each asserted by value: tax on carried adjustments, forecasts,
who hears of alerts, delivery giving up, the schedules, ingestion batches and every blocking asset check."""
import os
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D

import dagster as dg
import pytest

import billing.ingest
from assets import aggregate, invoice, rate as rate_assets
from billing.aggregate import write_daily_usage
from billing.breakdown import cost_breakdown
from billing.alerts import MAX_ATTEMPTS, evaluate
from billing.directory import Budget
from billing.ingest import ingest_days, prepare_ingest
from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing.reports import read_report, write_report
from billing.snapshots import SnapshotRoot
from billing.transports import FileTransport
from billing.warehouse import Warehouse
from billing_jobs.definitions import defs
from resources import BillingStore
from tests.conftest import TODAY, Metering, event, tenant
from tests.test_alerts import AFTER_THE_MONTH, PEOPLE, acme, alert_book, fire  # noqa: F401 - the fixture
from tests.test_invoices import AFTER_GRACE, BOOK, bill, book  # noqa: F401 - the fixture
from tests.test_ledger import directory, ledger  # noqa: F401 - the SQLite/PostgreSQL fixture

MID_OCTOBER = datetime(2026, 10, 16, tzinfo=timezone.utc)  # 15 of 31 days


# Invoices

def test_an_adjustment_carried_to_the_next_invoice_is_taxed_at_that_invoices_rate(book):  # noqa: F811
    book.ledger.import_directory(directory(tenant("acme", plan="starter", tax_rate="0.1")), TODAY)
    bill(book, "acme", "2026-10", {"sql_queries": D(10_000)}, AFTER_GRACE)
    bill(book, "acme", "2026-10", {"sql_queries": D(10_400)}, AFTER_GRACE)  # late usage after final: +2.00
    book.ledger.import_directory(directory(tenant("acme", plan="starter", tax_rate="0.2")), TODAY)  # new rate
    bill(book, "acme", "2026-11", {}, AFTER_GRACE)
    [october], [november] = book.of_period("2026-10"), book.of_period("2026-11")
    assert (october.subtotal, october.tax_rate, october.tax) == (D("99.00"), D("0.1"), D("9.90"))  # never rewritten
    assert [(line.metric, line.amount) for line in november.lines] == [("base", D("99.00")), ("adjustment", D("2.00"))]
    assert (november.subtotal, november.tax_rate, november.tax, november.total) == (
        D("101.00"), D("0.2"), D("20.20"), D("121.20"))  # 2.00 taxed at November's 20 %, not October's 10 %


# Alerts

def test_forecasts_do_not_project_storage():
    # Storage is a reading, not a counter: 120 GB on the 16th is 120 GB at the month's end, not 248.
    tenant_with_budget = acme(budgets=(Budget(D("510"), ("in_app",)),))
    crossings = evaluate(tenant_with_budget, "2026-10", {"storage_gb": D(120)}, BOOK, MID_OCTOBER)
    assert [(c.subject, c.level) for c in crossings] == [
        ("storage_gb", "warning"), ("storage_gb", "critical"), ("storage_gb", "overage")]  # 499 + 4.00 < 510
    below = evaluate(tenant_with_budget, "2026-10", {"storage_gb": D(60)}, BOOK, MID_OCTOBER)
    assert below == []  # 60 GB would project to 124 GB, above the 100 included


def test_users_who_left_get_no_alerts(alert_book):  # noqa: F811
    directory_ledger = alert_book.ledger
    still_here = [{"user_id": u.user_id, "name": u.name, "email": u.email, "role": u.role} for u in PEOPLE[1:]]
    directory_ledger.import_directory(directory(tenant("acme", users=still_here)), TODAY)  # the admin leaves
    fire(alert_book, 85_000, tenant=directory_ledger.tenant("acme"))
    assert sorted((d["channel"], d["recipient"]) for d in alert_book.deliveries("acme")) == [
        ("email", "bob@acme.example"), ("in_app", "billing")]


def test_delivery_gives_up_after_its_last_attempt(alert_book, tmp_path):  # noqa: F811
    fire(alert_book, 85_000)  # a warning: two emails and two in-app notifications (delivered by being written)
    (tmp_path / "outbox").write_text("a file where the outbox folder should be")
    broken = FileTransport(tmp_path / "outbox", "billing@acme.example")
    now, counts = AFTER_THE_MONTH, []
    for _ in range(MAX_ATTEMPTS + 1):
        counts.append(alert_book.deliver_due(broken, now))
        now += timedelta(days=1)  # past any backoff
    assert counts == [{"sent": 0, "retrying": 2, "failed": 0}] * (MAX_ATTEMPTS - 1) + [
        {"sent": 0, "retrying": 0, "failed": 2}, {"sent": 0, "retrying": 0, "failed": 0}]
    emails = [d for d in alert_book.deliveries("acme") if d["channel"] == "email"]
    assert [(d["status"], d["attempts"]) for d in emails] == [("failed", MAX_ATTEMPTS)] * 2
    assert MAX_ATTEMPTS == 8


# Schedules

def test_the_schedules_times_and_the_partitions_they_run():
    schedules = {s.name: s for s in defs.get_repository_def().schedule_defs}
    assert {name: (s.cron_schedule, s.execution_timezone, s.default_status.value) for name, s in schedules.items()} == {
        "ingest_usage_schedule": ("30 0 * * *", "UTC", "RUNNING"),
        "month_end_close_schedule": ("0 2 3 * *", "UTC", "RUNNING"),
        "deliver_alerts_schedule": ("*/5 * * * *", "UTC", "RUNNING"),
        "collect_payments_schedule": ("0 6 * * *", "UTC", "RUNNING"),
    }

    def partition_run(name: str, tick: datetime) -> str:
        context = dg.build_schedule_context(scheduled_execution_time=tick, repository_def=defs.get_repository_def())
        [request] = schedules[name].evaluate_tick(context).run_requests
        return request.partition_key

    assert partition_run("ingest_usage_schedule", datetime(2026, 1, 1, 0, 30, tzinfo=timezone.utc)) == "2025-12-31"
    assert partition_run("month_end_close_schedule", datetime(2026, 11, 3, 2, tzinfo=timezone.utc)) == "2026-10"
    assert partition_run("month_end_close_schedule", datetime(2026, 1, 3, 2, tzinfo=timezone.utc)) == "2025-12"


# Ingestion

def test_ingestion_batches_split_at_batch_bytes(billing_home, monkeypatch):
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme"))
    days = [f"2026-10-0{d}" for d in range(1, 6)]
    for index, day in enumerate(days):
        metering.write(day, [event(f"e{index}", f"{day}T10:00:00Z")])  # same size every day
    day_bytes = (metering.root / f"dt={days[0]}" / "part-0000.csv").stat().st_size
    warehouse = Warehouse(metering.settings.warehouse_dir)
    con = warehouse.connect()
    snapshots = SnapshotRoot(metering.settings.snapshot_root, None)
    prepare_ingest(con, snapshots, ["acme"])

    def linked_versions() -> dict[str, str | None]:
        links = {day: warehouse.root / "events" / day for day in days}
        return {day: os.readlink(link) if link.is_symlink() else None for day, link in links.items()}

    def batches(batch_bytes: int) -> list[list[str]]:
        """Days replaced together: at each day's progress, the days whose partition changed version since."""
        monkeypatch.setattr(billing.ingest, "BATCH_BYTES", batch_bytes)
        seen, replaced = linked_versions(), []

        def progress(_result) -> None:
            now = linked_versions()
            if changed := [day for day in days if now[day] != seen[day]]:
                replaced.append(changed)
            seen.update(now)

        ingest_days(con, warehouse, snapshots, [date.fromisoformat(day) for day in days], ["acme"], progress=progress)
        return replaced

    assert batches(2 * day_bytes) == [days[0:2], days[2:4], days[4:5]]  # two days fit exactly
    assert batches(2 * day_bytes - 1) == [[day] for day in days]  # a day alone is a batch, even above the size


# Blocking asset checks: each passes on a sound state and fails, naming what is wrong, on a broken one

def evaluate_check(check, asset, home, period: str = "2026-10") -> tuple[bool, dict]:
    """Run one asset check alone on the ledger, warehouse and reports under `home` as they are now."""
    check_defs = dg.Definitions(assets=[asset], asset_checks=[check],
                                jobs=[dg.define_asset_job("check", selection=dg.AssetSelection.checks(check))],
                                resources={"billing": BillingStore(billing_home=str(home))})
    with dg.instance_for_test() as instance:
        result = check_defs.resolve_job_def("check").execute_in_process(
            instance=instance, tags={"dagster/partition": period}, raise_on_error=False)
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation.passed, {name: value.value for name, value in evaluation.metadata.items()}


@pytest.fixture
def two_tenants(billing_home):
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme", plan="starter"), tenant("beta", plan="starter"))
    return metering, InvoiceBook(Ledger(metering.settings.ledger_url))


def bill_october(invoices: InvoiceBook, tenant_id: str, queries: int = 10_000):
    bill(invoices, tenant_id, "2026-10", {"sql_queries": D(queries)}, AFTER_GRACE)


def test_one_invoice_per_tenant_fails_on_a_tenant_without_one(two_tenants, billing_home):
    _, invoices = two_tenants
    bill_october(invoices, "acme")
    assert evaluate_check(invoice.one_invoice_per_tenant, invoice.invoices, billing_home) == (
        False, {"missing": "beta", "doubled": ""})
    bill_october(invoices, "beta")
    assert evaluate_check(invoice.one_invoice_per_tenant, invoice.invoices, billing_home) == (
        True, {"missing": "", "doubled": ""})


def test_no_negative_line_fails_on_a_negative_charge_but_not_on_a_credit(two_tenants, billing_home):
    _, invoices = two_tenants
    bill_october(invoices, "acme", 10_400)
    bill_october(invoices, "acme", 10_000)  # after final: a -2.00 credit, carried to November
    bill(invoices, "acme", "2026-11", {}, AFTER_GRACE)
    assert evaluate_check(invoice.no_negative_line, invoice.invoices, billing_home, "2026-11") == (
        True, {"negative_lines": ""})
    with invoices.ledger.engine.begin() as con:  # a charge gone negative between steps
        con.exec_driver_sql("UPDATE invoice_lines SET amount = '-99.00' WHERE metric = 'base'")
    november = invoices.of_period("2026-11")[0].invoice_number
    assert evaluate_check(invoice.no_negative_line, invoice.invoices, billing_home, "2026-11") == (
        False, {"negative_lines": f"{november}: Starter plan, 30/30 of the month"})


def test_monthly_usage_reconciles_fails_when_the_aggregate_misses_billed_events(billing_home):
    metering = Metering(billing_home)
    metering.import_tenants(tenant("acme"))
    metering.write("2026-10-15", [event("e1", "2026-10-15T10:00:00Z")])
    metering.ingest("2026-10-15")
    warehouse = Warehouse(metering.settings.warehouse_dir)
    write_daily_usage(warehouse.connect(), warehouse, "2026-10")
    check = (aggregate.monthly_usage_reconciles, aggregate.monthly_usage, billing_home)
    assert evaluate_check(*check) == (
        True, {"billed_events": 1, "events_in_arrival_sums": 1, "events_in_aggregate": 1})
    metering.write("2026-11-02", [event("late", "2026-10-31T23:00:00Z")])  # ingested, not aggregated
    metering.ingest("2026-11-02")
    assert evaluate_check(*check) == (
        False, {"billed_events": 2, "events_in_arrival_sums": 2, "events_in_aggregate": 1})


def test_breakdowns_match_invoices_fails_on_a_lost_or_a_wrong_breakdown(two_tenants, billing_home):
    metering, invoices = two_tenants
    bill_october(invoices, "acme", 10_400)
    bill_october(invoices, "beta")
    documents = [cost_breakdown(invoices.ledger.tenant(i.tenant_id), "2026-10", i.lines, [], BOOK)
                 for i in invoices.of_period("2026-10")]
    reports = metering.settings.reports_dir
    write_report(reports, "2026-10", "cost_breakdowns", documents)
    check = (rate_assets.breakdowns_match_invoices, rate_assets.cost_breakdowns, billing_home)
    assert evaluate_check(*check) == (True, {"mismatched_tenants": ""})
    acme, _beta = read_report(reports, "2026-10", "cost_breakdowns")
    acme["by_user"][0]["cost_usd"] += D("0.01")  # a cent that is on no invoice, and beta's breakdown lost
    write_report(reports, "2026-10", "cost_breakdowns", [acme])
    assert evaluate_check(*check) == (False, {"mismatched_tenants": "acme, beta"})
