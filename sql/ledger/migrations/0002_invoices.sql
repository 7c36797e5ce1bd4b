-- Invoices: one per tenant and period. Money is canonical decimal text (see 0001).
-- state: draft (recomputed by every close) or final (never rewritten; a different amount found later
-- becomes an adjustment on the tenant's next invoice). status: pending, paid or overdue.
CREATE TABLE invoice_sequence (
    name TEXT PRIMARY KEY,
    last_number INTEGER NOT NULL
);
INSERT INTO invoice_sequence (name, last_number) VALUES ('invoice', 0);

CREATE TABLE invoices (
    invoice_id TEXT PRIMARY KEY,
    invoice_number TEXT NOT NULL UNIQUE,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    period TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL,
    subtotal TEXT NOT NULL,
    tax_rate TEXT NOT NULL,
    tax TEXT NOT NULL,
    total TEXT NOT NULL,
    payment_method_type TEXT NOT NULL,
    issued_at TEXT NOT NULL,
    due_date TEXT NOT NULL,
    pdf_key TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    finalized_at TEXT,
    UNIQUE (tenant_id, period)
);

CREATE TABLE invoice_lines (
    invoice_id TEXT NOT NULL REFERENCES invoices (invoice_id),
    position INTEGER NOT NULL,
    description TEXT NOT NULL,
    metric TEXT NOT NULL,
    quantity TEXT NOT NULL,
    unit_price TEXT NOT NULL,
    amount TEXT NOT NULL,
    PRIMARY KEY (invoice_id, position)
);

-- A difference found on a final invoice: a debit (positive) or credit (negative) carried to the
-- tenant's next draft invoice, which records itself in applied_invoice_id.
CREATE TABLE adjustments (
    adjustment_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    source_invoice_id TEXT NOT NULL REFERENCES invoices (invoice_id),
    source_period TEXT NOT NULL,
    amount TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL,
    applied_invoice_id TEXT REFERENCES invoices (invoice_id)
);
