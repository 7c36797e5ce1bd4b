-- Changes the row only when something differs: two runs setting the same method at once write it once
-- (the second finds the first's row and updates nothing), so it is recorded once.
INSERT INTO payment_methods (tenant_id, type, stripe_customer_id, stripe_payment_method, display, updated_at)
VALUES (:tenant_id, :type, :stripe_customer_id, :stripe_payment_method, :display, :now)
ON CONFLICT (tenant_id) DO UPDATE SET
    type = excluded.type, stripe_customer_id = excluded.stripe_customer_id,
    stripe_payment_method = excluded.stripe_payment_method, display = excluded.display, updated_at = excluded.updated_at
WHERE payment_methods.type IS DISTINCT FROM excluded.type
   OR payment_methods.stripe_customer_id IS DISTINCT FROM excluded.stripe_customer_id
   OR payment_methods.stripe_payment_method IS DISTINCT FROM excluded.stripe_payment_method
   OR payment_methods.display IS DISTINCT FROM excluded.display
