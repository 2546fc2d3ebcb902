-- +goose Up
-- QR code sign-ins (internal/qrsignin): a computer shows a QR code, the user's signed-in phone
-- scans and approves it. binding is the SHA-256 of the token in the computer's binding cookie
-- (only that browser may watch or complete); code is the SHA-256 of the QR code's current id,
-- which changes when the code refreshes. state moves only forward, by one conditional update:
-- pending → claimed → approved → consumed, or denied, cancelled, expired. state_until is when the
-- current state runs out, ends_at when the whole sign-in does. ip and user_agent are the
-- computer's, shown to the approver; claimed_by is the claiming phone's session.
CREATE TABLE qr_signins (
    binding     TEXT PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    state       TEXT NOT NULL,
    refreshes   BIGINT NOT NULL DEFAULT 0,
    user_id     TEXT REFERENCES users (id) ON DELETE CASCADE,
    claimed_by  TEXT NOT NULL DEFAULT '',
    ip          TEXT NOT NULL DEFAULT '',
    user_agent  TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    state_until BIGINT NOT NULL,
    ends_at     BIGINT NOT NULL
);
CREATE INDEX qr_signins_ends ON qr_signins (ends_at);
CREATE INDEX qr_signins_user ON qr_signins (user_id);

-- +goose Down
DROP TABLE qr_signins;
