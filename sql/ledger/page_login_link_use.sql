-- Spend a sign-in link: only once, only before it expires (one statement, so two tabs cannot both use it).
UPDATE page_login_links SET used_at = :now WHERE token_hash = :token_hash AND used_at IS NULL AND expires_at > :now
