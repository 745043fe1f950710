-- +goose Up
-- One row per earlier attempt of a unit: when a unit is dispatched again (a
-- retry or a rerun), the attempt it replaces is kept here with its dispatch
-- key and handle, so its log stays readable. The current attempt lives in
-- unit_runs.
CREATE TABLE unit_attempts (
    generation_id TEXT NOT NULL REFERENCES generations(id),
    path          TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    dispatch_key  TEXT NOT NULL DEFAULT '',
    handle        TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    exit_code     INTEGER,
    reason        TEXT NOT NULL DEFAULT '',
    started_at    TIMESTAMPTZ,
    ended_at      TIMESTAMPTZ,
    PRIMARY KEY (generation_id, path, attempt)
);

-- +goose Down
DROP TABLE unit_attempts;
