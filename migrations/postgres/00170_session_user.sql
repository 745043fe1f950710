-- +goose Up
-- Sessions know their user, so that a password change or reset can end
-- that user's other sessions.
ALTER TABLE sessions ADD COLUMN user_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX sessions_user ON sessions (user_id);

-- +goose Down
DROP INDEX sessions_user;
ALTER TABLE sessions DROP COLUMN user_id;
