"""The JSON documents of contract section 4 for invoices (the seed's invoice history)."""
from __future__ import annotations

from billing.invoices import Invoice


def invoice_document(invoice: Invoice, pdf_url: str | None) -> dict:
    return {
        "invoice_id": invoice.invoice_id,
        "invoice_number": invoice.invoice_number,
        "tenant_id": invoice.tenant_id,
        "period": invoice.period,
        "lines": [
            {"description": line.description, "metric": line.metric, "quantity": line.quantity,
             "unit_price": line.unit_price, "amount": line.amount}
            for line in invoice.lines
        ],
        "subtotal": invoice.subtotal,
        "tax_rate": invoice.tax_rate,
        "tax": invoice.tax,
        "total": invoice.total,
        "currency": invoice.currency,
        "status": invoice.status,
        "state": invoice.state,
        "issued_at": invoice.issued_at,
        "due_date": invoice.due_date,
        "payment_method": invoice.payment_method_type,
        "pdf_url": pdf_url,
        "adjustments": [
            {"adjustment_id": a["adjustment_id"], "amount": a["amount"], "reason": a["reason"],
             "applied_invoice_id": a["applied_invoice_id"]}
            for a in invoice.adjustments
        ],
    }
