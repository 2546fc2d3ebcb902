-- +goose Up
-- How a session's sign-in came when it was not a factor on this browser: 'qr' for a QR code
-- scanned and approved on a signed-in phone, 'phone' for a request approved on one
-- (internal/approval); '' for a factor. My security lists it beside the session.
ALTER TABLE sessions ADD COLUMN via TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE sessions DROP COLUMN via;
