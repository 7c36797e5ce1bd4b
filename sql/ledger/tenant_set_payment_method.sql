UPDATE tenants SET payment_method_type = :type, stripe_payment_method = :stripe_payment_method, updated_at = :now
WHERE tenant_id = :tenant_id
