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
    id_last4_hash  BYTEA,
    state          TEXT NOT NULL DEFAULT 'notified'
                   CHECK (state IN ('notified', 'verified', 'enrolled', 'retired')),
    sms_retired_at BIGINT,
    snoozed_until  BIGINT,
    checkup_due_at BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX users_phone ON users (phone);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_state_deadline ON users (state, deadline);

-- The history of each user: every state change, verification, factor change, staff action.
CREATE TABLE events (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type       TEXT NOT NULL,
    detail     TEXT NOT NULL DEFAULT '{}',
    actor      TEXT NOT NULL DEFAULT 'user',
    ip         TEXT NOT NULL DEFAULT '',
    user_agent TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX events_user ON events (user_id, id);

-- Replacement factors: authenticator apps, passkeys, email.
CREATE TABLE factors (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('totp', 'passkey', 'email')),
    name            TEXT NOT NULL DEFAULT '',
    secret          BYTEA,
    secret_key_id   TEXT NOT NULL DEFAULT '',
    last_totp_step  BIGINT NOT NULL DEFAULT 0,
    email           TEXT NOT NULL DEFAULT '',
    credential_id   BYTEA UNIQUE,
    public_key      BYTEA,
    sign_count      BIGINT NOT NULL DEFAULT 0,
    transports      TEXT NOT NULL DEFAULT '',
    aaguid          BYTEA,
    backup_eligible BIGINT NOT NULL DEFAULT 0,
    backup_state    BIGINT NOT NULL DEFAULT 0,
    flagged         BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    last_used_at    BIGINT
);
CREATE INDEX factors_user ON factors (user_id);

-- One-time codes: only their keyed hash is kept.
CREATE TABLE codes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    channel     TEXT NOT NULL DEFAULT '',
    target      TEXT NOT NULL DEFAULT '',
    code_hash   BYTEA NOT NULL,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL,
    consumed_at BIGINT,
    voided_at   BIGINT,
    issued_by   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX codes_user_purpose ON codes (user_id, purpose, created_at);

CREATE TABLE recovery_codes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BYTEA NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Counters per key (account, client, method) and window, so limits hold across instances.
CREATE TABLE counters (
    key          TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    count        BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    PRIMARY KEY (key, window_start)
);
CREATE INDEX counters_expires ON counters (expires_at);

CREATE TABLE lockouts (
    key   TEXT PRIMARY KEY,
    until BIGINT NOT NULL
);

-- Server-side sessions: the cookie names a row, so any instance can end it.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    auth_at      BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ended_at     BIGINT,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id);

-- WebAuthn ceremonies in progress, so any instance can finish them.
CREATE TABLE ceremonies (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL DEFAULT '',
    kind       TEXT NOT NULL,
    data       BYTEA NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE TABLE staff (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL DEFAULT 'agent',
    created_at    BIGINT NOT NULL,
    disabled_at   BIGINT
);

CREATE TABLE audit (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    staff_id   BIGINT REFERENCES staff (id),
    action     TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '{}',
    ip         TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);
CREATE INDEX audit_user ON audit (user_id, id);

-- Messages and events to deliver, written in the same transaction as the change that causes them.
CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind            TEXT NOT NULL CHECK (kind IN ('sms', 'email', 'event')),
    topic           TEXT NOT NULL,
    user_id         TEXT NOT NULL DEFAULT '',
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until    BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
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
