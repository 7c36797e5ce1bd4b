"""The rules of collection, each against Stripe's wire (tests/stripe_boundary.py): what is sent, what is never
sent, what a lost answer or a refused request leaves behind, and what a second run at the same moment decides."""
import threading
from datetime import datetime, timezone
from decimal import Decimal as D

import pytest
import stripe

from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing.payments import Payments, tenant_message
from billing.pricing import rate
from tests.conftest import TODAY, tenant
from tests.test_ledger import directory
from tests.test_payments import BOOK, ISSUE_DAY, invoice_of, ledger_url  # noqa: F401 (a fixture)

INTENTS = "/v1/payment_intents"
LATE = datetime(2026, 11, 20, tzinfo=timezone.utc)  # past every due date (11-01) and its grace (3 days)


def day(n: int) -> datetime:
    return datetime(2026, 11, n, tzinfo=timezone.utc)


def client_of(boundary, retries: int = 0):
    return stripe.StripeClient("sk_test_boundary", base_addresses={"api": boundary.url}, max_network_retries=retries)


def bill(url: str, *tenants: dict, usage=None, now: datetime = ISSUE_DAY) -> InvoiceBook:
    ledger = Ledger(url)
    ledger.import_directory(directory(*tenants), TODAY)
    book = InvoiceBook(ledger)
    for t in ledger.tenants():
        book.record(t, rate(t, "2026-10", usage or {"sql_queries": D(100_250)}, BOOK), now)
    return book


@pytest.fixture
def visa(ledger_url, stripe_boundary):
    """One card tenant whose card works, its October invoice final and unpaid."""
    book = bill(ledger_url, tenant("visa"))
    return book, Payments(book, client_of(stripe_boundary))


def attempt_statuses(payments, invoice):
    return [(a["status"], a["error_code"]) for a in payments.attempts(invoice.invoice_id)]


def test_the_idempotency_key_is_the_attempt_id_and_a_retry_sends_it_again(visa, stripe_boundary):
    book, _ = visa
    payments = Payments(book, client_of(stripe_boundary, retries=2))
    stripe_boundary.fail_next("POST", INTENTS, 500, {"type": "api_error", "message": "An unknown error occurred"})
    stripe_boundary.drop_next("POST", INTENTS)  # done by Stripe, its answer lost: the SDK asks again
    invoice = invoice_of(book, "visa")
    assert payments.charge(invoice, book.ledger.tenant("visa"), ISSUE_DAY).outcome == "paid"
    [(attempt_id, _)] = [(a["attempt_id"], a) for a in payments.attempts(invoice.invoice_id)]
    keys = [headers["Idempotency-Key"] for headers, _ in stripe_boundary.sent("POST", INTENTS)]
    assert keys == [attempt_id] * 3  # the failed request, the lost answer, the retry: one key, the attempt's
    assert len(stripe_boundary.intents) == 1  # so Stripe did it once


def test_drafts_are_never_charged(ledger_url, stripe_boundary):
    book = bill(ledger_url, tenant("visa"), now=datetime(2026, 11, 2, tzinfo=timezone.utc))  # before the grace ends
    payments = Payments(book, client_of(stripe_boundary))
    draft = invoice_of(book, "visa")
    assert draft.state == "draft"
    assert payments.charge(draft, book.ledger.tenant("visa"), LATE).outcome == "draft"
    assert stripe_boundary.requests == [] and payments.attempts(draft.invoice_id) == []


def test_a_lost_answer_is_reconciled_on_the_next_run_never_charged_again(visa, stripe_boundary):
    book, payments = visa
    stripe_boundary.drop_next("POST", INTENTS)
    invoice, t = invoice_of(book, "visa"), book.ledger.tenant("visa")
    result = payments.charge(invoice, t, ISSUE_DAY)
    assert result.outcome == "unknown" and "APIConnectionError" in result.detail
    assert attempt_statuses(payments, invoice) == [("started", None)]
    assert payments.mark_overdue("2026-10", LATE.date()) == []  # a charge in flight is never overdue
    assert payments.charge(invoice_of(book, "visa"), t, ISSUE_DAY).outcome == "paid"
    assert attempt_statuses(payments, invoice) == [("succeeded", None)]
    assert invoice_of(book, "visa").status == "paid"
    assert len(stripe_boundary.sent("POST", INTENTS)) == 1 and len(stripe_boundary.intents) == 1


def test_an_attempt_that_never_reached_stripe_is_sent_by_the_next_run_under_its_key(visa, stripe_boundary, monkeypatch):
    book, payments = visa
    invoice, t = invoice_of(book, "visa"), book.ledger.tenant("visa")
    payments.method(t)

    def killed(*args, **kwargs):
        raise SystemExit("killed after the attempt row, before Stripe")

    monkeypatch.setattr(payments.stripe.v1.payment_intents, "create", killed)
    with pytest.raises(SystemExit):
        payments.charge(invoice, t, ISSUE_DAY)
    monkeypatch.undo()
    assert attempt_statuses(payments, invoice) == [("started", None)]
    assert stripe_boundary.sent("POST", INTENTS) == []
    assert payments.mark_overdue("2026-10", LATE.date()) == []  # a charge in flight is never overdue
    # the next run finds no PaymentIntent of it at Stripe: it sends the same attempt, under the same key
    assert payments.charge(invoice_of(book, "visa"), t, ISSUE_DAY).outcome == "paid"
    [attempt] = payments.attempts(invoice.invoice_id)
    [(headers, form)] = stripe_boundary.sent("POST", INTENTS)
    assert headers["Idempotency-Key"] == form["metadata"]["attempt_id"] == attempt["attempt_id"]
    assert (attempt["status"], len(stripe_boundary.intents)) == ("succeeded", 1)


@pytest.mark.parametrize("ledger_url", ["sqlite", "postgresql"], indirect=True)
def test_a_run_that_finds_another_runs_attempt_in_flight_charges_nothing_more(visa, stripe_boundary):
    """Run B sees run A's attempt `started` while A's request is on its way: B's reconciliation sends the same
    request under the same key, so Stripe makes one PaymentIntent, and both record it once."""
    book, first = visa
    t = book.ledger.tenant("visa")
    first.method(t)
    release = threading.Event()
    stripe_boundary.hold(INTENTS, release)
    results = []
    runs = [first, Payments(InvoiceBook(Ledger(book.ledger.url)), client_of(stripe_boundary))]
    threads = [threading.Thread(target=lambda run=run: results.append(run.charge(invoice_of(book, "visa"), t, ISSUE_DAY)))
               for run in runs]
    threads[0].start()
    while not first.attempts(invoice_of(book, "visa").invoice_id):
        threading.Event().wait(0.01)
    threads[1].start()
    while stripe_boundary.waiting < 2:  # both requests at Stripe's door
        threading.Event().wait(0.01)
    release.set()
    for thread in threads:
        thread.join()
    assert [r.outcome for r in results] == ["paid", "paid"]
    keys = {headers["Idempotency-Key"] for headers, _ in stripe_boundary.sent("POST", INTENTS)}
    assert len(keys) == 1 and len(stripe_boundary.intents) == 1
    audit = [e["event"] for e in first.audit(invoice_of(book, "visa").invoice_id)]
    assert (audit.count("charge_succeeded"), audit.count("status_paid"), invoice_of(book, "visa").status) == (1, 1, "paid")


def test_a_key_stripe_is_still_doing_for_another_run_leaves_the_attempt_to_reconcile(visa, stripe_boundary):
    book, payments = visa
    stripe_boundary.fail_next("POST", INTENTS, 409, {"type": "idempotency_error", "code": "idempotency_key_in_use",
                                                     "message": "There is currently another in-progress request "
                                                                "using this Stripe-Idempotency-Key"})
    invoice, t = invoice_of(book, "visa"), book.ledger.tenant("visa")
    assert payments.charge(invoice, t, ISSUE_DAY).outcome == "unknown"
    assert attempt_statuses(payments, invoice) == [("started", None)]  # never `not_charged`: it may be charged
    assert payments.charge(invoice_of(book, "visa"), t, ISSUE_DAY).outcome == "paid"
    assert len(stripe_boundary.intents) == 1


def test_a_request_error_that_is_not_a_card_error_is_for_operators(ledger_url, stripe_boundary):
    book = bill(ledger_url, tenant("visa"), tenant("other"))
    payments = Payments(book, client_of(stripe_boundary))
    stripe_boundary.fail_next("POST", INTENTS, 400, {"type": "invalid_request_error", "code": "resource_missing",
                                                     "message": "No such customer: 'cus_gone'", "param": "customer"})
    first, second = book.of_period("2026-10")
    refused = payments.charge(first, book.ledger.tenant(first.tenant_id), ISSUE_DAY)
    assert refused.outcome == "stripe_error" and "No such customer: 'cus_gone'" in refused.detail
    assert tenant_message(first, refused) is None  # ours to fix: the tenant is not told
    assert attempt_statuses(payments, first) == [("not_charged", "resource_missing")]
    assert payments.charge(second, book.ledger.tenant(second.tenant_id), ISSUE_DAY).outcome == "paid"  # the close goes on
    assert payments.mark_overdue("2026-10", LATE.date()) == []  # a refused request is no decline
    assert [e["event"] for e in payments.audit(first.invoice_id)] == ["charge_attempt", "charge_error"]


def test_retries_end_after_the_last_retry_day(tmp_path, stripe_client):
    book = bill(f"sqlite:///{tmp_path / 'ledger.sqlite'}",
                tenant("declines", payment_method={"type": "card", "stripe_payment_method": "pm_card_chargeCustomerFail"}))
    payments, t = Payments(book, stripe_client), book.ledger.tenant("declines")
    outcomes = [payments.charge(invoice_of(book, "declines"), t, when).outcome
                for when in (day(3), day(4), day(6), day(8), day(9), day(30))]
    assert outcomes == ["declined"] * 4 + ["retries_exhausted"] * 2  # issue day, then 3, 5 and 7 days after 11-01
    assert len(stripe_client.v1.payment_intents.list(params={"limit": 100}).data) == 4


@pytest.mark.parametrize("ledger_url", ["sqlite", "postgresql"], indirect=True)
def test_an_invoice_is_never_overdue_while_its_charge_is_in_flight(visa, stripe_boundary):
    """A second run marks overdue while the first is charging: the decision sees the attempt in flight."""
    book, payments = visa
    invoice, t = invoice_of(book, "visa"), book.ledger.tenant("visa")
    stripe_boundary.fail_next("POST", INTENTS, 402, {"type": "card_error", "code": "card_declined",
                                                     "decline_code": "insufficient_funds", "message": "Declined."})
    assert payments.charge(invoice, t, ISSUE_DAY).outcome == "declined"  # a failed attempt: may become overdue
    release = threading.Event()
    stripe_boundary.hold(INTENTS, release)
    retry = threading.Thread(target=lambda: results.append(payments.charge(invoice_of(book, "visa"), t, day(6))))
    results = []
    retry.start()
    try:
        while len(payments.attempts(invoice.invoice_id)) < 2:  # the retry's attempt row is written: in flight
            threading.Event().wait(0.01)
        other_run = Payments(InvoiceBook(Ledger(book.ledger.url)), None)
        assert other_run.mark_overdue("2026-10", day(6).date()) == []
    finally:
        release.set()
        retry.join()
    assert results[0].outcome == "paid" and invoice_of(book, "visa").status == "paid"
    assert "status_overdue" not in [e["event"] for e in payments.audit(invoice.invoice_id)]


@pytest.mark.parametrize("ledger_url", ["sqlite", "postgresql"], indirect=True)
def test_two_runs_setting_the_same_method_record_it_once(ledger_url, stripe_boundary):
    book = bill(ledger_url, tenant("visa"))
    both_read = threading.Barrier(2, timeout=30)
    stripe_boundary.hold("/v1/customers", both_read)  # each run has read "no method yet" before either writes
    runs = [Payments(InvoiceBook(Ledger(ledger_url)), client_of(stripe_boundary)) for _ in range(2)]
    threads = [threading.Thread(target=run.method, args=(book.ledger.tenant("visa"),)) for run in runs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with book.ledger.engine.connect() as con:
        events = con.exec_driver_sql("SELECT details FROM audit_log WHERE event = 'payment_method_set'").scalars().all()
    assert events == ["card visa ending 4242"]


def test_an_ach_debit_followed_while_stripe_is_unreachable_stays_processing(ledger_url, stripe_boundary):
    book = bill(ledger_url, tenant("bank", payment_method={"type": "ach", "stripe_payment_method": "pm_usBankAccount_success"}))
    invoice, t = invoice_of(book, "bank"), book.ledger.tenant("bank")
    assert Payments(book, client_of(stripe_boundary)).charge(invoice, t, ISSUE_DAY).outcome == "processing"
    unreachable = Payments(book, stripe.StripeClient("sk_test", base_addresses={"api": "http://127.0.0.1:9"}))
    [result] = unreachable.follow_processing(book.of_period("2026-10"), LATE)
    assert result.outcome == "stripe_error" and "APIConnectionError" in result.detail
    assert attempt_statuses(unreachable, invoice) == [("processing", None)]  # asked again by the next run


def test_stripes_test_bank_accounts_settle_as_documented(ledger_url, stripe_boundary):
    book = bill(ledger_url, *(tenant(name, payment_method={"type": "ach", "stripe_payment_method": f"pm_usBankAccount_{name}"})
                              for name in ("success", "noAccount", "insufficientFunds")))
    payments = Payments(book, client_of(stripe_boundary))
    for t in book.ledger.tenants():
        assert payments.charge(invoice_of(book, t.tenant_id), t, ISSUE_DAY).outcome == "processing"
    with book.ledger.engine.connect() as con:
        shown = dict(con.exec_driver_sql("SELECT tenant_id, display FROM payment_methods").fetchall())
    assert shown == {"success": "bank account ending 6789", "noAccount": "bank account ending 1116",
                     "insufficientFunds": "bank account ending 2227"}  # 000123456789, 000111111116, 000222222227
    stripe_boundary.settle()
    settled = {invoice_of(book, t.tenant_id).invoice_id: t.tenant_id for t in book.ledger.tenants()}
    outcomes = {settled[r.invoice_id]: (r.outcome, r.detail) for r in payments.follow_processing(book.of_period("2026-10"), LATE)}
    assert outcomes == {"success": ("paid", ""), "noAccount": ("declined", "no_account"),
                        "insufficientFunds": ("declined", "insufficient_funds")}
