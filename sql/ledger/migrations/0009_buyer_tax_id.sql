-- The buyer's VAT or tax number from the directory (optional), printed on its invoices.
ALTER TABLE tenants ADD COLUMN tax_id TEXT;
