SELECT period FROM invoices WHERE status IN ('pending', 'overdue') AND state = 'final' GROUP BY period ORDER BY period
