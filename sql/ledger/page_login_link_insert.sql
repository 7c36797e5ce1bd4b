-- A one-time sign-in link, by the hash of its token.
INSERT INTO page_login_links (token_hash, subject, platform_admin, expires_at) VALUES (:token_hash, :subject, :platform_admin, :expires_at)
