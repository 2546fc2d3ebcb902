-- +goose Up
-- The nonces of partner launch tokens (internal/partner), each taken once: id is the SHA-256 of the
-- partner's ID and the nonce, so any instance refuses a replayed launch. A row outlives its
-- token's expiry only until the retention job deletes it.
CREATE TABLE launch_nonces (
    id         TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX launch_nonces_expires ON launch_nonces (expires_at);

-- +goose Down
DROP TABLE launch_nonces;
