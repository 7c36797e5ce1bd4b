-- Payments. A tenant's Stripe customer and payment method, never a card number: what a person needs to
-- recognise it (brand and last 4 digits).
CREATE TABLE payment_methods (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (tenant_id),
    type TEXT NOT NULL,
    stripe_customer_id TEXT,
    stripe_payment_method TEXT,
    display TEXT,
    updated_at TEXT NOT NULL
);

-- One row per charge attempt, written before Stripe is called; its id is Stripe's Idempotency-Key and
-- travels in the PaymentIntent's metadata, so a crashed attempt is found again and never repeated.
CREATE TABLE payment_attempts (
    attempt_id TEXT PRIMARY KEY,
    invoice_id TEXT NOT NULL REFERENCES invoices (invoice_id),
    attempt_no INTEGER NOT NULL,
    status TEXT NOT NULL,
    amount_cents INTEGER NOT NULL,
    stripe_payment_intent_id TEXT,
    error_code TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (invoice_id, attempt_no)
);

-- Every money event, with who or what caused it.
CREATE TABLE audit_log (
    audit_id TEXT PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    event TEXT NOT NULL,
    tenant_id TEXT,
    invoice_id TEXT,
    amount TEXT,
    details TEXT
);
