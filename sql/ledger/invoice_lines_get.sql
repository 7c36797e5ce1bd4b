SELECT description, metric, quantity, unit_price, amount FROM invoice_lines WHERE invoice_id = :invoice_id ORDER BY position
