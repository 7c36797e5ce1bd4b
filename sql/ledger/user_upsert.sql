-- A user's details as the directory states them now; its membership spans are in memberships.
INSERT INTO users (tenant_id, user_id, name, email, phone, role)
VALUES (:tenant_id, :user_id, :name, :email, :phone, :role)
ON CONFLICT (tenant_id, user_id) DO UPDATE SET
    name = excluded.name,
    email = excluded.email,
    phone = excluded.phone,
    role = excluded.role
