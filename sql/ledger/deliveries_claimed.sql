SELECT delivery_id, channel, claimed_at FROM alert_deliveries WHERE status = 'sending' ORDER BY delivery_id
