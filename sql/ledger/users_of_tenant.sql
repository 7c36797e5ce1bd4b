SELECT tenant_id, user_id, name, email, phone, role FROM users
WHERE tenant_id = :tenant_id ORDER BY user_id
