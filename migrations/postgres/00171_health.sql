-- +goose Up
-- One row per replica, rewritten by /readyz to prove the database takes writes.
CREATE TABLE health_probes (
    node TEXT PRIMARY KEY,
    at   TIMESTAMPTZ NOT NULL
);

-- +goose Down
DROP TABLE health_probes;
