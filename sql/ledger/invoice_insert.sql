INSERT INTO invoices (invoice_id, invoice_number, tenant_id, period, state, status, currency, subtotal, tax_rate, tax,
                      total, payment_method_type, issued_at, due_date, created_at, updated_at, finalized_at)
VALUES (:invoice_id, :invoice_number, :tenant_id, :period, :state, 'pending', :currency, :subtotal, :tax_rate, :tax,
        :total, :payment_method_type, :issued_at, :due_date, :now, :now, :finalized_at)
