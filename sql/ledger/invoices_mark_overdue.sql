-- A month's unpaid final invoices past their due date and grace become overdue, decided in one statement
-- against the rows as they are: never while a charge of theirs is in flight (an attempt `started`, or an ACH
-- debit `processing`: the money may be on its way), and a card or ACH invoice only after a failed attempt
-- (one the system never tried to collect is not the tenant's fault). A charge that succeeds marks the invoice
-- paid in the same transaction that finishes its attempt, so this never sees one without the other.
UPDATE invoices SET status = 'overdue', updated_at = :now
WHERE period = :period AND state = 'final' AND status = 'pending' AND due_date < :due_before
  AND (payment_method_type NOT IN ('card', 'ach')
       OR EXISTS (SELECT 1 FROM payment_attempts a WHERE a.invoice_id = invoices.invoice_id AND a.status = 'failed'))
  AND NOT EXISTS (SELECT 1 FROM payment_attempts a WHERE a.invoice_id = invoices.invoice_id
                  AND a.status IN ('started', 'processing'))
RETURNING invoice_id, tenant_id, total
