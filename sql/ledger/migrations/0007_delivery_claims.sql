-- A delivery is claimed (status 'sending', claimed_at) before it is sent, so that a crash between the send and
-- the record of 'sent' leaves a trace to resolve rather than a pending delivery sent again blindly.
ALTER TABLE alert_deliveries ADD COLUMN claimed_at TEXT;
