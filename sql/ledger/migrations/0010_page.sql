-- The Billing page's sign-in (billing/service/page_session.py, docs/page.md). Only hashes of the one-time
-- link tokens and of the session ids are kept: a copy of the ledger signs no one in. Times are epoch seconds.
CREATE TABLE page_login_links (
    token_hash TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    platform_admin INTEGER NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);

CREATE TABLE page_sessions (
    session_hash TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    platform_admin INTEGER NOT NULL,
    csrf_token TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
