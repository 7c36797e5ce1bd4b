CREATE OR REPLACE TEMP TABLE known_tenants AS SELECT unnest($tenant_ids::VARCHAR[]) AS tenant_id
