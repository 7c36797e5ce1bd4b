DELETE FROM invoice_lines WHERE invoice_id = :invoice_id
