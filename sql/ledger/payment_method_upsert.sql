INSERT INTO payment_methods (tenant_id, type, stripe_customer_id, stripe_payment_method, display, updated_at)
VALUES (:tenant_id, :type, :stripe_customer_id, :stripe_payment_method, :display, :now)
ON CONFLICT (tenant_id) DO UPDATE SET
    type = excluded.type, stripe_customer_id = excluded.stripe_customer_id,
    stripe_payment_method = excluded.stripe_payment_method, display = excluded.display, updated_at = excluded.updated_at
