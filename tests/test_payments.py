"""Payments with the official Stripe SDK against localstripe: charges, declines, retries, overdue, and
never a second charge under crashes, reruns or concurrent runs."""
import threading
from datetime import datetime, timezone
from decimal import Decimal as D

import pytest

from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing.payments import Payments, to_cents
from billing.price_book import load_price_book
from billing.pricing import rate
from billing.settings import Settings
from tests.conftest import TODAY, tenant
from tests.test_ledger import directory

BOOK = load_price_book(Settings.from_env({}).price_book)
ISSUE_DAY = datetime(2026, 11, 3, tzinfo=timezone.utc)


@pytest.fixture
def ledger_url(request, tmp_path):
    """SQLite, or PostgreSQL when a test is parametrized with `indirect=True` over ("sqlite", "postgresql")."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return request.getfixturevalue("postgres_url")
    return f"sqlite:///{tmp_path / 'ledger.sqlite'}"


@pytest.fixture
def billed(ledger_url, stripe_client):
    ledger = Ledger(ledger_url)
    ledger.import_directory(directory(
        tenant("visa"),
        tenant("declines", payment_method={"type": "card", "stripe_payment_method": "pm_card_chargeCustomerFail"}),
        tenant("big", plan="enterprise", payment_method={"type": "wire"})), TODAY)
    book = InvoiceBook(ledger)
    for t in ledger.tenants():
        book.record(t, rate(t, "2026-10", {"sql_queries": D(100_250)}, BOOK), ISSUE_DAY)
    return book, Payments(book, stripe_client)


def invoice_of(book, tenant_id):
    return next(i for i in book.of_period("2026-10") if i.tenant_id == tenant_id)


def intents(stripe_client):
    return [pi for pi in stripe_client.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter()]


def test_a_card_is_charged_once_and_the_invoice_is_paid(billed, stripe_client):
    book, payments = billed
    visa = invoice_of(book, "visa")
    assert payments.charge(visa, book.ledger.tenant("visa"), ISSUE_DAY).outcome == "paid"
    assert invoice_of(book, "visa").status == "paid"
    assert payments.charge(invoice_of(book, "visa"), book.ledger.tenant("visa"), ISSUE_DAY).outcome == "already_paid"
    [intent] = intents(stripe_client)
    assert (intent.amount, intent.status, intent.metadata["invoice_id"]) == (to_cents(visa.total), "succeeded", visa.invoice_id)
    assert [e["event"] for e in payments.audit(visa.invoice_id)] == ["charge_attempt", "charge_succeeded", "status_paid"]
    with book.ledger.engine.connect() as con:
        assert con.exec_driver_sql("SELECT display FROM payment_methods WHERE tenant_id = 'visa'").scalar() == "visa ending 4242"


def test_a_decline_leaves_the_invoice_pending_and_is_retried_on_schedule(billed, stripe_client):
    book, payments = billed
    t = book.ledger.tenant("declines")
    assert payments.charge(invoice_of(book, "declines"), t, ISSUE_DAY).outcome == "declined"
    assert invoice_of(book, "declines").status == "pending"
    assert payments.charge(invoice_of(book, "declines"), t, datetime(2026, 11, 3, 12, tzinfo=timezone.utc)).outcome == "not_due"
    assert payments.charge(invoice_of(book, "declines"), t, datetime(2026, 11, 4, tzinfo=timezone.utc)).outcome == "declined"
    assert payments.charge(invoice_of(book, "declines"), t, datetime(2026, 11, 5, tzinfo=timezone.utc)).outcome == "not_due"
    assert [a["status"] for a in payments.attempts(invoice_of(book, "declines").invoice_id)] == ["failed", "failed"]
    # unpaid after the due date (+3 days' grace) and a failed attempt: overdue
    assert payments.mark_overdue("2026-10", datetime(2026, 11, 4).date()) == []
    late = payments.mark_overdue("2026-10", datetime(2026, 11, 5).date())
    # nobody tried to charge visa: not its fault, never overdue; wire is due 12-01
    assert {i.tenant_id for i in late} == {"declines"}
    assert invoice_of(book, "declines").status == "overdue"
    assert payments.mark_overdue("2026-10", datetime(2026, 12, 31).date()) == [invoice_of(book, "big")]


def test_a_crash_between_stripe_and_the_ledger_is_reconciled_not_charged_again(billed, stripe_client, monkeypatch):
    book, payments = billed
    visa, t = invoice_of(book, "visa"), book.ledger.tenant("visa")

    def crash(*args, **kwargs):
        raise SystemExit("killed after Stripe said yes")

    monkeypatch.setattr(payments, "_settle", crash)
    with pytest.raises(SystemExit):
        payments.charge(visa, t, ISSUE_DAY)
    monkeypatch.undo()
    assert [a["status"] for a in payments.attempts(visa.invoice_id)] == ["started"]
    assert payments.charge(invoice_of(book, "visa"), t, ISSUE_DAY).outcome == "paid"
    assert len(intents(stripe_client)) == 1  # counted on the server
    assert invoice_of(book, "visa").status == "paid"


@pytest.mark.parametrize("ledger_url", ["sqlite", "postgresql"], indirect=True)
def test_two_runs_at_once_charge_once(billed, stripe_client):
    book, payments = billed
    visa, t = invoice_of(book, "visa"), book.ledger.tenant("visa")
    payments.method(t)  # the customer exists before the race
    results, barrier = [], threading.Barrier(2)

    def run():
        barrier.wait()
        results.append(Payments(InvoiceBook(Ledger(book.ledger.url)), stripe_client).charge(visa, t, ISSUE_DAY).outcome)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # The loser of the claim answers in_flight; one that comes once the attempt is written, or after it is
    # settled, reconciles it to paid (under load either happens). Whichever: one charge, and the invoice is paid.
    assert "paid" in results and set(results) <= {"in_flight", "paid"}
    assert len(intents(stripe_client)) == 1
    assert invoice_of(book, "visa").status == "paid"
    assert [a["status"] for a in payments.attempts(visa.invoice_id)] == ["succeeded"]


def test_wire_is_not_charged_and_a_received_transfer_marks_it_paid(billed, stripe_client):
    book, payments = billed
    big = invoice_of(book, "big")
    assert payments.charge(big, book.ledger.tenant("big"), ISSUE_DAY).outcome == "awaiting_transfer"
    assert intents(stripe_client) == []
    payments.mark_paid(big, "WIRE-REF-77", "ops@platform", ISSUE_DAY)
    assert invoice_of(book, "big").status == "paid"
    assert [(e["event"], e["actor"], e["details"]) for e in payments.audit(big.invoice_id)][0] == (
        "manual_payment", "ops@platform", "WIRE-REF-77")


def test_a_card_without_a_stripe_payment_method_is_an_error_of_that_invoice_alone(tmp_path, stripe_client):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    ledger.import_directory(directory(tenant("nocard", payment_method={"type": "card"}), tenant("visa")), TODAY)
    book = InvoiceBook(ledger)
    payments = Payments(book, stripe_client)
    for t in ledger.tenants():
        book.record(t, rate(t, "2026-10", {}, BOOK), ISSUE_DAY)
    result = payments.charge(invoice_of(book, "nocard"), ledger.tenant("nocard"), ISSUE_DAY)
    assert (result.outcome, result.detail) == (
        "method_error", "tenant 'nocard': a card payment method needs a Stripe payment method id")
    assert invoice_of(book, "nocard").status == "pending"
    assert payments.charge(invoice_of(book, "visa"), ledger.tenant("visa"), ISSUE_DAY).outcome == "paid"
    assert [intent.metadata["invoice_id"] for intent in intents(stripe_client)] == [invoice_of(book, "visa").invoice_id]


def test_cents_exist_only_at_stripe():
    assert to_cents(D("427.79")) == 42779
    with pytest.raises(Exception):
        to_cents(D("0.001"))


# What localstripe lacks, against Stripe's documented wire responses (tests/stripe_boundary.py).

@pytest.fixture
def boundary_billed(tmp_path, stripe_boundary):
    import stripe

    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    ledger.import_directory(directory(
        tenant("stolen", payment_method={"type": "card", "stripe_payment_method": "pm_card_visa_chargeDeclinedStolenCard"}),
        tenant("expired", payment_method={"type": "card", "stripe_payment_method": "pm_card_chargeDeclinedExpiredCard"}),
        tenant("bank", payment_method={"type": "ach", "stripe_payment_method": "pm_usBankAccount_success"}),
        tenant("broke", payment_method={"type": "ach", "stripe_payment_method": "pm_usBankAccount_insufficientFunds"})), TODAY)
    book = InvoiceBook(ledger)
    for t in ledger.tenants():
        book.record(t, rate(t, "2026-10", {"sql_queries": D(100_250)}, BOOK), ISSUE_DAY)
    client = stripe.StripeClient("sk_test_boundary", base_addresses={"api": stripe_boundary.url}, max_network_retries=0)
    return book, Payments(book, client)


def test_a_hard_decline_is_never_retried_blindly(boundary_billed, stripe_boundary):
    book, payments = boundary_billed
    for tenant_id, code in (("stolen", "stolen_card"), ("expired", "expired_card")):
        t = book.ledger.tenant(tenant_id)
        result = payments.charge(invoice_of(book, tenant_id), t, ISSUE_DAY)
        assert (result.outcome, result.detail) == ("hard_declined", code)
        for day in (4, 6, 8, 20):  # every retry day passes: no new attempt, no new PaymentIntent
            later = datetime(2026, 11, day, tzinfo=timezone.utc)
            assert payments.charge(invoice_of(book, tenant_id), t, later).outcome == "hard_declined"
        [attempt] = payments.attempts(invoice_of(book, tenant_id).invoice_id)
        assert (attempt["status"], attempt["error_code"]) == ("failed", code)
        assert invoice_of(book, tenant_id).status == "pending"
    assert len(stripe_boundary.intents) == 2


def test_an_ach_debit_is_processing_until_it_settles_or_fails(boundary_billed, stripe_boundary):
    book, payments = boundary_billed
    for tenant_id in ("bank", "broke"):
        assert payments.charge(invoice_of(book, tenant_id), book.ledger.tenant(tenant_id), ISSUE_DAY).outcome == "processing"
    for tenant_id in ("stolen", "expired"):
        assert payments.charge(invoice_of(book, tenant_id), book.ledger.tenant(tenant_id), ISSUE_DAY).outcome == "hard_declined"
    assert book.processing_attempts() and {invoice_of(book, t).status for t in ("bank", "broke")} == {"pending"}
    # money on its way is not overdue, however late the settlement
    late = payments.mark_overdue("2026-10", datetime(2026, 11, 20).date())
    assert {i.tenant_id for i in late} == {"stolen", "expired"}
    # while processing, neither a rerun nor a retry day sends a second debit
    assert payments.charge(invoice_of(book, "bank"), book.ledger.tenant("bank"), datetime(2026, 11, 6, tzinfo=timezone.utc)
                           ).outcome == "processing"
    assert payments.follow_processing(book.of_period("2026-10"), ISSUE_DAY) == []
    stripe_boundary.settle()
    settled = {r.invoice_id: (r.outcome, r.detail) for r in payments.follow_processing(book.of_period("2026-10"), ISSUE_DAY)}
    assert settled == {invoice_of(book, "bank").invoice_id: ("paid", ""),
                       invoice_of(book, "broke").invoice_id: ("declined", "insufficient_funds")}
    assert (invoice_of(book, "bank").status, invoice_of(book, "broke").status) == ("paid", "pending")
    assert [e["event"] for e in payments.audit(invoice_of(book, "bank").invoice_id)] == [
        "charge_attempt", "charge_processing", "ach_succeeded", "status_paid"]
    # a returned debit is a soft failure: retried on the dunning schedule, as a declined card is
    broke = invoice_of(book, "broke")
    assert payments.charge(broke, book.ledger.tenant("broke"), datetime(2026, 11, 6, tzinfo=timezone.utc)).outcome == "processing"
    assert [a["status"] for a in payments.attempts(broke.invoice_id)] == ["failed", "processing"]
    with book.ledger.engine.connect() as con:
        assert con.exec_driver_sql("SELECT display FROM payment_methods WHERE tenant_id = 'bank'").scalar() == (
            "bank account ending 6789")
    assert len(stripe_boundary.intents) == 5


def test_ach_settles_through_the_close_the_sensor_and_the_daily_collection(billing_home, stripe_boundary, monkeypatch):
    import dagster as dg

    from assets.pay import ach_settlement_sensor
    from billing_jobs.definitions import defs
    from billing_jobs.runner import close_month
    from resources import BillingStore
    from tests.conftest import Metering, event

    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_boundary")  # read by the Definitions through dg.EnvVar
    monkeypatch.setenv("STRIPE_API_BASE", stripe_boundary.url)
    metering = Metering(billing_home)
    metering.import_tenants(tenant("bank", payment_method={"type": "ach", "stripe_payment_method": "pm_usBankAccount_success"}))
    metering.write("2026-10-15", [event("q1", "2026-10-15T10:00:00Z", "bank", "sql_queries", "10")])
    assert close_month(metering.settings, "2026-10")["payments"] == {"processing": 1}
    book = InvoiceBook(Ledger(metering.settings.ledger_url))
    assert invoice_of(book, "bank").status == "pending"

    instance = dg.DagsterInstance.get()  # the instance the close ran on
    sensor = lambda: ach_settlement_sensor(dg.build_sensor_context(
        instance=instance, resources={"billing": BillingStore(billing_home=str(billing_home))}))
    assert len(sensor().run_requests) == 1
    collect = defs.resolve_job_def("collect_payments")
    assert collect.execute_in_process(instance=instance).success  # not settled yet: still processing
    assert invoice_of(book, "bank").status == "pending"

    stripe_boundary.settle()
    assert collect.execute_in_process(instance=instance).success
    assert invoice_of(book, "bank").status == "paid"
    assert sensor().run_requests == []
    assert collect.execute_in_process(instance=instance).success
    assert len(stripe_boundary.intents) == 1  # one debit, whatever ran how often
