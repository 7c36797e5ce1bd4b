"""A month's collection as operators read it: invoices by status, the money collected, the tax, failed payments."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from billing.invoices import Invoice
from billing.ledger import Ledger
from billing.sql import query


@dataclass(frozen=True)
class Collection:
    by_status: dict[str, int]  # pending, paid, overdue, ...: every status present, with its count
    collected: Decimal  # the totals of paid invoices
    tax: Decimal  # the tax of every invoice of the month
    failed_payments: list[str]  # one line per failed charge attempt: invoice, tenant, attempt, Stripe's code

    def metadata(self) -> dict:
        """Dagster metadata values (plain types): counts, amounts as exact text, the failures as a list."""
        return {
            **{f"invoices {status}": self.by_status.get(status, 0) for status in ("paid", "pending", "overdue")},
            **{f"invoices {status}": count for status, count in self.by_status.items()
               if status not in ("paid", "pending", "overdue")},
            "collected_usd": str(self.collected),
            "tax_usd": str(self.tax),
            "payments failed": len(self.failed_payments),
            "failed payments": "\n".join(f"- {line}" for line in self.failed_payments) or "none",
        }


def collection(ledger: Ledger, period: str, invoices: list[Invoice]) -> Collection:
    with ledger.engine.connect() as con:
        failed = con.execute(sa.text(query("ledger/attempts_failed_of_period")), {"period": period}).fetchall()
    return Collection(
        by_status=dict(sorted(Counter(invoice.status for invoice in invoices).items())),
        collected=sum((invoice.total for invoice in invoices if invoice.status == "paid"), Decimal(0)),
        tax=sum((invoice.tax for invoice in invoices), Decimal(0)),
        failed_payments=[f"{row.invoice_number} ({row.tenant_id}): attempt {row.attempt_no}, {row.error_code}"
                         for row in failed],
    )
