-- A user enters the directory (again): a new span from active_from (NULL: the tenant's first import).
INSERT INTO memberships (tenant_id, user_id, active_from, active_until)
VALUES (:tenant_id, :user_id, :active_from, NULL)
