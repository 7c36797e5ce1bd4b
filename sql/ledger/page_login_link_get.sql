-- Who a (just spent) sign-in link signs in.
SELECT subject, platform_admin FROM page_login_links WHERE token_hash = :token_hash
