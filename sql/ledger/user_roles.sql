-- The tenants and roles of a directory user now (a user removed from the directory has none).
SELECT tenant_id, role FROM users WHERE user_id = :user_id AND active_until IS NULL ORDER BY tenant_id
