-- +goose Up
-- The campaign (internal/rollout): waves, exemptions, the roster's scope, snoozes, and the
-- notices and reminders sent, each claimed once per user by its primary key.
ALTER TABLE users ADD COLUMN wave TEXT NOT NULL DEFAULT '';
-- 1: the roster row named no deadline, so deadline is the wave's and follows the configuration.
ALTER TABLE users ADD COLUMN deadline_from_wave BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN exempt_reason TEXT NOT NULL DEFAULT '';
-- Set when a full roster no longer names the user; cleared when a roster names them again.
ALTER TABLE users ADD COLUMN out_of_scope_at BIGINT;
ALTER TABLE users ADD COLUMN snoozes BIGINT NOT NULL DEFAULT 0;
-- When the scheduler next looks at the user: 0 as soon as it can (new or changed by the roster),
-- NULL never (nothing more to send until the roster or the configuration changes).
ALTER TABLE users ADD COLUMN campaign_due_at BIGINT DEFAULT 0;
CREATE INDEX users_campaign_due ON users (campaign_due_at) WHERE campaign_due_at IS NOT NULL;
-- Users by wave and state for the metrics and the staff dashboard, read from the index alone.
CREATE INDEX users_wave_state ON users (wave, state, exempt_reason, out_of_scope_at);

CREATE TABLE campaign_sends (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    touch      TEXT NOT NULL, -- notice, reminder:30 … reminder:0 (the deadline day), snooze:1 …
    status     TEXT NOT NULL CHECK (status IN ('sent', 'skipped')),
    due_at     BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, touch)
);

-- The campaign configuration the users' campaign_due_at were planned with; when it changes,
-- every user is planned again.
CREATE TABLE campaign_plan (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE campaign_plan;
DROP TABLE campaign_sends;
DROP INDEX users_wave_state;
DROP INDEX users_campaign_due;
ALTER TABLE users DROP COLUMN campaign_due_at;
ALTER TABLE users DROP COLUMN snoozes;
ALTER TABLE users DROP COLUMN out_of_scope_at;
ALTER TABLE users DROP COLUMN exempt_reason;
ALTER TABLE users DROP COLUMN deadline_from_wave;
ALTER TABLE users DROP COLUMN wave;
