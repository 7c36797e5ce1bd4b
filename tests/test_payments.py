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
from tests.conftest import tenant
from tests.test_ledger import directory

BOOK = load_price_book(Settings.from_env({}).price_book)
ISSUE_DAY = datetime(2026, 11, 3, tzinfo=timezone.utc)


@pytest.fixture
def billed(tmp_path, stripe_client):
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    ledger.import_directory(directory(
        tenant("visa"),
        tenant("declines", payment_method={"type": "card", "stripe_payment_method": "pm_card_chargeCustomerFail"}),
        tenant("big", plan="enterprise", payment_method={"type": "wire"})))
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
    assert payments.charge(invoice_of(book, "visa"), book.ledger.tenant("visa"), ISSUE_DAY).outcome == "skipped"
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
    # unpaid after the due date (+3 days' grace): overdue
    assert payments.mark_overdue(book.of_period("2026-10"), datetime(2026, 11, 4).date()) == []
    late = payments.mark_overdue(book.of_period("2026-10"), datetime(2026, 11, 5).date())
    assert {i.tenant_id for i in late} == {"declines", "visa"}  # nobody charged visa here; wire is due 12-01
    assert invoice_of(book, "declines").status == "overdue"


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
    assert sorted(results) == ["paid", "skipped"]
    assert len(intents(stripe_client)) == 1


def test_wire_is_not_charged_and_a_received_transfer_marks_it_paid(billed, stripe_client):
    book, payments = billed
    big = invoice_of(book, "big")
    assert payments.charge(big, book.ledger.tenant("big"), ISSUE_DAY).outcome == "skipped"
    assert intents(stripe_client) == []
    payments.mark_paid(big, "WIRE-REF-77", "ops@platform", ISSUE_DAY)
    assert invoice_of(book, "big").status == "paid"
    assert [(e["event"], e["actor"], e["details"]) for e in payments.audit(big.invoice_id)][0] == (
        "manual_payment", "ops@platform", "WIRE-REF-77")


def test_cents_exist_only_at_stripe():
    assert to_cents(D("427.79")) == 42779
    with pytest.raises(Exception):
        to_cents(D("0.001"))
