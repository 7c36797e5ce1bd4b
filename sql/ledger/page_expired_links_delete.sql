-- Forget expired sign-in links (run on each sign-in).
DELETE FROM page_login_links WHERE expires_at <= :now
