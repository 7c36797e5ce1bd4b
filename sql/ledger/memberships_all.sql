-- Oldest span first, the open one last: a NULL active_from (since the first import) is the oldest and a NULL
-- active_until the latest, in both databases (ISO dates sort as text).
SELECT tenant_id, user_id, active_from, active_until FROM memberships
ORDER BY tenant_id, user_id, COALESCE(active_from, ''), COALESCE(active_until, '9999-12-31')
