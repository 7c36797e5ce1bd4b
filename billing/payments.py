"""Payments: card and ACH invoices charged through Stripe, never twice; dunning, overdue, manual payments.

Never twice: a payment_attempts row (unique per invoice and attempt number) is committed before Stripe
is called; its id is the Idempotency-Key and travels in the PaymentIntent's metadata. An attempt left
`started` (a crash, a lost answer, another run charging it now) is reconciled with Stripe before anything
new is tried: found by its metadata, or sent again under its own key. Stripe forgets idempotency keys after
about 24 hours, so the ledger is the guard.
A total below Stripe's minimum charge (0.00 or less included) is never charged: it is settled at once and its
amount carried to the tenant's next invoice. Tenants read plain sentences (`tenant_message`); the detail of a
failure is for operators (the result's `detail`, the audit log).
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
from billing.invoices import BALANCE, Invoice, InvoiceBook
from billing.settings import BillingError
from billing.sql import query

CHARGED = ("card", "ach")
MINIMUM_CHARGE = Decimal("0.50")  # Stripe's minimum charge in USD: a smaller total is never sent
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
    # paid, processing, declined, hard_declined, not_due: a charge and its answer;
    # already_paid, draft, awaiting_transfer (invoice, wire), settled_without_charge (below the minimum),
    # retries_exhausted, in_flight (another run is charging it), no_stripe_key: nothing sent;
    # method_error: the tenant's payment method cannot be used; stripe_error: Stripe unreachable or refused
    # our request (ours to fix; the tenant is not told); unknown: the answer was lost, the next run reconciles.
    outcome: str
    detail: str = ""  # for operators, never shown to tenants


# What billing contacts read: plain sentences, never an error's text.
TENANT_MESSAGES = {
    "declined": "the payment of invoice {number} ({total} USD) was declined; please check or update your "
                "payment method",
    "hard_declined": "the payment of invoice {number} ({total} USD) was declined and cannot be retried; "
                     "please update your payment method",
    "method_error": "invoice {number} ({total} USD) could not be charged because your payment method cannot be "
                    "used; please update your payment method",
}


def tenant_message(invoice: Invoice, result: ChargeResult) -> str | None:
    """The sentence a tenant's billing contacts read about a charge, or None when it is not theirs to act on."""
    template = TENANT_MESSAGES.get(result.outcome)
    return template.format(number=invoice.invoice_number, total=invoice.total) if template else None


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
        with self.ledger.engine.begin() as con:  # a concurrent run that set the same method changes nothing
            if con.execute(_q("payment_method_upsert"), {**record, "now": _stamp()}).rowcount:
                self._audit(con, "payment_method_set", tenant.tenant_id, None, None,
                            f"{method_type} {display or ''}".strip())
        return record

    # -- charging --------------------------------------------------------------------------------
    def charge(self, invoice: Invoice, tenant: Tenant, now: datetime) -> ChargeResult:
        """Charge one final invoice if it is due for an attempt; safe to call any number of times."""
        if invoice.status == "paid":
            return ChargeResult(invoice.invoice_id, "already_paid")
        if invoice.state != "final":
            return ChargeResult(invoice.invoice_id, "draft")
        if invoice.total < MINIMUM_CHARGE:
            return self._settle_without_charge(invoice, now)
        if invoice.payment_method_type not in CHARGED:
            return ChargeResult(invoice.invoice_id, "awaiting_transfer")
        if self.stripe is None:
            return ChargeResult(invoice.invoice_id, "no_stripe_key")
        attempts = self._attempts(invoice.invoice_id)
        if attempts and attempts[-1].status == "started":
            return self._reconcile(invoice, tenant, attempts[-1], now)
        if any(a.status == "succeeded" for a in attempts):
            return ChargeResult(invoice.invoice_id, "paid", "reconciled")
        if any(a.status == "processing" for a in attempts):  # an ACH debit in flight: never a second one
            return ChargeResult(invoice.invoice_id, "processing")
        if attempts and attempts[-1].error_code in HARD_DECLINES:
            return ChargeResult(invoice.invoice_id, "hard_declined", attempts[-1].error_code)
        number = len(attempts) + 1
        if number > 1 + len(self.retry_days):
            return ChargeResult(invoice.invoice_id, "retries_exhausted")
        if number > 1 and now.date() < invoice.issued_at + timedelta(days=self.retry_days[number - 2]):
            return ChargeResult(invoice.invoice_id, "not_due")
        method = self._usable_method(invoice, tenant)
        if isinstance(method, ChargeResult):
            return method
        attempt_id = f"pay_{invoice.invoice_id[3:]}_{number}"
        amount_cents = to_cents(invoice.total)
        try:
            with self.ledger.engine.begin() as con:
                con.execute(_q("attempt_insert"), {"attempt_id": attempt_id, "invoice_id": invoice.invoice_id,
                                                   "attempt_no": number, "amount_cents": amount_cents,
                                                   "now": now.isoformat(timespec="seconds")})
                self._audit(con, "charge_attempt", invoice.tenant_id, invoice.invoice_id, invoice.total, attempt_id)
        except sa.exc.IntegrityError:  # another run took this attempt: it charges, we do not
            return ChargeResult(invoice.invoice_id, "in_flight", f"attempt {attempt_id} taken by a concurrent run")
        return self._send(invoice, attempt_id, amount_cents, method, now)

    def _usable_method(self, invoice: Invoice, tenant: Tenant) -> dict | ChargeResult:
        """The tenant's Stripe method, or why this invoice cannot be charged with it now."""
        try:
            return self.method(tenant)
        except (stripe.CardError, stripe.InvalidRequestError) as error:  # e.g. a payment method Stripe does not know
            return self._method_error(invoice, f"payment method: {error.user_message or error}")
        except stripe.StripeError as error:  # Stripe unreachable, or our key refused: ours, not the tenant's
            return self._stripe_error(invoice, "setting the payment method", error)
        except BillingError as error:  # a card or ACH without a Stripe payment method id: this invoice waits for one
            return self._method_error(invoice, str(error))

    def _send(self, invoice: Invoice, attempt_id: str, amount_cents: int, method: dict, now: datetime) -> ChargeResult:
        """The attempt's one PaymentIntent, under its Idempotency-Key: sent again, Stripe does it once."""
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
        except (stripe.APIConnectionError, stripe.APIError, stripe.IdempotencyError) as error:
            # Stripe may have charged (a lost answer, its own error) or is doing this key for another run (409):
            # the attempt stays `started`, and the next run reconciles it
            return ChargeResult(invoice.invoice_id, "unknown",
                                f"{attempt_id}: {type(error).__name__}: {_first_line(error)}")
        except stripe.StripeError as error:  # refused (bad request, key, rate): ours to fix, never the tenant's decline
            self._finish(invoice, attempt_id, "not_charged", None, error.code or type(error).__name__, now)
            return ChargeResult(invoice.invoice_id, "stripe_error",
                                f"charging ({attempt_id}): {type(error).__name__}: {_first_line(error)}")
        return self._settle(invoice, attempt_id, intent, now)

    def _settle(self, invoice: Invoice, attempt_id: str, intent, now: datetime) -> ChargeResult:
        status = {"succeeded": "succeeded", "processing": "processing"}.get(intent.status, "failed")
        code = _failure_code(intent) if status == "failed" else None
        self._finish(invoice, attempt_id, status, intent.id, code, now)
        if status != "failed":
            return ChargeResult(invoice.invoice_id, "paid" if status == "succeeded" else status)
        return ChargeResult(invoice.invoice_id, "hard_declined" if code in HARD_DECLINES else "declined", code)

    def _reconcile(self, invoice: Invoice, tenant: Tenant, attempt, now: datetime) -> ChargeResult:
        """An attempt the ledger did not hear back from: a crash, a lost answer, or another run charging it at
        this moment. Its PaymentIntent, found by the metadata, settles it; none found, the same request is sent
        again under the same Idempotency-Key, which Stripe does at most once whoever sends it (a request of
        another run still in flight gets the same PaymentIntent). Past Stripe's ~24 h memory of keys the
        listing is the guard: an intent not listed was never created."""
        try:
            for intent in self.stripe.v1.payment_intents.list(params={"limit": 100}).auto_paging_iter():
                if intent.metadata and intent.metadata.to_dict().get("attempt_id") == attempt.attempt_id:
                    return self._settle(invoice, attempt.attempt_id, intent, now)
        except stripe.StripeError as error:
            return self._stripe_error(invoice, f"reconciling {attempt.attempt_id}", error)
        method = self._usable_method(invoice, tenant)
        if isinstance(method, ChargeResult):
            return method
        return self._send(invoice, attempt.attempt_id, attempt.amount_cents, method, now)

    def _settle_without_charge(self, invoice: Invoice, now: datetime) -> ChargeResult:
        """Below the minimum charge, 0.00 or less included: paid at once; a credit, or a positive balance too
        small to charge, is carried to the tenant's next invoice. The subtotal is carried, before tax: the next
        invoice taxes it, so the tax is paid once. In one transaction, once whoever runs it."""
        with self.ledger.engine.begin() as con:
            if not self._set_status(con, invoice, "paid", now):
                return ChargeResult(invoice.invoice_id, "already_paid")
            if invoice.subtotal:
                what = "credit" if invoice.subtotal < 0 else f"balance below the {MINIMUM_CHARGE} USD minimum charge"
                con.execute(_q("adjustment_insert"), {
                    "adjustment_id": f"bal_{invoice.invoice_id[3:]}", "tenant_id": invoice.tenant_id,
                    "source_invoice_id": invoice.invoice_id, "source_period": invoice.period,
                    "amount": str(invoice.subtotal), "reason": f"{what} of {invoice.invoice_number} carried forward",
                    "now": now.isoformat(timespec="seconds"), "kind": BALANCE})
                self._audit(con, "balance_carried", invoice.tenant_id, invoice.invoice_id, invoice.subtotal,
                            "carried to the next invoice")
        return ChargeResult(invoice.invoice_id, "settled_without_charge", f"total {invoice.total}")

    def _method_error(self, invoice: Invoice, detail: str) -> ChargeResult:
        self._audit_alone("charge_error", invoice, detail)
        return ChargeResult(invoice.invoice_id, "method_error", detail)

    def _stripe_error(self, invoice: Invoice, doing: str, error: stripe.StripeError) -> ChargeResult:
        """Stripe unreachable or refusing our request before any attempt: recorded for operators."""
        detail = f"{doing}: {type(error).__name__}: {_first_line(error)}"
        self._audit_alone("charge_error", invoice, detail)
        return ChargeResult(invoice.invoice_id, "stripe_error", detail)

    def _finish(self, invoice: Invoice, attempt_id: str, status: str, intent_id: str | None, code: str | None,
                now: datetime) -> None:
        with self.ledger.engine.begin() as con:
            if not con.execute(_q("attempt_finish"), {"attempt_id": attempt_id, "status": status,
                                                      "payment_intent": intent_id, "error_code": code,
                                                      "now": now.isoformat(timespec="seconds")}).rowcount:
                return  # another run heard Stripe's answer first and recorded it
            event = {"succeeded": "charge_succeeded", "processing": "charge_processing",
                     "not_charged": "charge_error"}.get(status, "charge_failed")
            self._audit(con, event, invoice.tenant_id, invoice.invoice_id, invoice.total, f"{attempt_id} {intent_id or code}")
            if status == "succeeded":
                self._set_status(con, invoice, "paid", now)

    # -- statuses --------------------------------------------------------------------------------
    def mark_paid(self, invoice: Invoice, reference: str, actor: str, now: datetime) -> None:
        """A received transfer (invoice or wire), recorded by an operator."""
        with self.ledger.engine.begin() as con:
            self._audit(con, "manual_payment", invoice.tenant_id, invoice.invoice_id, invoice.total, reference, actor)
            self._set_status(con, invoice, "paid", now, actor)

    def mark_overdue(self, period: str, today: date) -> list[Invoice]:
        """The month's unpaid invoices past their due date and the grace become overdue, decided in one
        statement (sql/ledger/invoices_mark_overdue.sql says when); return them."""
        now = datetime.combine(today, datetime.min.time())
        with self.ledger.engine.begin() as con:
            late = con.execute(_q("invoices_mark_overdue"), {
                "period": period, "due_before": (today - timedelta(days=self.overdue_grace_days)).isoformat(),
                "now": now.isoformat(timespec="seconds")}).fetchall()
            for row in late:
                self._audit(con, "status_overdue", row.tenant_id, row.invoice_id, Decimal(row.total), None)
        ids = {row.invoice_id for row in late}
        return [invoice for invoice in self.book.of_period(period) if invoice.invoice_id in ids]

    def follow_processing(self, invoices: list[Invoice], now: datetime) -> list[ChargeResult]:
        """ACH debits settle days later: ask Stripe about every attempt still processing."""
        results = []
        for invoice in invoices:
            for attempt in self._attempts(invoice.invoice_id):
                if attempt.status != "processing":
                    continue
                try:
                    intent = self.stripe.v1.payment_intents.retrieve(attempt.stripe_payment_intent_id)
                except stripe.StripeError as error:  # asked again by the next run; the debit stays processing
                    results.append(self._stripe_error(invoice, f"following {attempt.attempt_id}", error))
                    continue
                if intent.status == "processing":
                    continue
                succeeded = intent.status == "succeeded"
                code = None if succeeded else _failure_code(intent)
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

    def _set_status(self, con, invoice: Invoice, status: str, now: datetime, actor: str | None = None) -> bool:
        """Set and audit a status; False when the invoice was paid already (a paid invoice stays paid)."""
        if con.execute(_q("invoice_set_status"), {"invoice_id": invoice.invoice_id, "status": status,
                                                  "now": now.isoformat(timespec="seconds")}).rowcount:
            self._audit(con, f"status_{status}", invoice.tenant_id, invoice.invoice_id, invoice.total, None, actor)
            return True
        return False

    def _audit_alone(self, event: str, invoice: Invoice, details: str) -> None:
        with self.ledger.engine.begin() as con:
            self._audit(con, event, invoice.tenant_id, invoice.invoice_id, invoice.total, details)

    def _audit(self, con, event: str, tenant_id: str | None, invoice_id: str | None, amount: Decimal | None,
               details: str | None, actor: str | None = None) -> None:
        con.execute(_q("audit_insert"), {
            "audit_id": uuid.uuid4().hex, "now": _stamp("microseconds"),
            "actor": actor or self.actor, "event": event, "tenant_id": tenant_id, "invoice_id": invoice_id,
            "amount": None if amount is None else str(amount), "details": details})


def _failure_code(intent) -> str:
    """Why a PaymentIntent failed: a returned debit says why, as a declined card does."""
    error = intent.last_payment_error
    return getattr(error, "decline_code", None) or getattr(error, "code", None) or intent.status


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


def _stamp(timespec: str = "seconds") -> str:
    """When a record was written (UTC): a log time, not a business date."""
    return datetime.now(timezone.utc).isoformat(timespec=timespec)
