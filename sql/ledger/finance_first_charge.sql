-- When the first charge attempt on the invoices of a month was recorded (audit_log.at: the wall clock, in UTC,
-- committed with the attempt before Stripe is called): no PaymentIntent of the month's invoices is older.
SELECT MIN(l.at) AS first_at
FROM audit_log l JOIN invoices i ON i.invoice_id = l.invoice_id
WHERE l.event = 'charge_attempt' AND i.period = :period
