-- +goose Up
-- Sessions of every kind (internal/session): a signed-in user, and to come, support staff and a
-- partner's embedded page. The subject is a user ID, or a staff ID for a staff session, so it no
-- longer references users.
CREATE TABLE sessions_kinds (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    auth_at      INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
INSERT INTO sessions_kinds (id, kind, subject, created_at, last_seen_at, auth_at, expires_at, ended_at, ip, user_agent)
    SELECT id, 'user', user_id, created_at, last_seen_at, auth_at, expires_at, ended_at, ip, user_agent FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_kinds RENAME TO sessions;
CREATE INDEX sessions_subject ON sessions (kind, subject);

-- Verified identities that allow the first enrollment before any sign-in: the cookie names a row,
-- which the first factor that retires SMS consumes, sign-out ends and the elevated window expires.
CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method      TEXT NOT NULL,
    verified_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER,
    ended_at    INTEGER,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX grants_user ON grants (user_id);

-- +goose Down
DROP TABLE grants;
CREATE TABLE sessions_users (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    auth_at      INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    ended_at     INTEGER,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
INSERT INTO sessions_users (id, user_id, created_at, last_seen_at, auth_at, expires_at, ended_at, ip, user_agent)
    SELECT id, subject, created_at, last_seen_at, auth_at, expires_at, ended_at, ip, user_agent FROM sessions
    WHERE kind = 'user' AND subject IN (SELECT id FROM users);
DROP TABLE sessions;
ALTER TABLE sessions_users RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id);
