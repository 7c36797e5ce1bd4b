UPDATE alert_deliveries SET status = 'sent', attempts = attempts + 1, sent_at = :now, provider_message_id = :message_id,
                            last_error = NULL, next_attempt_at = NULL
WHERE delivery_id = :delivery_id AND status IN ('sending', 'possibly_sent')
