-- +goose Up
-- smsretire as an OpenID Connect provider (internal/provider): the authorization requests of the
-- operator's services, from the browser's arrival to the code's exchange; the access tokens they
-- led to; how a session's user last authenticated (amr, for the ID token); and how often a user
-- postponed setting up a new method ("remind me later").
CREATE TABLE oidc_auth_requests (
    id                    TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scopes                TEXT NOT NULL,
    state                 TEXT NOT NULL DEFAULT '',
    nonce                 TEXT NOT NULL DEFAULT '',
    response_mode         TEXT NOT NULL DEFAULT '',
    code_challenge        TEXT NOT NULL,
    prompt                TEXT NOT NULL DEFAULT '',
    max_age               BIGINT,
    login_hint            TEXT NOT NULL DEFAULT '',
    acr_values            TEXT NOT NULL DEFAULT '',
    ui_locales            TEXT NOT NULL DEFAULT '',
    browser               TEXT NOT NULL,
    created_at            BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    subject               TEXT,
    auth_time             BIGINT,
    amr                   TEXT NOT NULL DEFAULT '',
    acr                   TEXT NOT NULL DEFAULT '',
    done_at               BIGINT,
    code_hash             TEXT UNIQUE,
    code_expires_at       BIGINT,
    exchanged_at          BIGINT,
    closed_at             BIGINT
);
CREATE INDEX oidc_auth_requests_expires ON oidc_auth_requests (expires_at);

CREATE TABLE oidc_tokens (
    id              TEXT PRIMARY KEY,
    auth_request_id TEXT NOT NULL REFERENCES oidc_auth_requests (id) ON DELETE CASCADE,
    client_id       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    scopes          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    revoked_at      BIGINT
);
CREATE INDEX oidc_tokens_auth_request ON oidc_tokens (auth_request_id);

ALTER TABLE sessions ADD COLUMN auth_methods TEXT NOT NULL DEFAULT '';

CREATE TABLE snoozes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic     TEXT NOT NULL,
    count     INTEGER NOT NULL,
    last_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, topic)
);

-- +goose Down
DROP TABLE snoozes;
ALTER TABLE sessions DROP COLUMN auth_methods;
DROP TABLE oidc_tokens;
DROP TABLE oidc_auth_requests;
