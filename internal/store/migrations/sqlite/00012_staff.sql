-- +goose Up
-- Support staff (internal/staff), replacing the unused password-based tables of the first schema.
-- Staff sign in with a passkey or an authenticator app of their own (staff_factors, never a user's
-- factors) or through the company's OpenID Connect provider; no passwords.
DROP TABLE audit;
DROP TABLE staff;

-- Staff members. email is lower-case; role is agent, supervisor or admin; status is pending until
-- the setup link enrolls a factor, then active, or disabled by an admin. created_by names who added
-- the member: a staff ID, or "cli:NAME" for the command line.
CREATE TABLE staff (
    id           TEXT PRIMARY KEY,
    email        TEXT NOT NULL UNIQUE,
    role         TEXT NOT NULL CHECK (role IN ('agent', 'supervisor', 'admin')),
    display_name TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'active', 'disabled')),
    locale       TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL DEFAULT '',
    updated_at   INTEGER NOT NULL
);

-- One-time setup links: id is the SHA-256 of the link's token; used_at makes it work once.
CREATE TABLE staff_setup_links (
    id         TEXT PRIMARY KEY,
    staff_id   TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX staff_setup_links_staff ON staff_setup_links (staff_id);

-- Staff members' own sign-in factors: authenticator apps and passkeys, as a user's factors but in
-- a table of their own, so neither can ever sign in as the other.
CREATE TABLE staff_factors (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    staff_id        TEXT NOT NULL REFERENCES staff (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('totp', 'passkey')),
    name            TEXT NOT NULL DEFAULT '',
    secret          BLOB,
    secret_key_id   TEXT NOT NULL DEFAULT '',
    last_totp_step  INTEGER NOT NULL DEFAULT 0,
    credential_id   BLOB UNIQUE,
    public_key      BLOB,
    sign_count      INTEGER NOT NULL DEFAULT 0,
    transports      TEXT NOT NULL DEFAULT '',
    aaguid          BLOB,
    backup_eligible INTEGER NOT NULL DEFAULT 0,
    backup_state    INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    last_used_at    INTEGER
);
CREATE INDEX staff_factors_staff ON staff_factors (staff_id);

-- The staff audit log: every console action and operator command, written in the transaction of
-- the change. staff_id is '' for the command line, whose actor names the OS user or --actor;
-- user_id is NULL when the action concerns no user (a search, managing staff). No foreign keys:
-- the record outlives the user and the staff member it names.
CREATE TABLE staff_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    at         INTEGER NOT NULL,
    staff_id   TEXT NOT NULL DEFAULT '',
    actor      TEXT NOT NULL,
    staff_role TEXT NOT NULL DEFAULT '',
    action     TEXT NOT NULL,
    user_id    TEXT,
    reason     TEXT NOT NULL DEFAULT '',
    client_ip  TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX staff_audit_at ON staff_audit (at, id);
CREATE INDEX staff_audit_staff ON staff_audit (staff_id, at);
CREATE INDEX staff_audit_user ON staff_audit (user_id, at) WHERE user_id IS NOT NULL;
CREATE INDEX staff_audit_action ON staff_audit (action, at);

-- +goose Down
DROP TABLE staff_audit;
DROP TABLE staff_factors;
DROP TABLE staff_setup_links;
DROP TABLE staff;
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
