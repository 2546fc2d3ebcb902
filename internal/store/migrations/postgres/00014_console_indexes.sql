-- +goose Up
-- The support console's dashboard (internal/support) reads each figure from an index: users holding
-- each kind of factor, SMS retirements per day, users in the campaign past their deadline, and
-- messages given up per channel.
CREATE INDEX factors_kind_user ON factors (kind, user_id);
CREATE INDEX users_retired_at ON users (sms_retired_at) WHERE sms_retired_at IS NOT NULL;
CREATE INDEX users_deadline_open ON users (deadline)
    WHERE state <> 'retired' AND exempt_reason = '' AND out_of_scope_at IS NULL;
CREATE INDEX outbox_failed ON outbox (kind) WHERE status = 'failed';

-- +goose Down
DROP INDEX outbox_failed;
DROP INDEX users_deadline_open;
DROP INDEX users_retired_at;
DROP INDEX factors_kind_user;
