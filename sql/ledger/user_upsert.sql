-- A user seen again is active again from its first date; a returning user keeps its history start.
INSERT INTO users (tenant_id, user_id, name, email, phone, role, active_from, active_until)
VALUES (:tenant_id, :user_id, :name, :email, :phone, :role, :active_from, NULL)
ON CONFLICT (tenant_id, user_id) DO UPDATE SET
    name = excluded.name,
    email = excluded.email,
    phone = excluded.phone,
    role = excluded.role,
    active_until = NULL
