SELECT tenant_id, user_id, name, email, phone, role, active_from, active_until FROM users ORDER BY tenant_id, user_id
