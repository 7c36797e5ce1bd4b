-- Forget expired sessions (run on each sign-in).
DELETE FROM page_sessions WHERE expires_at <= :now
