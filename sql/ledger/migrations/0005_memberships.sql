-- A user's membership as spans: one row per stay in the directory, [active_from, active_until), so a user
-- removed and added again is not a seat in the months between. A user counts as a seat in every month that
-- overlaps any of its spans. NULL active_from: since the tenant's first import; NULL active_until: still in
-- the directory (at most one open span per user).
CREATE TABLE memberships (
    tenant_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    active_from TEXT,
    active_until TEXT,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, user_id)
);

CREATE UNIQUE INDEX memberships_open ON memberships (tenant_id, user_id) WHERE active_until IS NULL;

-- A gap before this migration was not recorded: each user keeps the one span it had.
INSERT INTO memberships (tenant_id, user_id, active_from, active_until)
SELECT tenant_id, user_id, active_from, active_until FROM users;

ALTER TABLE users DROP COLUMN active_from;

ALTER TABLE users DROP COLUMN active_until;
