-- A user left the directory: its open span ends on the import day.
UPDATE memberships SET active_until = :today
WHERE tenant_id = :tenant_id AND user_id = :user_id AND active_until IS NULL
