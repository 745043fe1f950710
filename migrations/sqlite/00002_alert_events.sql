-- +goose Up
-- alert_events is the outbox: the runner writes an event in the same
-- transaction as the state change that causes it; the alert deliverer
-- turns events into deliveries.
CREATE TABLE alert_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,
    run_id      TEXT NOT NULL DEFAULT '',
    jobnet      TEXT NOT NULL DEFAULT '',
    unit        TEXT NOT NULL DEFAULT '',
    body        TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending',
    created_at  DATETIME NOT NULL,
    routed_at   DATETIME
);
CREATE INDEX alert_events_pending ON alert_events (state, id);

-- +goose Down
DROP TABLE alert_events;
