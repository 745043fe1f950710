-- +goose Up
-- time_zone: the IANA zone a user reads every time in ('' = each page's
-- calendar zone).
ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN time_zone;
