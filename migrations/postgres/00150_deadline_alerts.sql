-- +goose Up
-- deadline_alerts records the deadline events already raised, one per
-- generation, unit ('' for the generation itself) and kind
-- (deadline_at_risk, deadline_missed). The forecast service inserts the row
-- in the same transaction as the outbox event, guarded by the primary key,
-- so a restart or a second replica never raises the same event again.
CREATE TABLE deadline_alerts (
    generation_id TEXT NOT NULL REFERENCES generations(id),
    unit          TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL,
    deadline      TIMESTAMPTZ NOT NULL,
    predicted_end TIMESTAMPTZ NOT NULL,
    raised_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (generation_id, unit, kind)
);
-- The history the forecast reads: successful runs of a jobnet's units.
CREATE INDEX generations_jobnet_business_date ON generations (jobnet_id, business_date);
-- The dates the forecast service checks: generations not ended, or ended lately.
CREATE INDEX generations_ended_at ON generations (ended_at);

-- +goose Down
DROP INDEX generations_ended_at;
DROP INDEX generations_jobnet_business_date;
DROP TABLE deadline_alerts;
