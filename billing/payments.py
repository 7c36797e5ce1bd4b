"""Payments: card and ACH invoices charged through Stripe, never twice; dunning, overdue, manual payments.

Never twice: a payment_attempts row (unique per invoice and attempt number) is committed before Stripe
is called; its id is the Idempotency-Key and travels in the PaymentIntent's metadata. An attempt left
`started` (a crash between Stripe and the ledger) is reconciled with Stripe before anything new is
tried. Stripe forgets idempotency keys after about 24 hours, so the ledger is the guard.
Money is Decimal until here; cents exist only in the Stripe call.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import sqlalchemy as sa
import stripe

from billing.directory import Tenant
from billing.invoices import Invoice, InvoiceBook
from billing.settings import BillingError
from billing.sql import query

CHARGED = ("card", "ach")
# Declines that retrying cannot fix: the card or account must change first.
HARD_DECLINES = {"expired_card", "incorrect_number", "invalid_account", "lost_card", "stolen_card", "fraudulent",
                 "pickup_card", "restricted_card", "card_not_supported", "revocation_of_authorization"}


def _q(name: str) -> sa.TextClause:
    return sa.text(query(f"ledger/{name}"))


def to_cents(amount: Decimal) -> int:
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise BillingError(f"{amount} is not a whole number of cents")
    return int(cents)


def display_of(method) -> str | None:
    """What a person recognises a Stripe payment method by: `visa ending 4242`, never a card number."""
    card = getattr(method, "card", None)
    bank = getattr(method, "us_bank_account", None)
    return f"{card.brand} ending {card.last4}" if card else f"bank account ending {bank.last4}" if bank else None


@dataclass(frozen=True)
class ChargeResult:
    invoice_id: str
    outcome: str  # paid, declined, skipped, not_due, hard_declined
    detail: str = ""


class Payments:
    def __init__(self, book: InvoiceBook, stripe_client, retry_days: tuple[int, ...] = (3, 5, 7),
                 overdue_grace_days: int = 3, actor: str = "month_end_close"):
        self.book, self.ledger, self.stripe = book, book.ledger, stripe_client
        self.retry_days, self.overdue_grace_days, self.actor = retry_days, overdue_grace_days, actor

    # -- payment methods -------------------------------------------------------------------------
    def method(self, tenant: Tenant) -> dict:
        """The tenant's Stripe customer and method, created in Stripe on first use."""
        with self.ledger.engine.connect() as con:
            row = con.execute(_q("payment_method_get"), {"tenant_id": tenant.tenant_id}).first()
        if row and row.stripe_customer_id and row.stripe_payment_method == tenant.stripe_payment_method:
            return dict(row._mapping)
        return self.set_method(tenant, tenant.payment_method_type, tenant.stripe_payment_method)

    def set_method(self, tenant: Tenant, method_type: str, stripe_payment_method: str | None) -> dict:
        customer = display = attached = None
        if method_type in CHARGED:
            if not stripe_payment_method:
                raise BillingError(f"tenant {tenant.tenant_id!r}: a {method_type} payment method needs a Stripe payment method id")
            customer = self.stripe.v1.customers.create(
                params={"name": tenant.name, "metadata": {"tenant_id": tenant.tenant_id}},
                options={"idempotency_key": f"customer-{tenant.tenant_id}-{stripe_payment_method}"}).id
            method = self.stripe.v1.payment_methods.attach(stripe_payment_method, params={"customer": customer})
            attached = method.id
            display = display_of(method)
        record = {"tenant_id": tenant.tenant_id, "type": method_type, "stripe_customer_id": customer,
                  "stripe_payment_method": attached, "display": display}
        with self.ledger.engine.begin() as con:
            con.execute(_q("payment_method_upsert"), {**record, "now": _stamp()})
            self._audit(con, "payment_method_set", tenant.tenant_id, None, None, f"{method_type} {display or ''}".strip())
        return record

    # -- charging --------------------------------------------------------------------------------
    def charge(self, invoice: Invoice, tenant: Tenant, now: datetime) -> ChargeResult:
        """Charge one final invoice if it is due for an attempt; safe to call any number of times."""
        if invoice.status == "paid" or invoice.state != "final" or invoice.payment_method_type not in CHARGED:
            return ChargeResult(invoice.invoice_id, "skipped")
        attempts = self._attempts(invoice.invoice_id)
        if attempts and attempts[-1].status == "started":
            self._reconcile(invoice, attempts[-1], now)
            attempts = self._attempts(invoice.invoice_id)
        if any(a.status == "succeeded" for a in attempts):
            return ChargeResult(invoice.invoice_id, "paid", "reconciled")
        if any(a.status == "processing" for a in attempts):  # an ACH debit in flight: never a second one
            return ChargeResult(invoice.invoice_id, "processing")
        if attempts and attempts[-1].error_code in HARD_DECLINES:
            return ChargeResult(invoice.invoice_id, "hard_declined", attempts[-1].error_code)
        number = len(attempts) + 1
        if number > 1 + len(self.retry_days):
            return ChargeResult(invoice.invoice_id, "skipped", "retries exhausted")
        if number > 1 and now.date() < invoice.issued_at + timedelta(days=self.retry_days[number - 2]):
            return ChargeResult(invoice.invoice_id, "not_due")
        try:
            method = self.method(tenant)
        except stripe.StripeError as error:  # e.g. a payment method Stripe does not know: say so, charge nothing
            return ChargeResult(invoice.invoice_id, "error", f"payment method: {error.user_message or error}")
        except BillingError as error:  # a card or ACH without a Stripe payment method id: this invoice waits for one
            return ChargeResult(invoice.invoice_id, "error", str(error))
        attempt_id = f"pay_{invoice.invoice_id[3:]}_{number}"
        amount_cents = to_cents(invoice.total)
        try:
            with self.ledger.engine.begin() as con:
                con.execute(_q("attempt_insert"), {"attempt_id": attempt_id, "invoice_id": invoice.invoice_id,
                                                   "attempt_no": number, "amount_cents": amount_cents,
                                                   "now": now.isoformat(timespec="seconds")})
                self._audit(con, "charge_attempt", invoice.tenant_id, invoice.invoice_id, invoice.total, attempt_id)
        except sa.exc.IntegrityError:  # another run took this attempt: it charges, we do not
            return ChargeResult(invoice.invoice_id, "skipped", "attempt taken by a concurrent run")
        try:
            intent = self.stripe.v1.payment_intents.create(params={
                "amount": amount_cents, "currency": invoice.currency.lower(), "customer": method["stripe_customer_id"],
                "payment_method": method["stripe_payment_method"], "off_session": True, "confirm": True,
                "metadata": {"invoice_id": invoice.invoice_id, "invoice_number": invoice.invoice_number,
                             "attempt_id": attempt_id},
            }, options={"idempotency_key": attempt_id})
        except stripe.CardError as error:  # a decline is recorded, not raised
            code = getattr(error.error, "decline_code", None) or error.code or "card_declined"
            self._finish(invoice, attempt_id, "failed", None, code, now)
            return ChargeResult(invoice.invoice_id, "hard_declined" if code in HARD_DECLINES else "declined", code)
        except stripe.APIConnectionError as error:  # Stripe may have charged: the next run reconciles
            return ChargeResult(invoice.invoice_id, "unknown", str(error).splitlines()[0])
        except stripe.StripeError as error:  # refused as a request (configuration): recorded, and said
            self._finish(invoice, attempt_id, "failed", None, error.code or type(error).__name__, now)
            raise BillingError(f"Stripe refused the charge of {invoice.invoice_number}: {error.user_message or error}") from None
        self._settle(invoice, attempt_id, intent, now)
        return ChargeResult(invoice.invoice_id, "paid" if intent.status == "succeeded" else intent.status)

    def _settle(self, invoice: Invoice, attempt_id: str, intent, now: datetime) -> None:
        status = {"succeeded": "succeeded", "processing": "processing"}.get(intent.status, "failed")
        self._finish(invoice, attempt_id, status, intent.id, None if status != "failed" else intent.status, now)

    def _reconcile(self, invoice: Invoice, attempt, now: datetime) -> None:
        """Find what Stripe did with an attempt the ledger did not hear back from."""
        for intent in self.stripe.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter():
            if intent.metadata and intent.metadata.to_dict().get("attempt_id") == attempt.attempt_id:
                self._settle(invoice, attempt.attempt_id, intent, now)
                return
        self._finish(invoice, attempt.attempt_id, "failed", None, "not_sent", now)  # never reached Stripe

    def _finish(self, invoice: Invoice, attempt_id: str, status: str, intent_id: str | None, code: str | None,
                now: datetime) -> None:
        with self.ledger.engine.begin() as con:
            con.execute(_q("attempt_finish"), {"attempt_id": attempt_id, "status": status, "payment_intent": intent_id,
                                               "error_code": code, "now": now.isoformat(timespec="seconds")})
            event = {"succeeded": "charge_succeeded", "processing": "charge_processing"}.get(status, "charge_failed")
            self._audit(con, event, invoice.tenant_id, invoice.invoice_id, invoice.total, f"{attempt_id} {intent_id or code}")
            if status == "succeeded":
                self._set_status(con, invoice, "paid", now)

    # -- statuses --------------------------------------------------------------------------------
    def mark_paid(self, invoice: Invoice, reference: str, actor: str, now: datetime) -> None:
        """A received transfer (invoice or wire), recorded by an operator."""
        with self.ledger.engine.begin() as con:
            self._audit(con, "manual_payment", invoice.tenant_id, invoice.invoice_id, invoice.total, reference, actor)
            self._set_status(con, invoice, "paid", now, actor)

    def mark_overdue(self, invoices: list[Invoice], today: date) -> list[Invoice]:
        """Unpaid invoices past their due date and the grace become overdue; not while an ACH debit of theirs
        is processing, since the money is on its way."""
        late = [i for i in invoices if i.status == "pending" and i.state == "final"
                and today > i.due_date + timedelta(days=self.overdue_grace_days)
                and not any(a.status == "processing" for a in self._attempts(i.invoice_id))]
        with self.ledger.engine.begin() as con:
            for invoice in late:
                self._set_status(con, invoice, "overdue", datetime.combine(today, datetime.min.time()))
        return late

    def follow_processing(self, invoices: list[Invoice], now: datetime) -> list[ChargeResult]:
        """ACH debits settle days later: ask Stripe about every attempt still processing."""
        results = []
        for invoice in invoices:
            for attempt in self._attempts(invoice.invoice_id):
                if attempt.status != "processing":
                    continue
                intent = self.stripe.v1.payment_intents.retrieve(attempt.stripe_payment_intent_id)
                if intent.status == "processing":
                    continue
                succeeded = intent.status == "succeeded"
                error = intent.last_payment_error  # a returned debit says why, as a declined card does
                code = None if succeeded else (getattr(error, "decline_code", None) or getattr(error, "code", None)
                                               or intent.status)
                with self.ledger.engine.begin() as con:  # processing -> succeeded or failed
                    con.execute(_q("attempt_settle"), {"attempt_id": attempt.attempt_id, "error_code": code,
                                                       "status": "succeeded" if succeeded else "failed",
                                                       "now": now.isoformat(timespec="seconds")})
                    self._audit(con, "ach_succeeded" if succeeded else "ach_failed", invoice.tenant_id,
                                invoice.invoice_id, invoice.total, f"{attempt.attempt_id} {code or intent.id}")
                    if succeeded:
                        self._set_status(con, invoice, "paid", now)
                results.append(ChargeResult(invoice.invoice_id, "paid" if succeeded else "declined", code or ""))
        return results

    def attempts(self, invoice_id: str) -> list[dict]:
        return [dict(a._mapping) for a in self._attempts(invoice_id)]

    def audit(self, invoice_id: str) -> list[dict]:
        with self.ledger.engine.connect() as con:
            return [dict(r._mapping) for r in con.execute(_q("audit_of_invoice"), {"invoice_id": invoice_id})]

    def _attempts(self, invoice_id: str):
        with self.ledger.engine.connect() as con:
            return con.execute(_q("attempts_of_invoice"), {"invoice_id": invoice_id}).fetchall()

    def _set_status(self, con, invoice: Invoice, status: str, now: datetime, actor: str | None = None) -> None:
        if con.execute(_q("invoice_set_status"), {"invoice_id": invoice.invoice_id, "status": status,
                                                  "now": now.isoformat(timespec="seconds")}).rowcount:
            self._audit(con, f"status_{status}", invoice.tenant_id, invoice.invoice_id, invoice.total, None, actor)

    def _audit(self, con, event: str, tenant_id: str | None, invoice_id: str | None, amount: Decimal | None,
               details: str | None, actor: str | None = None) -> None:
        con.execute(_q("audit_insert"), {
            "audit_id": uuid.uuid4().hex, "now": _stamp("microseconds"),
            "actor": actor or self.actor, "event": event, "tenant_id": tenant_id, "invoice_id": invoice_id,
            "amount": None if amount is None else str(amount), "details": details})


def _stamp(timespec: str = "seconds") -> str:
    """When a record was written (UTC): a log time, not a business date."""
    return datetime.now(timezone.utc).isoformat(timespec=timespec)
