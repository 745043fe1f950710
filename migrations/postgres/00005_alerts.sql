-- +goose Up
-- Alert channels, rules and deliveries. Secrets live in their own column
-- and are never read back by the API or the GUI.
CREATE TABLE alert_channels (
    id                   BIGSERIAL PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    kind                 TEXT NOT NULL,
    enabled              BOOLEAN NOT NULL DEFAULT TRUE,
    config               TEXT NOT NULL DEFAULT '{}',
    secrets              TEXT NOT NULL DEFAULT '{}',
    templates            TEXT NOT NULL DEFAULT '{}',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    failing              BOOLEAN NOT NULL DEFAULT FALSE,
    last_error           TEXT NOT NULL DEFAULT '',
    last_failure_at      TIMESTAMPTZ,
    last_success_at      TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE alert_rules (
    id               BIGSERIAL PRIMARY KEY,
    name             TEXT NOT NULL UNIQUE,
    enabled          BOOLEAN NOT NULL DEFAULT TRUE,
    kinds            TEXT NOT NULL DEFAULT '[]',
    scope            TEXT NOT NULL DEFAULT '',
    channels         TEXT NOT NULL DEFAULT '[]',
    quiet_from       TEXT NOT NULL DEFAULT '',
    quiet_to         TEXT NOT NULL DEFAULT '',
    quiet_zone       TEXT NOT NULL DEFAULT '',
    quiet_policy     TEXT NOT NULL DEFAULT '',
    throttle_seconds INTEGER NOT NULL DEFAULT 60,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);

-- One row per message to one channel; event_ids is a JSON array of
-- alert_events ids folded into it by the rule's throttle.
CREATE TABLE alert_deliveries (
    id              BIGSERIAL PRIMARY KEY,
    channel_id      BIGINT NOT NULL,
    channel_name    TEXT NOT NULL DEFAULT '',
    rule_id         BIGINT NOT NULL DEFAULT 0,
    rule_name       TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL DEFAULT '',
    group_key       TEXT NOT NULL DEFAULT '',
    event_ids       TEXT NOT NULL DEFAULT '[]',
    event_count     INTEGER NOT NULL DEFAULT 0,
    message         TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    key             TEXT NOT NULL DEFAULT '',
    open_until      TIMESTAMPTZ NOT NULL,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    claimed_until   TIMESTAMPTZ,
    last_error      TEXT NOT NULL DEFAULT '',
    sent_at         TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX alert_deliveries_due ON alert_deliveries (state, next_attempt_at);
CREATE INDEX alert_deliveries_group ON alert_deliveries (group_key, state);
CREATE INDEX alert_deliveries_channel ON alert_deliveries (channel_id, id);

-- +goose Down
DROP TABLE alert_deliveries;
DROP TABLE alert_rules;
DROP TABLE alert_channels;
