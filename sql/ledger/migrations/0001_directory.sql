-- Tenant directory. Money and rates are stored as canonical decimal text, so that SQLite never
-- turns them into binary floats; dates are ISO text (YYYY-MM-DD), which sorts correctly in both databases.
CREATE TABLE tenants (
    tenant_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    plan TEXT NOT NULL,
    contract_monthly_fee TEXT,
    tax_rate TEXT NOT NULL,
    payment_method_type TEXT NOT NULL,
    stripe_payment_method TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE plan_changes (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    effective TEXT NOT NULL,
    plan TEXT NOT NULL,
    PRIMARY KEY (tenant_id, effective)
);

CREATE TABLE budgets (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    position INTEGER NOT NULL,
    amount_usd TEXT NOT NULL,
    channels TEXT NOT NULL,
    PRIMARY KEY (tenant_id, position)
);

-- A user counts as a seat in every month that overlaps [active_from, active_until);
-- NULL active_from: since the tenant's first import; NULL active_until: still in the directory.
CREATE TABLE users (
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT,
    role TEXT NOT NULL,
    active_from TEXT,
    active_until TEXT,
    PRIMARY KEY (tenant_id, user_id)
);
