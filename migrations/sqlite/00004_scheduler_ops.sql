-- +goose Up
-- retimed: an operator changed the generation's start time; re-plans leave it alone.
-- overlap: the jobnet's overlap policy when the generation was planned
-- (concurrent, wait, skip); the due query honours it.
-- reason: why the generation was skipped or not executed, for operators.
ALTER TABLE generations ADD COLUMN retimed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE generations ADD COLUMN overlap TEXT NOT NULL DEFAULT 'wait';
ALTER TABLE generations ADD COLUMN reason TEXT NOT NULL DEFAULT '';
CREATE INDEX generations_jobnet_scheduled ON generations (jobnet_id, scheduled_at);
-- kill_requested: an operator asked to kill the running unit; the runner
-- cancels it through its executor and records it killed.
ALTER TABLE unit_runs ADD COLUMN kill_requested BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE unit_runs DROP COLUMN kill_requested;
DROP INDEX generations_jobnet_scheduled;
ALTER TABLE generations DROP COLUMN reason;
ALTER TABLE generations DROP COLUMN overlap;
ALTER TABLE generations DROP COLUMN retimed;
