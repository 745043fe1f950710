-- +goose Up
-- catchup_checked: the generation's start is not a missed one, or its
-- catch-up was decided. A runner sets it when it sees the start time come
-- (within the grace period) or a running predecessor holding the generation
-- back; the scheduler's leader sets it on the missed generations its
-- catch-up policy keeps; an operator's release sets it. The runner starts a
-- generation overdue by more than the grace period only once it is set, so
-- a missed run the policy skips never starts before the leader decided.
ALTER TABLE generations ADD COLUMN catchup_checked BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE generations DROP COLUMN catchup_checked;
