-- One tenant's membership spans, oldest first (see memberships_all.sql).
SELECT tenant_id, user_id, active_from, active_until FROM memberships
WHERE tenant_id = :tenant_id
ORDER BY tenant_id, user_id, COALESCE(active_from, '')
