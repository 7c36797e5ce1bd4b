-- The tenants and roles of a user who is in the directory now (an open membership span).
SELECT u.tenant_id, u.role FROM users u
JOIN memberships m ON m.tenant_id = u.tenant_id AND m.user_id = u.user_id AND m.active_until IS NULL
WHERE u.user_id = :user_id ORDER BY u.tenant_id
