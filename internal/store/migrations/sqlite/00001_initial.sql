-- +goose Up
-- Times are Unix milliseconds (UTC) in both dialects; dates are YYYY-MM-DD text.

-- The roster: every account that must move off SMS verification.
CREATE TABLE users (
    id             TEXT PRIMARY KEY,
    phone          TEXT NOT NULL,
    email          TEXT NOT NULL DEFAULT '',
    name           TEXT NOT NULL DEFAULT '',
    locale         TEXT NOT NULL DEFAULT '',
    deadline       TEXT NOT NULL,
    id_last4_hash  BLOB,
    state          TEXT NOT NULL DEFAULT 'notified'
                   CHECK (state IN ('notified', 'verified', 'enrolled', 'retired')),
    sms_retired_at INTEGER,
    snoozed_until  INTEGER,
    checkup_due_at INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX users_phone ON users (phone);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_state_deadline ON users (state, deadline);

-- The history of each user: every state change, verification, factor change, staff action.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}',
    actor      TEXT NOT NULL DEFAULT 'user',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX events_user ON events (user_id, id);

-- Replacement factors: authenticator apps, passkeys, email.
CREATE TABLE factors (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('totp', 'passkey', 'email')),
    name            TEXT NOT NULL DEFAULT '',
    secret          BLOB,
    secret_key_id   TEXT NOT NULL DEFAULT '',
    last_totp_step  INTEGER NOT NULL DEFAULT 0,
    email           TEXT NOT NULL DEFAULT '',
    credential_id   BLOB UNIQUE,
    public_key      BLOB,
    sign_count      INTEGER NOT NULL DEFAULT 0,
    transports      TEXT NOT NULL DEFAULT '',
    aaguid          BLOB,
    backup_eligible INTEGER NOT NULL DEFAULT 0,
    backup_state    INTEGER NOT NULL DEFAULT 0,
    flagged         INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
);
CREATE INDEX factors_user ON factors (user_id);

-- One-time codes: only their keyed hash is kept.
CREATE TABLE codes (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    channel     TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL DEFAULT '',
    code_hash   BLOB NOT NULL,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    consumed_at INTEGER,
    voided_at   INTEGER,
    issued_by   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX codes_user_purpose ON codes (user_id, purpose, created_at);

CREATE TABLE recovery_codes (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Counters per key (account, client, method) and window, so limits hold across instances.
CREATE TABLE counters (
    key          TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    count        INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX counters_expires ON counters (expires_at);

CREATE TABLE lockouts (
    key   TEXT PRIMARY KEY,
    until INTEGER NOT NULL
);

-- Server-side sessions: the cookie names a row, so any instance can end it.
CREATE TABLE sessions (
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
CREATE INDEX sessions_user ON sessions (user_id);

-- WebAuthn ceremonies in progress, so any instance can finish them.
CREATE TABLE ceremonies (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    data       BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);

CREATE TABLE staff (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'agent',
    created_at    INTEGER NOT NULL,
    disabled_at   INTEGER
);

CREATE TABLE audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id   INTEGER REFERENCES staff (id),
    action     TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '{}',
    ip         TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX audit_user ON audit (user_id, id);

-- Messages and events to deliver, written in the same transaction as the change that causes them.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    kind            TEXT NOT NULL CHECK (kind IN ('sms', 'email', 'event')),
    topic           TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    locked_until    INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_user ON outbox (user_id, id);

-- +goose Down
DROP TABLE outbox;
DROP TABLE audit;
DROP TABLE staff;
DROP TABLE ceremonies;
DROP TABLE sessions;
DROP TABLE lockouts;
DROP TABLE counters;
DROP TABLE recovery_codes;
DROP TABLE codes;
DROP TABLE factors;
DROP TABLE events;
DROP TABLE users;
