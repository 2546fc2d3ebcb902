-- +goose Up
-- Approval from a signed-in phone (internal/approval). An approver is a signed-in session that the
-- user enrolled from My security; ending the session or removing it stops its approvals.
CREATE TABLE approvers (
    session_id TEXT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL
);
CREATE INDEX approvers_user ON approvers (user_id);

-- Web Push subscriptions of approvers that turned notifications on; id is the SHA-256 of the
-- endpoint. A push service's 404 or 410 deletes the row.
CREATE TABLE push_subscriptions (
    id         TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES approvers (session_id) ON DELETE CASCADE,
    user_id    TEXT NOT NULL,
    endpoint   TEXT NOT NULL,
    p256dh     TEXT NOT NULL,
    auth       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX push_subscriptions_user ON push_subscriptions (user_id);

-- One sign-in waiting for approval. account is the account key named on /signin (limits count by
-- it); user_id is '' for an account that does not exist, so such a request looks the same and is
-- never approved. number_hash and binding_hash are keyed hashes: the number the phone must type,
-- and the secret of the desktop's binding cookie. States move forward only, by compare-and-swap:
-- pending -> approved -> consumed, or denied, wrong (a mistyped number) or expired.
CREATE TABLE approval_requests (
    id           TEXT PRIMARY KEY,
    account      TEXT NOT NULL,
    user_id      TEXT NOT NULL DEFAULT '',
    number_hash  TEXT NOT NULL,
    binding_hash TEXT NOT NULL,
    state        TEXT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    decided_at   INTEGER,
    decided_by   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX approval_requests_user ON approval_requests (user_id, state);
CREATE INDEX approval_requests_expires ON approval_requests (expires_at);

-- Per account: the one open request (open_until), the gap between requests (last_at), failures
-- in a row (denied, mistyped or ignored) and the suspension they lead to. Taken by one
-- conditional upsert, so racing requests on any instance open one request at most.
CREATE TABLE approval_accounts (
    account         TEXT PRIMARY KEY,
    last_at         INTEGER NOT NULL,
    open_id         TEXT NOT NULL DEFAULT '',
    open_until      INTEGER NOT NULL DEFAULT 0,
    failures        INTEGER NOT NULL DEFAULT 0,
    suspended_until INTEGER NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE approval_accounts;
DROP TABLE approval_requests;
DROP TABLE push_subscriptions;
DROP TABLE approvers;
