-- A session that has not expired.
SELECT subject, platform_admin, csrf_token, expires_at FROM page_sessions WHERE session_hash = :session_hash AND expires_at > :now
