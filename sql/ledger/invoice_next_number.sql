UPDATE invoice_sequence SET last_number = last_number + 1 WHERE name = 'invoice' RETURNING last_number
