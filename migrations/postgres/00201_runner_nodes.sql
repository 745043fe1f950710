-- +goose Up
-- One row per runner node name: the process that uses it, as the operating
-- system names it. space is the machine boot and PID namespace the pid is
-- in; start is the process's start time in clock ticks since boot. A runner
-- that starts with a new node name adopts at once the units of a node whose
-- process is gone from its own space (restart after kill -9 with another
-- --node), instead of waiting for their claims to expire.
CREATE TABLE runner_nodes (
    node  TEXT PRIMARY KEY,
    space TEXT NOT NULL,
    pid   INTEGER NOT NULL,
    start BIGINT NOT NULL,
    at    TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE runner_nodes;
