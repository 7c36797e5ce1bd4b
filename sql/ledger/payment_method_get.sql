SELECT tenant_id, type, stripe_customer_id, stripe_payment_method, display FROM payment_methods WHERE tenant_id = :tenant_id
