-- +goose Up
-- host_id: the host (data directory) whose runner dispatched the unit's
-- current attempt, recorded with its dispatch key. A local job's supervisor
-- state lives on that host's disk, so a replica on another host never adopts
-- a starting or running local unit (it could neither learn its outcome nor
-- start it idempotently); empty for units dispatched before it existed.
ALTER TABLE unit_runs ADD COLUMN host_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE unit_runs DROP COLUMN host_id;
