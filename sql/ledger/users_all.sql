SELECT tenant_id, user_id, name, email, phone, role FROM users ORDER BY tenant_id, user_id
