-- +goose Up
-- "Remind me later" at the OpenID Connect sign-in shares the campaign's count of snoozes
-- (users.snoozes, internal/rollout): its own table goes.
DROP TABLE snoozes;

-- +goose Down
CREATE TABLE snoozes (
    user_id   TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    topic     TEXT NOT NULL,
    count     INTEGER NOT NULL,
    last_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, topic)
);
