-- +goose Up
-- Answers per account and method, reserved before an answer is checked, so parallel requests
-- cannot check more answers than the limit allows: pending answers are being checked now,
-- failed ones were wrong. An answer may be checked only while pending + failed is below the
-- limit; failed at the limit is a lock until expires_at. The key is account:method.
CREATE TABLE answer_limits (
    key        TEXT PRIMARY KEY,
    pending    INTEGER NOT NULL DEFAULT 0,
    failed     INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
);
CREATE INDEX answer_limits_expires ON answer_limits (expires_at);

-- Live locks and wrong answers counted the old way (lockouts 'lock:…', counters 'fail:…') carry
-- over; a carried lock counts more wrong answers than any configured limit.
INSERT INTO answer_limits (key, pending, failed, expires_at)
    SELECT substr(key, 6), 0, 1000000, until FROM lockouts WHERE key LIKE 'lock:%';
INSERT INTO answer_limits (key, pending, failed, expires_at)
    SELECT substr(key, 6), 0, count, expires_at FROM counters WHERE key LIKE 'fail:%'
    ON CONFLICT (key) DO NOTHING;
DELETE FROM lockouts WHERE key LIKE 'lock:%';
DELETE FROM counters WHERE key LIKE 'fail:%';

-- +goose Down
DROP TABLE answer_limits;
