-- A signed-in session, by the hash of its id.
INSERT INTO page_sessions (session_hash, subject, platform_admin, csrf_token, expires_at) VALUES (:session_hash, :subject, :platform_admin, :csrf_token, :expires_at)
