-- Oldest span first; a NULL active_from (since the first import) is the oldest in both databases.
SELECT tenant_id, user_id, active_from, active_until FROM memberships
ORDER BY tenant_id, user_id, COALESCE(active_from, '')
