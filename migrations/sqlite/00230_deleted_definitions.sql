-- +goose Up
-- A deleted jobnet or folder leaves every list but keeps its row: the
-- versions and the runs of a deleted jobnet still name it. A deleted
-- jobnet's name gets the suffix ~ID (a character names never have), so the
-- name is free again; a deleted folder comes back when a folder of its name
-- is created. title is the current version's display name (any script),
-- kept beside the definition so lists show it without decoding definitions.
ALTER TABLE jobnets ADD COLUMN deleted_at DATETIME;
ALTER TABLE jobnets ADD COLUMN title TEXT NOT NULL DEFAULT '';
ALTER TABLE folders ADD COLUMN deleted_at DATETIME;

-- +goose Down
ALTER TABLE folders DROP COLUMN deleted_at;
ALTER TABLE jobnets DROP COLUMN title;
ALTER TABLE jobnets DROP COLUMN deleted_at;
