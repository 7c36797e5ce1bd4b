-- Budget and usage alerts, written first and delivered after (an outbox).
-- An alert fires once per (tenant, period, subject, level): the unique key is the guard.
CREATE TABLE alerts (
    alert_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    period TEXT NOT NULL,
    subject TEXT NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL,
    delivered INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    UNIQUE (tenant_id, period, subject, level)
);

-- One row per channel and recipient. In-app rows are the notifications a tenant's users read.
CREATE TABLE alert_deliveries (
    delivery_id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL REFERENCES alerts (alert_id),
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    user_id TEXT,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at TEXT,
    last_error TEXT,
    sent_at TEXT,
    provider_message_id TEXT,
    read_at TEXT
);
