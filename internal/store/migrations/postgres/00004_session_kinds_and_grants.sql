-- +goose Up
-- Sessions of every kind (internal/session): a signed-in user, and to come, support staff and a
-- partner's embedded page. The subject is a user ID, or a staff ID for a staff session, so it no
-- longer references users.
ALTER TABLE sessions DROP CONSTRAINT sessions_user_id_fkey;
ALTER TABLE sessions RENAME COLUMN user_id TO subject;
ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT 'user';
ALTER TABLE sessions ALTER COLUMN kind DROP DEFAULT;
DROP INDEX sessions_user;
CREATE INDEX sessions_subject ON sessions (kind, subject);

-- Verified identities that allow the first enrollment before any sign-in: the cookie names a row,
-- which the first factor that retires SMS consumes, sign-out ends and the elevated window expires.
CREATE TABLE grants (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    method      TEXT NOT NULL,
    verified_at BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT,
    ended_at    BIGINT,
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX grants_user ON grants (user_id);

-- +goose Down
DROP TABLE grants;
DELETE FROM sessions WHERE kind <> 'user' OR subject NOT IN (SELECT id FROM users);
DROP INDEX sessions_subject;
ALTER TABLE sessions DROP COLUMN kind;
ALTER TABLE sessions RENAME COLUMN subject TO user_id;
ALTER TABLE sessions ADD CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
CREATE INDEX sessions_user ON sessions (user_id);
