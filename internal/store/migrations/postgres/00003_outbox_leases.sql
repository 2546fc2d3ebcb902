-- +goose Up
-- A one-time code in an outbox payload is sealed (AES-256-GCM, internal/sealbox) into secret with
-- the ID of its key; the payload itself never holds it. leased_by names the worker holding an
-- item's lease, so only that worker extends, releases or reschedules it.
ALTER TABLE outbox ADD COLUMN secret BYTEA;
ALTER TABLE outbox ADD COLUMN secret_key_id TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN leased_by TEXT NOT NULL DEFAULT '';
-- Workers claim per channel among the pending items only; sent items no longer slow the claim.
DROP INDEX outbox_due;
CREATE INDEX outbox_pending ON outbox (kind, next_attempt_at) WHERE status = 'pending';

-- /readyz writes here to learn that the database accepts writes, not only that it answers.
CREATE TABLE heartbeat (
    name TEXT PRIMARY KEY,
    at   BIGINT NOT NULL
);

-- +goose Down
DROP TABLE heartbeat;
DROP INDEX outbox_pending;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
ALTER TABLE outbox DROP COLUMN leased_by;
ALTER TABLE outbox DROP COLUMN secret_key_id;
ALTER TABLE outbox DROP COLUMN secret;
