-- +goose Up
-- Runner bookkeeping. cancel_cause: why the runner cancelled the execution
-- ("kill" or "timeout"), so that its end is judged accordingly even after a
-- restart. tries: tries since the unit last started fresh (retry policy).
-- start_errors: consecutive retryable dispatch failures of the current
-- attempt (backoff). max_concurrent: the pinned jobnet version's
-- max_concurrent_jobs, copied when the generation starts.
ALTER TABLE unit_runs ADD COLUMN cancel_cause TEXT NOT NULL DEFAULT '';
ALTER TABLE unit_runs ADD COLUMN tries INTEGER NOT NULL DEFAULT 0;
ALTER TABLE unit_runs ADD COLUMN start_errors INTEGER NOT NULL DEFAULT 0;
ALTER TABLE generations ADD COLUMN max_concurrent INTEGER NOT NULL DEFAULT 0;
CREATE INDEX unit_runs_claimed ON unit_runs (claimed_by, state);

-- +goose Down
DROP INDEX unit_runs_claimed;
ALTER TABLE generations DROP COLUMN max_concurrent;
ALTER TABLE unit_runs DROP COLUMN start_errors;
ALTER TABLE unit_runs DROP COLUMN tries;
ALTER TABLE unit_runs DROP COLUMN cancel_cause;
