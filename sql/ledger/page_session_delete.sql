-- Sign out.
DELETE FROM page_sessions WHERE session_hash = :session_hash
