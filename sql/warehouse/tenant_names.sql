-- The tenants that events may name ($tenant_ids), as an enum: a name outside it casts to NULL (see stage_file.sql).
CREATE TYPE tenant_name AS ENUM (SELECT unnest($tenant_ids::VARCHAR[]))
