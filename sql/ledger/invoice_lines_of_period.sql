SELECT l.invoice_id, l.description, l.metric, l.quantity, l.unit_price, l.amount
FROM invoice_lines l JOIN invoices i ON i.invoice_id = l.invoice_id
WHERE i.period = :period ORDER BY l.invoice_id, l.position
