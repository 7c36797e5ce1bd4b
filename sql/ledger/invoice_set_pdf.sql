UPDATE invoices SET pdf_key = :pdf_key WHERE invoice_id = :invoice_id
