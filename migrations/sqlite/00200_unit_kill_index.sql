-- +goose Up
-- The runner looks for kill requests on the units it watches in every pass
-- without reading the others: a partial index holds only the few units with
-- a kill request (the flag clears when the unit ends).
CREATE INDEX unit_runs_kill ON unit_runs (claimed_by) WHERE kill_requested;

-- +goose Down
DROP INDEX unit_runs_kill;
