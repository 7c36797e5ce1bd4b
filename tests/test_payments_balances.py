"""Totals Stripe cannot or should not charge, and what tenants and operators read when collection fails."""
from datetime import datetime, timezone
from decimal import Decimal as D

from billing.invoices import InvoiceBook
from billing.ledger import Ledger
from billing.payments import Payments
from billing.pricing import rate
from tests.conftest import Metering, tenant
from tests.test_payments import BOOK, ISSUE_DAY, invoice_of
from tests.test_payments_rules import INTENTS, bill, client_of

NO_FEE = {"plan": "enterprise", "contract_monthly_fee": 0}
DECEMBER_CLOSE = datetime(2026, 12, 3, tzinfo=timezone.utc)


def storage(gb: str) -> dict:
    return {"storage_gb": D(gb)}  # enterprise storage above 1024 GB is 0.10 USD a GB


def test_an_enterprise_tenant_without_a_fee_closes_paid_without_stripe(billing_home, stripe_boundary, monkeypatch):
    from billing.alerts import AlertBook
    from billing_jobs.runner import close_month

    monkeypatch.setenv("STRIPE_API_KEY", "sk_test_boundary")
    monkeypatch.setenv("STRIPE_API_BASE", stripe_boundary.url)
    metering = Metering(billing_home)
    metering.import_tenants(tenant("free", **NO_FEE))
    metering.root.mkdir(parents=True)
    assert close_month(metering.settings, "2026-10")["payments"] == {"settled_without_charge": 1}
    ledger = Ledger(metering.settings.ledger_url)
    [invoice] = InvoiceBook(ledger).of_tenant("free")
    assert (invoice.total, invoice.status, invoice.adjustments) == (D("0.00"), "paid", ())  # nothing to carry
    assert stripe_boundary.requests == []  # not a customer, not a charge
    assert close_month(metering.settings, "2026-10")["payments"] == {"already_paid": 1}
    assert AlertBook(ledger).notifications("free") == []  # no payment failed, no overdue


def test_a_zero_total_is_paid_without_a_stripe_key_and_never_overdue(tmp_path):
    book = bill(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tenant("free", **NO_FEE))
    payments = Payments(book, None)
    assert payments.charge(invoice_of(book, "free"), book.ledger.tenant("free"), ISSUE_DAY).outcome == "settled_without_charge"
    assert invoice_of(book, "free").status == "paid"
    assert payments.mark_overdue("2026-10", DECEMBER_CLOSE.date()) == []


def test_a_total_below_the_minimum_charge_is_carried_to_the_next_invoice(tmp_path, stripe_boundary):
    book = bill(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tenant("tiny", **NO_FEE, tax_rate="0.1"), usage=storage("1027"))
    payments, t = Payments(book, client_of(stripe_boundary)), book.ledger.tenant("tiny")
    october = invoice_of(book, "tiny")
    assert (october.subtotal, october.total) == (D("0.30"), D("0.33"))
    assert payments.charge(october, t, ISSUE_DAY).outcome == "settled_without_charge"
    assert stripe_boundary.sent("POST", INTENTS) == []
    assert invoice_of(book, "tiny").status == "paid"
    [carried] = invoice_of(book, "tiny").adjustments
    assert (carried["kind"], D(carried["amount"])) == ("balance", D("0.30"))  # before tax: the next invoice taxes it
    # a later close of October finds its rating unchanged: the carried balance is no difference
    assert book.record(t, rate(t, "2026-10", storage("1027"), BOOK), DECEMBER_CLOSE).action == "final"
    book.record(t, rate(t, "2026-11", storage("1034"), BOOK), DECEMBER_CLOSE)
    november = next(i for i in book.of_tenant("tiny") if i.period == "2026-11")
    assert [line.amount for line in november.lines] == [D("0.00"), D("1.00"), D("0.30")]
    assert (november.tax, november.total) == (D("0.13"), D("1.43"))  # 1.30 and its tax: paid once, here
    assert payments.charge(november, t, DECEMBER_CLOSE).outcome == "paid"
    assert [(i["amount"]) for i in stripe_boundary.intents.values()] == [143]
    assert payments.charge(invoice_of(book, "tiny"), t, DECEMBER_CLOSE).outcome == "already_paid"  # carried once


def test_a_negative_total_is_a_credit_carried_forward_never_charged(tmp_path, stripe_boundary):
    book = bill(f"sqlite:///{tmp_path / 'ledger.sqlite'}", tenant("credit", **NO_FEE), usage=storage("1034"))
    payments, t = Payments(book, client_of(stripe_boundary)), book.ledger.tenant("credit")
    assert payments.charge(invoice_of(book, "credit"), t, ISSUE_DAY).outcome == "paid"  # 1.00
    # October's usage is corrected down after it was final: a -1.00 difference goes to November, which is 0.00
    assert book.record(t, rate(t, "2026-10", storage("1024"), BOOK), ISSUE_DAY).difference == D("-1.00")
    book.record(t, rate(t, "2026-11", {}, BOOK), DECEMBER_CLOSE)
    november = next(i for i in book.of_tenant("credit") if i.period == "2026-11")
    assert (november.state, november.total) == ("final", D("-1.00"))
    assert payments.charge(november, t, DECEMBER_CLOSE).outcome == "settled_without_charge"
    assert len(stripe_boundary.intents) == 1  # only October's charge: a credit is never sent
    assert payments.mark_overdue("2026-11", datetime(2027, 1, 31).date()) == []
    book.record(t, rate(t, "2026-12", storage("1029"), BOOK), datetime(2027, 1, 3, tzinfo=timezone.utc))
    december = next(i for i in book.of_tenant("credit") if i.period == "2026-12")
    assert [line.amount for line in december.lines][-1:] == [D("-1.00")] and december.total == D("-0.50")
    assert [e["event"] for e in payments.audit(november.invoice_id)] == ["status_paid", "balance_carried"]


def test_tenants_read_plain_sentences_and_operators_the_detail(billing_home, stripe_boundary):
    from assets.pay import collect
    from billing.alerts import AlertBook
    from resources import BillingStore, StripeResource

    metering = Metering(billing_home)
    metering.import_tenants(tenant("visa"), tenant("stolen", payment_method={
        "type": "card", "stripe_payment_method": "pm_card_visa_chargeDeclinedStolenCard"}))
    ledger = Ledger(metering.settings.ledger_url)
    book = InvoiceBook(ledger)
    for t in ledger.tenants():
        book.record(t, rate(t, "2026-10", {}, BOOK), ISSUE_DAY)
    billing, alerts = BillingStore(billing_home=str(billing_home)), AlertBook(ledger)

    unreachable = StripeResource(api_key="sk_test_boundary", api_base="http://127.0.0.1:9")
    collection = collect(billing, unreachable, ["2026-10"], actor="test")
    assert collection.counts == {"stripe_error": 2}
    assert all("Connection refused" in problem or "connect" in problem.lower() for problem in collection.problems)
    assert alerts.notifications("visa") == alerts.notifications("stolen") == []  # ours to fix; never overdue either
    errors = [e["details"] for e in Payments(book, None).audit(invoice_of(book, "visa").invoice_id)]
    assert errors and all("APIConnectionError" in detail for detail in errors)  # the detail is kept, for operators

    reachable = StripeResource(api_key="sk_test_boundary", api_base=stripe_boundary.url)
    # declined, and past its due date (11-01) and grace on 11-29: overdue too
    assert collect(billing, reachable, ["2026-10"], actor="test").counts == {"paid": 1, "hard_declined": 1, "overdue": 1}
    [notice] = [n for n in alerts.notifications("stolen") if n["level"] == "payment_failed"]
    stolen = invoice_of(book, "stolen")
    assert notice["message"] == (f"the payment of invoice {stolen.invoice_number} ({stolen.total} USD) was declined "
                                 "and cannot be retried; please update your payment method")


def test_operators_read_every_problem_in_the_log_and_the_first_ones_in_the_metadata():
    from assets.pay import Collection

    collection = Collection({"no_stripe_key": 3, "stripe_error": 60}, [f"INV-{n:06d} (t{n}): stripe_error: boom" for n in range(60)])
    assert collection.warnings()[0].startswith("STRIPE_API_KEY is not set: 3 card or ACH invoices were not charged")
    listed = collection.metadata()["payment problems"].value.splitlines()
    assert (len(listed), listed[-1]) == (51, "- ... and 11 more (the run's log)")
    assert collection.metadata()["payments stripe_error"] == 60
