UPDATE invoices SET state = :state, subtotal = :subtotal, tax_rate = :tax_rate, tax = :tax, total = :total,
                    payment_method_type = :payment_method_type, due_date = :due_date, updated_at = :now,
                    finalized_at = :finalized_at
WHERE invoice_id = :invoice_id AND state = 'draft'
