-- The service reads a tenant on every request and each invoice's adjustments with it; without these, both
-- scan their whole table (memberships: every user of every tenant, 4 ms at 10,000 tenants on SQLite).
CREATE INDEX memberships_by_tenant ON memberships (tenant_id, user_id);
CREATE INDEX adjustments_by_source_invoice ON adjustments (source_invoice_id);
