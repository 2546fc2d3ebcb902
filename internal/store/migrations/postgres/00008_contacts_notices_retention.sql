-- +goose Up
-- Browsers a user signed in or verified on (internal/device), so a sign-in from another one sends
-- a notice. id is the keyed hash of a long-lived random cookie, never the cookie itself; family is
-- the browser and system ("Chrome on Windows"), so a cookie carried to another browser counts as
-- another device. Rows not seen for a year are deleted with the cookie's lifetime.
CREATE TABLE devices (
    id            TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    family        TEXT NOT NULL DEFAULT '',
    first_seen_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    PRIMARY KEY (id, user_id, family)
);
CREATE INDEX devices_user ON devices (user_id);
CREATE INDEX devices_seen ON devices (last_seen_at);

-- The "this wasn't me" links of security emails (internal/notice): id is the SHA-256 of the link's
-- token; used_at makes a link work once. undo says what a contact change replaced, to put it back.
CREATE TABLE disavowals (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    change_type TEXT NOT NULL,
    undo        TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT
);
CREATE INDEX disavowals_user ON disavowals (user_id);
CREATE INDEX disavowals_expires ON disavowals (expires_at);

-- A "this wasn't me" locks changes to the account until the user verifies their identity again.
-- A contact the user changed in the portal is kept when a roster import names another.
ALTER TABLE users ADD COLUMN changes_locked_at BIGINT;
ALTER TABLE users ADD COLUMN email_changed_at BIGINT;
ALTER TABLE users ADD COLUMN phone_changed_at BIGINT;

-- The retention job (internal/retention) deletes by age; these let it find old rows without a scan.
CREATE INDEX events_created ON events (created_at);
CREATE INDEX outbox_done_created ON outbox (created_at) WHERE status <> 'pending';
CREATE INDEX sessions_expires ON sessions (expires_at);
CREATE INDEX grants_expires ON grants (expires_at);
CREATE INDEX ceremonies_expires ON ceremonies (expires_at);
CREATE INDEX codes_expires ON codes (expires_at);
CREATE INDEX lockouts_until ON lockouts (until);

-- Jobs every instance runs, claimed in turn: the instance that moves next_run_at runs the job.
CREATE TABLE jobs (
    name        TEXT PRIMARY KEY,
    next_run_at BIGINT NOT NULL,
    claimed_by  TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE jobs;
DROP INDEX lockouts_until;
DROP INDEX codes_expires;
DROP INDEX ceremonies_expires;
DROP INDEX grants_expires;
DROP INDEX sessions_expires;
DROP INDEX outbox_done_created;
DROP INDEX events_created;
ALTER TABLE users DROP COLUMN phone_changed_at;
ALTER TABLE users DROP COLUMN email_changed_at;
ALTER TABLE users DROP COLUMN changes_locked_at;
DROP TABLE disavowals;
DROP TABLE devices;
