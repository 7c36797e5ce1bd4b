UPDATE invoices SET status = :status, updated_at = :now WHERE invoice_id = :invoice_id AND status <> 'paid'
