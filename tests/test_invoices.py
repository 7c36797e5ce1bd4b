"""Invoices in the ledger (SQLite and PostgreSQL): stable ids, gap-free numbers, drafts, finals, adjustments."""
from datetime import date, datetime, timezone
from decimal import Decimal as D

import pytest

from billing.invoices import InvoiceBook, invoice_id_for
from billing.price_book import load_price_book
from billing.pricing import rate
from billing.settings import Settings
from tests.test_ledger import directory, ledger  # noqa: F401 - the SQLite/PostgreSQL fixture
from tests.conftest import TODAY, tenant

BOOK = load_price_book(Settings.from_env({}).price_book)
DURING_NOVEMBER = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)  # October still a draft (2 days' grace)
AFTER_GRACE = datetime(2026, 11, 3, tzinfo=timezone.utc)


@pytest.fixture
def book(ledger):  # noqa: F811
    ledger.import_directory(directory(tenant("acme", plan="starter"), tenant("big", plan="enterprise", payment_method={"type": "invoice"})), TODAY)
    return InvoiceBook(ledger, grace_days=2)


def bill(book, tenant_id, period, totals, now):
    t = book.ledger.tenant(tenant_id)
    return book.record(t, rate(t, period, totals, BOOK), now)


def test_a_draft_is_recomputed_with_the_same_id_and_number(book):
    first = bill(book, "acme", "2026-10", {"sql_queries": D(10_100)}, DURING_NOVEMBER)
    assert first.action == "created" and first.invoice_id == invoice_id_for("acme", "2026-10")
    again = bill(book, "acme", "2026-10", {"sql_queries": D(10_100)}, DURING_NOVEMBER)
    assert again.action == "unchanged"
    more = bill(book, "acme", "2026-10", {"sql_queries": D(10_200)}, DURING_NOVEMBER)
    assert more.action == "updated"
    [invoice] = book.of_period("2026-10")
    assert (invoice.invoice_number, invoice.state, invoice.status, invoice.total) == ("INV-000001", "draft", "pending", D("100.00"))
    assert (invoice.issued_at, invoice.due_date) == (date(2026, 11, 1), date(2026, 11, 1))


def test_numbers_are_gap_free_and_net_30_for_invoice_payment(book):
    bill(book, "acme", "2026-10", {}, AFTER_GRACE)
    bill(book, "big", "2026-10", {}, AFTER_GRACE)
    bill(book, "acme", "2026-10", {}, AFTER_GRACE)  # a rerun takes no number
    bill(book, "acme", "2026-11", {}, AFTER_GRACE)
    numbers = sorted(i.invoice_number for p in ("2026-10", "2026-11") for i in book.of_period(p))
    assert numbers == ["INV-000001", "INV-000002", "INV-000003"]
    big = book.get("INV-000002")
    assert (big.tenant_id, big.total, big.due_date) == ("big", D("5000.00"), date(2026, 12, 1))


def test_a_final_invoice_is_never_rewritten_and_a_difference_becomes_one_adjustment(book):
    bill(book, "acme", "2026-10", {"sql_queries": D(10_000)}, AFTER_GRACE)
    [final] = book.of_period("2026-10")
    assert final.state == "final" and final.total == D("99.00")
    late = bill(book, "acme", "2026-10", {"sql_queries": D(10_400)}, AFTER_GRACE)  # late usage: +2.00
    assert (late.action, late.difference) == ("adjusted", D("2.00"))
    assert bill(book, "acme", "2026-10", {"sql_queries": D(10_400)}, AFTER_GRACE).action == "final"  # once
    with book.ledger.engine.connect() as con:
        assert con.exec_driver_sql("SELECT event, amount FROM audit_log").fetchall() == [("adjustment", "2.00")]
    [still] = book.of_period("2026-10")
    assert still.total == D("99.00") and [a["amount"] for a in still.adjustments] == [D("2.00")]
    # ... and lands on the next invoice
    bill(book, "acme", "2026-11", {}, DURING_NOVEMBER)
    bill(book, "acme", "2026-11", {}, DURING_NOVEMBER)  # recomputing the draft keeps it once
    [november] = book.of_period("2026-11")
    assert [(line.metric, line.amount) for line in november.lines] == [("base", D("99.00")), ("adjustment", D("2.00"))]
    assert november.subtotal == D("101.00")
    assert book.get(still.invoice_id).adjustments[0]["applied_invoice_id"] == november.invoice_id
    # a correction back down is a credit
    assert bill(book, "acme", "2026-10", {"sql_queries": D(10_000)}, AFTER_GRACE).difference == D("-2.00")
