INSERT INTO invoice_lines (invoice_id, position, description, metric, quantity, unit_price, amount)
VALUES (:invoice_id, :position, :description, :metric, :quantity, :unit_price, :amount)
