"""The finance close pack: contract section 7's files from a real ledger (payments through localstripe, a wire
recorded by hand, a quarantined snapshot row), byte-for-byte reruns, S3, and blocking reconciliation checks that
fail when their figures disagree."""
import csv
import io
import os
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal as D

import dagster as dg
import pytest

from assets import finance as finance_assets
from billing.finance import AR_AGING, COLLECTIONS, REGISTER, REVENUE, TEMPLATES, read_report
from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing.payments import Payments
from billing.price_book import load_price_book
from billing.pricing import rate
from billing.settings import Settings
from resources import BillingStore, StripeResource
from tests.conftest import Metering, event, tenant

BOOK = load_price_book(Settings.from_env({}).price_book)
CLOSED_AT = datetime(2026, 11, 3, 2, tzinfo=timezone.utc)
MONTHS = ("2026-07", "2026-08", "2026-09", "2026-10")
CHECKS = finance_assets.FINANCE_CHECKS
CONTRACT_COLUMNS = {
    "invoice_register": "invoice_id, invoice_number, tenant_id, tenant_name, period, issued_at, due_date, payment_method, "
                        "plan, subtotal, tax, total, amount_paid, balance, status",
    "revenue_summary": "plan, metric, tenants, amount",
    "ar_aging": "invoice_id, tenant_id, due_date, balance, days_past_due, bucket",
    "collections": "invoice_id, tenant_id, method, amount, status, reference, at",
    "adjustments": "invoice_id, tenant_id, period_adjusted, amount, reason",
}


@pytest.fixture
def ledger_of_four_months(billing_home, stripe_client, localstripe_server, monkeypatch):
    """Four tenants invoiced July to October 2026 (all final); October's card charged through localstripe, one
    card declined, an August wire received; and a quarantined snapshot row in October. Stripe's key and address
    are in the environment, as the Definitions read them: the collections check compares with localstripe."""
    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_billing")
    monkeypatch.setenv("STRIPE_API_BASE", localstripe_server.url)
    metering = Metering(billing_home)
    metering.import_tenants(
        tenant("acme", tax_rate=0.08),
        tenant("beta", plan="starter"),
        tenant("big", plan="enterprise", payment_method={"type": "wire"}),
        tenant("lapsed", payment_method={"type": "card", "stripe_payment_method": "pm_card_chargeCustomerFail"}))
    metering.write("2026-10-01", [event("e1", "2026-10-01T10:00:00Z", quantity="400"),
                                  event("x1", "2026-10-01T10:00:00Z", tenant_id="ghost")])
    metering.ingest("2026-10-01")
    book = InvoiceBook(Ledger(metering.settings.ledger_url))
    tenants = {t.tenant_id: t for t in book.ledger.tenants()}
    for period in MONTHS:
        for t in tenants.values():
            book.record(t, rate(t, period, {"sql_queries": D(100_250)}, BOOK), CLOSED_AT)
    payments = Payments(book, stripe_client)
    october = {i.tenant_id: i for i in book.of_period("2026-10")}
    assert payments.charge(october["acme"], tenants["acme"], CLOSED_AT).outcome == "paid"
    assert payments.charge(october["lapsed"], tenants["lapsed"], CLOSED_AT).outcome == "declined"
    august_wire = next(i for i in book.of_period("2026-08") if i.tenant_id == "big")
    payments.mark_paid(august_wire, "WIRE-AUG-1", "ops@platform", CLOSED_AT)
    return metering, book, payments


def resources(metering) -> dict:
    return {"billing": BillingStore(billing_home=str(metering.settings.home)),
            "stripe": StripeResource(api_key=os.environ.get("STRIPE_API_KEY", ""),
                                     api_base=os.environ.get("STRIPE_API_BASE", ""))}


def materialize(metering, instance, period="2026-10", selection=None):
    return dg.materialize([*finance_assets.CSV_ASSETS, *CHECKS], partition_key=period, resources=resources(metering),
                          instance=instance, selection=selection, raise_on_error=False)


def run_check(metering, instance, check):
    """Only the check, against the files already written: what it says about them now."""
    # Dagster runs a check alone only unpartitioned; the checks read the month from the run's partition tag.
    result = dg.materialize([*finance_assets.CSV_ASSETS, *CHECKS], selection=dg.AssetSelection.checks(check),
                            tags={"dagster/partition": "2026-10"}, resources=resources(metering), instance=instance,
                            raise_on_error=False)
    [evaluation] = result.get_asset_check_evaluations()
    return evaluation


def pack(metering, period="2026-10"):
    return metering.settings.reports_dir / period


def rows_of(metering, template):
    return read_report(template, (pack(metering) / template.file_name).read_bytes()).rows


def test_every_report_has_the_contract_columns_and_the_ledger_figures(ledger_of_four_months):
    metering, book, _ = ledger_of_four_months
    with dg.instance_for_test() as instance:
        result = materialize(metering, instance)
        assert result.success
        assert all(e.passed for e in result.get_asset_check_evaluations())
        assert len(result.get_asset_check_evaluations()) == 4
        [stripe] = [e for e in result.get_asset_check_evaluations() if e.check_name == "collections_match_payments"]
        # acme's charge and lapsed's declined one: only a succeeded PaymentIntent is a collection
        assert stripe.metadata["compared_with"].value == "the ledger and Stripe's PaymentIntents (2 listed)"
        metadata = instance.get_latest_materialization_event(dg.AssetKey("invoice_register")).asset_materialization.metadata
    for name, columns in CONTRACT_COLUMNS.items():
        header = (pack(metering) / f"{name}.csv").read_text().splitlines()[0].split(",")
        assert set(columns.split(", ")) <= set(header), name
    register = {row["tenant_id"]: row for row in rows_of(metering, REGISTER)}
    acme = register["acme"]
    assert (acme["plan"], acme["subtotal"], acme["tax"], acme["total"]) == ("professional", D("500.00"), D("40.00"), D("540.00"))
    assert (acme["amount_paid"], acme["balance"], acme["status"], acme["issued_at"]) == (D("540.00"), D("0.00"), "paid",
                                                                                          date(2026, 11, 1))
    assert (register["big"]["due_date"], register["big"]["balance"]) == (date(2026, 12, 1), D("5000.00"))
    assert metadata["total"].value == str(sum(row["total"] for row in register.values()))
    assert "| invoice_id |" in metadata["preview"].value

    revenue = {(row["plan"], row["metric"]): row for row in rows_of(metering, REVENUE)}
    assert revenue[("professional", "base")]["tenants"] == 2 and revenue[("professional", "base")]["amount"] == D("998.00")
    assert revenue[("starter", "sql_queries")]["amount"] == D("451.25")  # 90,250 queries above 10,000 at $0.005

    aging = {(row["tenant_id"], row["period"]): row for row in rows_of(metering, AR_AGING)}
    assert ("acme", "2026-10") not in aging and ("big", "2026-08") not in aging  # paid
    assert {key: (row["days_past_due"], row["bucket"]) for key, row in aging.items() if key[0] == "lapsed"} == {
        ("lapsed", "2026-07"): (92, "90+"), ("lapsed", "2026-08"): (61, "61-90"), ("lapsed", "2026-09"): (31, "31-60"),
        ("lapsed", "2026-10"): (0, "current")}
    assert aging[("big", "2026-09")]["bucket"] == "1-30" and aging[("big", "2026-09")]["days_past_due"] == 1

    collected = rows_of(metering, COLLECTIONS)
    by_tenant = {row["tenant_id"]: row for row in collected}
    assert by_tenant["acme"]["status"] == "succeeded" and by_tenant["acme"]["reference"].startswith("pi_")
    assert (by_tenant["acme"]["method"], by_tenant["acme"]["amount"], by_tenant["acme"]["at"]) == ("card", D("540.00"),
                                                                                                   date(2026, 11, 3))
    assert by_tenant["lapsed"]["status"] == "failed" and by_tenant["lapsed"]["error_code"]
    assert "big" not in by_tenant  # August's wire is August's collection

    quarantine = (pack(metering) / "quarantine.csv").read_text().splitlines()
    assert len(quarantine) == 2 and "unknown tenant" in quarantine[1] and quarantine[1].startswith("2026-10-01,")
    assert (pack(metering) / "changes.csv").read_text() == ",".join(n for n, _ in TEMPLATES[5].columns) + "\n"


def test_money_has_two_places_and_a_rerun_writes_the_same_bytes(ledger_of_four_months):
    metering, _, _ = ledger_of_four_months
    with dg.instance_for_test() as instance:
        materialize(metering, instance)
        first = {path.name: path.read_bytes() for path in pack(metering).glob("*.csv")}
        materialize(metering, instance)
        again = {path.name: path.read_bytes() for path in pack(metering).glob("*.csv")}
    assert again == first and set(first) >= {t.file_name for t in TEMPLATES}
    rows = list(csv.DictReader(io.StringIO(first["invoice_register.csv"].decode())))
    money = ("subtotal", "tax", "total", "amount_paid", "balance")
    assert all(len(row[column].split(".")[1]) == 2 for row in rows for column in money)
    assert {(row["amount_paid"], row["balance"]) for row in rows if row["status"] == "paid"} == {("540.00", "0.00")}
    collected = list(csv.DictReader(io.StringIO(first["collections.csv"].decode())))
    assert sorted(row["amount"] for row in collected) == ["500.00", "540.00"]  # from Stripe's cents


def test_the_pack_is_also_written_to_the_object_store_on_s3(ledger_of_four_months, s3, monkeypatch):
    metering, _, _ = ledger_of_four_months
    s3.create_bucket(Bucket="finance")
    monkeypatch.setenv("BILLING_OBJECT_STORE", "s3://finance/close")
    with dg.instance_for_test() as instance:
        assert materialize(metering, instance).success
    for template in TEMPLATES:
        stored = s3.get_object(Bucket="finance", Key=f"close/reports/2026-10/{template.file_name}")["Body"].read()
        assert stored == (pack(metering) / template.file_name).read_bytes()


def test_register_check_fails_when_the_ledger_disagrees(ledger_of_four_months):
    metering, book, _ = ledger_of_four_months
    with dg.instance_for_test() as instance:
        assert materialize(metering, instance).success
        with book.ledger.engine.begin() as con:
            con.exec_driver_sql("UPDATE invoices SET total = '541.00' WHERE tenant_id = 'acme' AND period = '2026-10'")
        evaluation = run_check(metering, instance, finance_assets.register_matches_ledger)
    assert not evaluation.passed
    assert "total: register 540.00, ledger 541.00" in evaluation.metadata["first"].value


def check_after_editing(metering, file_name: str, edit, check):
    """A check's evaluation after the month's pack is written and one of its files is edited."""
    with dg.instance_for_test() as instance:
        assert materialize(metering, instance).success
        path = pack(metering) / file_name
        path.write_text(edit(path.read_text()))
        return run_check(metering, instance, check)


def test_revenue_check_fails_when_the_summary_does_not_add_up_to_the_register(ledger_of_four_months):
    metering, _, _ = ledger_of_four_months
    evaluation = check_after_editing(metering, "revenue_summary.csv", lambda text: text.replace(",998.00", ",997.00"),
                                     finance_assets.revenue_adds_up_to_register)
    assert not evaluation.passed and "plan professional" in evaluation.metadata["first"].value


def test_aging_check_fails_when_an_open_balance_is_missing(ledger_of_four_months):
    metering, book, payments = ledger_of_four_months
    left_out = lambda text: "".join(text.splitlines(keepends=True)[:-1])  # one receivable left out  # noqa: E731
    evaluation = check_after_editing(metering, "ar_aging.csv", left_out, finance_assets.aging_adds_up_to_open_balances)
    assert not evaluation.passed and "open balances in the ledger" in evaluation.metadata["first"].value


def test_aging_check_fails_on_a_wrong_bucket(ledger_of_four_months):
    metering, _, _ = ledger_of_four_months
    evaluation = check_after_editing(metering, "ar_aging.csv", lambda text: text.replace(",92,90+,", ",92,61-90,"),
                                     finance_assets.aging_adds_up_to_open_balances)
    assert not evaluation.passed and "92 days past due is not bucket 61-90" in evaluation.metadata["first"].value


def test_collections_check_fails_on_a_payment_the_file_does_not_list(ledger_of_four_months):
    metering, book, payments = ledger_of_four_months
    with dg.instance_for_test() as instance:
        assert materialize(metering, instance).success
        big = next(i for i in book.of_period("2026-10") if i.tenant_id == "big")
        payments.mark_paid(big, "WIRE-OCT-9", "ops@platform", CLOSED_AT)
        evaluation = run_check(metering, instance, finance_assets.collections_match_payments)
    assert not evaluation.passed and "the ledger records 3" in evaluation.metadata["first"].value


def test_collections_check_fails_on_a_paid_invoice_nothing_was_collected_for(ledger_of_four_months):
    metering, book, _ = ledger_of_four_months
    with book.ledger.engine.begin() as con:
        con.exec_driver_sql("UPDATE invoices SET status = 'paid' WHERE tenant_id = 'beta' AND period = '2026-10'")
    with dg.instance_for_test() as instance:
        result = materialize(metering, instance)
        [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == "collections_match_payments"]
    assert not evaluation.passed and "is paid (550.25), collected 0.00" in evaluation.metadata["first"].value


def collections_check(metering, period="2026-10"):
    with dg.instance_for_test() as instance:
        result = materialize(metering, instance, period)
    [evaluation] = [e for e in result.get_asset_check_evaluations() if e.check_name == "collections_match_payments"]
    return evaluation


def test_collections_check_fails_when_stripe_charged_another_amount_than_the_ledger_records(ledger_of_four_months):
    metering, book, _ = ledger_of_four_months
    with book.ledger.engine.begin() as con:  # a ledger consistent in itself: only Stripe can tell
        con.exec_driver_sql("UPDATE payment_attempts SET amount_cents = 54100 WHERE status = 'succeeded'")
        con.exec_driver_sql("UPDATE invoices SET total = '541.00' WHERE tenant_id = 'acme' AND period = '2026-10'")
    evaluation = collections_check(metering)
    assert not evaluation.passed and evaluation.metadata["disagreements"].value == 1
    assert "541.00 in the ledger, 540.00 in Stripe" in evaluation.metadata["first"].value


def test_collections_check_fails_when_a_payment_intent_is_not_in_stripe(ledger_of_four_months):
    metering, book, _ = ledger_of_four_months
    with book.ledger.engine.begin() as con:
        [intent] = con.exec_driver_sql("SELECT stripe_payment_intent_id FROM payment_attempts WHERE status = 'succeeded'"
                                       ).scalars().all()
        con.exec_driver_sql("UPDATE payment_attempts SET stripe_payment_intent_id = 'pi_not_in_stripe' "
                            "WHERE status = 'succeeded'")
    evaluation = collections_check(metering)
    problems = evaluation.metadata["first"].value
    assert not evaluation.passed and "(pi_not_in_stripe): succeeded in the ledger, no such PaymentIntent in Stripe" in problems
    assert f"{intent}: Stripe collected 540.00 on " in problems and "do not list it as a succeeded charge" in problems


def test_stripe_lists_the_payment_intents_from_the_month_s_first_charge_on(ledger_of_four_months, stripe_client):
    from billing.finance import FinanceBook, stripe_payment_intents

    _, book, _ = ledger_of_four_months
    first = FinanceBook(book).first_charge_at("2026-10")  # the wall clock: Stripe's created is on Stripe's clock
    assert abs(datetime.now(timezone.utc) - first) < timedelta(minutes=10)
    assert FinanceBook(book).first_charge_at("2026-09") is None  # no card charged: Stripe is not asked
    assert {i["status"] for i in stripe_payment_intents(stripe_client, first).values()} == {"succeeded", "requires_payment_method"}
    assert stripe_payment_intents(stripe_client, datetime.now(timezone.utc) + timedelta(days=2)) == {}


def test_without_a_stripe_key_collections_are_compared_with_the_ledger_only(ledger_of_four_months, monkeypatch):
    metering, _, _ = ledger_of_four_months
    monkeypatch.setenv("STRIPE_API_KEY", "")
    evaluation = collections_check(metering)
    assert evaluation.passed and evaluation.metadata["compared_with"].value == "the ledger only (no Stripe key configured)"


def test_a_month_without_a_charge_attempt_asks_stripe_nothing(ledger_of_four_months):
    evaluation = collections_check(ledger_of_four_months[0], "2026-09")  # September's invoices were never charged
    assert evaluation.passed and evaluation.metadata["compared_with"].value == (
        "the ledger only (no charge attempt on the month's invoices)")


def test_collections_check_fails_when_stripe_cannot_be_asked(ledger_of_four_months, monkeypatch):
    metering, _, _ = ledger_of_four_months
    monkeypatch.setenv("STRIPE_API_BASE", "http://127.0.0.1:9")  # nothing listens
    evaluation = collections_check(metering)
    assert not evaluation.passed and "Stripe's PaymentIntents could not be listed: APIConnectionError" in (
        evaluation.metadata["first"].value)


def test_a_rerun_after_late_usage_lists_the_changed_invoices_and_their_adjustment(ledger_of_four_months):
    metering, book, _ = ledger_of_four_months
    with dg.instance_for_test() as instance:
        assert materialize(metering, instance).success
        register = (pack(metering) / "invoice_register.csv").read_bytes()
        late = datetime(2026, 11, 20, tzinfo=timezone.utc)  # late usage: October rated again, 1,000 queries more
        beta = book.ledger.tenant("beta")
        assert book.record(beta, rate(beta, "2026-10", {"sql_queries": D(101_250)}, BOOK), late).action == "adjusted"
        assert materialize(metering, instance).success
        assert materialize(metering, instance, period="2026-11").success
    assert (pack(metering) / "invoice_register.csv").read_bytes() == register  # a final invoice is never rewritten
    [change] = read_report(TEMPLATES[5], (pack(metering) / "changes.csv").read_bytes()).rows
    assert (change["tenant_id"], change["old_amount"], change["adjustment"], change["new_amount"]) == (
        "beta", D("550.25"), D("5.00"), D("555.25"))
    assert change["recorded_at"] == date(2026, 11, 20) and change["applied_invoice_id"] == ""  # not yet carried
    [adjustment] = read_report(TEMPLATES[4], (pack(metering, "2026-11") / "adjustments.csv").read_bytes()).rows
    assert (adjustment["invoice_id"], adjustment["period_adjusted"], adjustment["amount"]) == (
        change["invoice_id"], "2026-10", D("5.00"))
    assert "changed after the invoice was final" in adjustment["reason"]
    assert (pack(metering) / "adjustments.csv").read_text().count("\n") == 1  # none recorded in October


def test_the_reports_read_a_postgresql_ledger(postgres_url):
    from billing.finance import FinanceBook, build_changes
    from tests.test_ledger import directory

    ledger = Ledger(postgres_url)
    ledger.import_directory(directory(tenant("acme"), tenant("big", plan="enterprise", payment_method={"type": "wire"})),
                            date(2026, 7, 1))
    book = InvoiceBook(ledger)
    tenants = {t.tenant_id: t for t in ledger.tenants()}
    for period in ("2026-09", "2026-10"):
        for t in tenants.values():
            book.record(t, rate(t, period, {}, BOOK), CLOSED_AT)
    wire = next(i for i in book.of_period("2026-09") if i.tenant_id == "big")
    Payments(book, None).mark_paid(wire, "WIRE-9", "ops", CLOSED_AT)
    late = datetime(2026, 11, 20, tzinfo=timezone.utc)
    book.record(tenants["acme"], rate(tenants["acme"], "2026-10", {"sql_queries": D(100_100)}, BOOK), late)

    finance = FinanceBook(book)
    assert [(r["tenant_id"], r["amount_paid"]) for r in finance.register("2026-09", tenants).rows] == [
        ("acme", D("0.00")), ("big", D("5000.00"))]
    [transfer] = finance.collections("2026-09").rows
    assert (transfer["method"], transfer["status"], transfer["reference"], transfer["amount"]) == (
        "wire", "received", "WIRE-9", D("5000.00"))
    aging = finance.ar_aging(date(2026, 11, 1), tenants)
    assert sorted((r["tenant_id"], r["period"], r["bucket"]) for r in aging.rows) == [
        ("acme", "2026-09", "31-60"), ("acme", "2026-10", "current"), ("big", "2026-10", "current")]
    assert aging.sum("balance") == finance.open_balances(date(2026, 11, 1)) == D("499.00") * 2 + D("5000.00")
    assert [r["amount"] for r in finance.adjustments("2026-11").rows] == [D("0.40")]
    assert finance.first_charge_at("2026-09") is None  # a wire and an invoice without a Stripe key: no charge
    assert [(c["old_amount"], c["new_amount"]) for c in build_changes(book.of_period("2026-10")).rows] == [
        (D("499.00"), D("499.40"))]
