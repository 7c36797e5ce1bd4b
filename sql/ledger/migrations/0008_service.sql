-- The Billing Service API (billing/service, docs/service.md).
-- A plan change made through the API is kept by later directory imports: `source` tells them apart.
ALTER TABLE plan_changes ADD COLUMN source TEXT NOT NULL DEFAULT 'directory';

-- A tenant admin asks for a plan change; a platform administrator approves or rejects it.
CREATE TABLE plan_change_requests (
    request_id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (tenant_id),
    plan TEXT NOT NULL,
    effective TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    decided_by TEXT,
    decided_at TEXT,
    reason TEXT
);
CREATE INDEX plan_change_requests_by_tenant ON plan_change_requests (tenant_id, status);

-- Changes through the API are audited with the caller's role and what was before and after (JSON text).
ALTER TABLE audit_log ADD COLUMN actor_role TEXT;
ALTER TABLE audit_log ADD COLUMN before_value TEXT;
ALTER TABLE audit_log ADD COLUMN after_value TEXT;
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, at);

-- Every request looks up the caller's roles by user id.
CREATE INDEX users_by_user_id ON users (user_id);
