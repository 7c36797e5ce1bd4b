"""Invoices in the ledger: one per tenant and period, drafts recomputed, finals never rewritten.

An invoice is a draft until its period ended `grace_days` ago; from then on it is final. A close
that rates a final invoice differently records the difference as an adjustment, which the tenant's
next draft invoice carries as a line.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from billing.directory import Tenant, next_month_start
from billing.ledger import Ledger
from billing.money import round_half_up
from billing.pricing import InvoiceLine, Rating
from billing.sql import query

NET_30 = ("invoice", "wire")
ADJUSTMENT = "adjustment"


def _q(name: str) -> sa.TextClause:
    return sa.text(query(f"ledger/{name}"))


def invoice_id_for(tenant_id: str, period: str) -> str:
    """Stable across reruns (and ledgers): derived from what the invoice is for."""
    return "in_" + hashlib.sha256(f"{tenant_id}\0{period}".encode()).hexdigest()[:24]


def issue_date(period: str) -> date:
    """Invoices of a month are dated the first day of the next month, however often the close runs."""
    return next_month_start(period)


def due_date(period: str, payment_method_type: str) -> date:
    """Net-30 for invoice and wire; cards and ACH are charged, so due on issue."""
    return issue_date(period) + timedelta(days=30 if payment_method_type in NET_30 else 0)


@dataclass(frozen=True)
class Invoice:
    invoice_id: str
    invoice_number: str
    tenant_id: str
    period: str
    state: str
    status: str
    currency: str
    subtotal: Decimal
    tax_rate: Decimal
    tax: Decimal
    total: Decimal
    payment_method_type: str
    issued_at: date
    due_date: date
    pdf_key: str | None
    lines: tuple[InvoiceLine, ...]
    adjustments: tuple[dict, ...]  # differences found on this invoice after it was final


@dataclass(frozen=True)
class Outcome:
    invoice_id: str
    action: str  # created, updated, unchanged, final, adjusted
    difference: Decimal = Decimal(0)  # for `adjusted`: the new adjustment


class InvoiceBook:
    def __init__(self, ledger: Ledger, grace_days: int = 2):
        self.ledger = ledger
        self.grace_days = grace_days

    def is_final(self, period: str, now: datetime) -> bool:
        return now.date() >= next_month_start(period) + timedelta(days=self.grace_days)

    def record(self, tenant: Tenant, rating: Rating, now: datetime) -> Outcome:
        return self.record_all([(tenant, rating)], now)[0]

    def record_all(self, ratings: list[tuple[Tenant, Rating]], now: datetime) -> list[Outcome]:
        """Record a close's invoices in one transaction: all of them, or none. `now` decides draft or final."""
        with self.ledger.engine.begin() as con:
            return [self._record(con, tenant, rating, now) for tenant, rating in ratings]

    def _record(self, con: Connection, tenant: Tenant, rating: Rating, now: datetime) -> Outcome:
        """Create or recompute the draft of the tenant's invoice, or check a final one."""
        invoice_id = invoice_id_for(tenant.tenant_id, rating.period)
        existing = con.execute(_q("invoice_get"), {"tenant_id": tenant.tenant_id, "period": rating.period}).first()
        if existing is not None and existing.state == "final":
            return self._check_final(con, existing, rating, now)
        scope = {"invoice_id": invoice_id, "tenant_id": tenant.tenant_id, "period": rating.period}
        carried = con.execute(_q("adjustments_for_draft"), scope).fetchall()
        lines = list(rating.lines) + [
            InvoiceLine(f"Adjustment to invoice for {a.source_period}: {a.reason}", ADJUSTMENT, Decimal(1),
                        Decimal(a.amount), Decimal(a.amount))
            for a in carried
        ]
        subtotal = sum((line.amount for line in lines), Decimal("0.00"))
        tax = round_half_up(subtotal * tenant.tax_rate)
        final = self.is_final(rating.period, now)
        values = {
            "invoice_id": invoice_id, "tenant_id": tenant.tenant_id, "period": rating.period,
            "state": "final" if final else "draft", "currency": "USD",
            "subtotal": str(subtotal), "tax_rate": str(tenant.tax_rate), "tax": str(tax),
            "total": str(subtotal + tax), "payment_method_type": tenant.payment_method_type,
            "issued_at": issue_date(rating.period).isoformat(),
            "due_date": due_date(rating.period, tenant.payment_method_type).isoformat(),
            "now": now.isoformat(timespec="seconds"), "finalized_at": now.isoformat(timespec="seconds") if final else None,
        }
        if existing is None:
            number = con.execute(_q("invoice_next_number")).scalar_one()
            con.execute(_q("invoice_insert"), {**values, "invoice_number": f"INV-{number:06d}"})
            action = "created"
        else:
            before = self._lines(con, invoice_id)
            unchanged = before == tuple(lines) and existing.total == values["total"] and not final
            con.execute(_q("invoice_update_draft"), values)
            action = "unchanged" if unchanged else "updated"
        con.execute(_q("invoice_lines_delete"), {"invoice_id": invoice_id})
        con.execute(_q("invoice_line_insert"), [
            {"invoice_id": invoice_id, "position": position, "description": line.description,
             "metric": line.metric, "quantity": str(line.quantity), "unit_price": str(line.unit_price),
             "amount": str(line.amount)}
            for position, line in enumerate(lines)
        ])
        con.execute(_q("adjustments_claim"), scope)
        return Outcome(invoice_id, action)

    def _check_final(self, con: Connection, existing, rating: Rating, now: datetime) -> Outcome:
        """A final invoice is never rewritten: a different rating becomes an adjustment, once."""
        billed = sum((Decimal(line.amount) for line in self._lines(con, existing.invoice_id)
                      if line.metric != ADJUSTMENT), Decimal(0))
        earlier = con.execute(_q("adjustments_of_invoice"), {"invoice_id": existing.invoice_id}).fetchall()
        adjusted = billed + sum((Decimal(a.amount) for a in earlier), Decimal(0))
        rated = sum((line.amount for line in rating.lines), Decimal(0))
        difference = rated - adjusted
        if difference == 0:
            return Outcome(existing.invoice_id, "final")
        adjustment_id = f"adj_{existing.invoice_id[3:]}_{len(earlier) + 1}"
        con.execute(_q("adjustment_insert"), {
            "adjustment_id": adjustment_id,
            "tenant_id": existing.tenant_id, "source_invoice_id": existing.invoice_id,
            "source_period": existing.period, "amount": str(difference),
            "reason": "usage or directory changed after the invoice was final",
            "now": now.isoformat(timespec="seconds"),
        })
        con.execute(_q("audit_insert"), {  # a money event, like every charge
            "audit_id": adjustment_id, "now": now.isoformat(timespec="microseconds"), "actor": "month_end_close",
            "event": "adjustment", "tenant_id": existing.tenant_id, "invoice_id": existing.invoice_id,
            "amount": str(difference), "details": "carried to the next invoice"})
        return Outcome(existing.invoice_id, "adjusted", difference)

    def _lines(self, con: Connection, invoice_id: str) -> tuple[InvoiceLine, ...]:
        return tuple(
            InvoiceLine(row.description, row.metric, Decimal(row.quantity), Decimal(row.unit_price), Decimal(row.amount))
            for row in con.execute(_q("invoice_lines_get"), {"invoice_id": invoice_id})
        )

    def _invoice(self, row, lines: tuple[InvoiceLine, ...], adjustments: tuple[dict, ...]) -> Invoice:
        return Invoice(
            row.invoice_id, row.invoice_number, row.tenant_id, row.period, row.state, row.status, row.currency,
            Decimal(row.subtotal), Decimal(row.tax_rate), Decimal(row.tax), Decimal(row.total),
            row.payment_method_type, date.fromisoformat(row.issued_at), date.fromisoformat(row.due_date),
            row.pdf_key, lines, adjustments,
        )

    def _load_one(self, con: Connection, row) -> Invoice:
        adjustments = tuple(dict(a._mapping) for a in con.execute(_q("adjustments_of_invoice"),
                                                                  {"invoice_id": row.invoice_id}))
        return self._invoice(row, self._lines(con, row.invoice_id), adjustments)

    def of_period(self, period: str) -> list[Invoice]:
        """Every invoice of a month, in three queries whatever their number."""
        with self.ledger.engine.connect() as con:
            lines: dict[str, list[InvoiceLine]] = {}
            for row in con.execute(_q("invoice_lines_of_period"), {"period": period}):
                lines.setdefault(row.invoice_id, []).append(InvoiceLine(
                    row.description, row.metric, Decimal(row.quantity), Decimal(row.unit_price), Decimal(row.amount)))
            adjustments: dict[str, list[dict]] = {}
            for row in con.execute(_q("adjustments_of_period"), {"period": period}):
                adjustments.setdefault(row.source_invoice_id, []).append(dict(row._mapping))
            return [self._invoice(row, tuple(lines.get(row.invoice_id, ())), tuple(adjustments.get(row.invoice_id, ())))
                    for row in con.execute(_q("invoices_of_period"), {"period": period})]

    def of_tenant(self, tenant_id: str) -> list[Invoice]:
        with self.ledger.engine.connect() as con:
            return [self._load_one(con, row) for row in con.execute(_q("invoices_of_tenant"), {"tenant_id": tenant_id})]

    def of_tenant_period(self, tenant_id: str, period: str) -> Invoice | None:
        with self.ledger.engine.connect() as con:
            row = con.execute(_q("invoice_get"), {"tenant_id": tenant_id, "period": period}).first()
            return self._load_one(con, row) if row else None

    def of_tenant_invoice(self, tenant_id: str, invoice_id: str) -> Invoice | None:
        """An invoice (by id or number) of this tenant only: the query takes both."""
        with self.ledger.engine.connect() as con:
            row = con.execute(_q("invoice_of_tenant"), {"tenant_id": tenant_id, "invoice_id": invoice_id}).first()
            return self._load_one(con, row) if row else None

    def overview(self, period: str | None, status: str | None, tenant_id: str | None) -> list[Invoice]:
        """Invoices across tenants (or of one), of a month and status when given: overdue first."""
        with self.ledger.engine.connect() as con:
            return [self._load_one(con, row) for row in con.execute(_q("invoices_overview"), {
                "period": period, "status": status, "tenant_id": tenant_id})]

    def get(self, invoice_id: str) -> Invoice | None:
        with self.ledger.engine.connect() as con:
            row = con.execute(_q("invoice_by_id"), {"invoice_id": invoice_id}).first()
            return self._load_one(con, row) if row else None

    def processing_attempts(self) -> list[str]:
        with self.ledger.engine.connect() as con:
            return [row.attempt_id for row in con.execute(_q("attempts_processing"))]

    def unpaid_periods(self) -> list[str]:
        with self.ledger.engine.connect() as con:
            return [row.period for row in con.execute(_q("invoices_unpaid_final"))]

    def set_pdfs(self, keys: dict[str, str]) -> None:
        """Record where invoices' PDFs are stored (invoice_id -> key), in one transaction."""
        if keys:
            with self.ledger.engine.begin() as con:
                con.execute(_q("invoice_set_pdf"), [{"invoice_id": i, "pdf_key": k} for i, k in keys.items()])
