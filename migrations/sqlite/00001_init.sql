-- +goose Up
CREATE TABLE folders (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    calendar    TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

CREATE TABLE calendars (
    name        TEXT PRIMARY KEY,
    version     INTEGER NOT NULL,
    definition  TEXT NOT NULL,
    hash        TEXT NOT NULL,
    created_at  DATETIME NOT NULL,
    updated_at  DATETIME NOT NULL
);

CREATE TABLE pools (
    name        TEXT PRIMARY KEY,
    slots       INTEGER NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    updated_at  DATETIME NOT NULL
);

CREATE TABLE jobnets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    folder          TEXT NOT NULL REFERENCES folders(name),
    name            TEXT NOT NULL,
    current_version INTEGER NOT NULL,
    created_at      DATETIME NOT NULL,
    updated_at      DATETIME NOT NULL,
    UNIQUE (folder, name)
);

CREATE TABLE jobnet_versions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    jobnet_id   INTEGER NOT NULL REFERENCES jobnets(id),
    version     INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    definition  TEXT NOT NULL,
    created_by  TEXT NOT NULL DEFAULT '',
    created_at  DATETIME NOT NULL,
    UNIQUE (jobnet_id, version)
);

CREATE TABLE generations (
    id             TEXT PRIMARY KEY,
    jobnet_id      INTEGER NOT NULL REFERENCES jobnets(id),
    jobnet_version INTEGER NOT NULL,
    jobnet_path    TEXT NOT NULL,
    folder         TEXT NOT NULL,
    business_date  TEXT NOT NULL,
    rule           TEXT NOT NULL,
    start_clock    INTEGER NOT NULL,
    scheduled_at   DATETIME NOT NULL,
    state          TEXT NOT NULL,
    held           BOOLEAN NOT NULL DEFAULT FALSE,
    params         TEXT NOT NULL DEFAULT '{}',
    explanation    TEXT NOT NULL DEFAULT '',
    start_delayed  BOOLEAN NOT NULL DEFAULT FALSE,
    end_delayed    BOOLEAN NOT NULL DEFAULT FALSE,
    started_at     DATETIME,
    ended_at       DATETIME,
    created_at     DATETIME NOT NULL,
    updated_at     DATETIME NOT NULL,
    UNIQUE (jobnet_id, business_date, rule, start_clock)
);
CREATE INDEX generations_business_date ON generations (business_date);
CREATE INDEX generations_state_scheduled ON generations (state, scheduled_at);

CREATE TABLE unit_runs (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    generation_id   TEXT NOT NULL REFERENCES generations(id),
    path            TEXT NOT NULL,
    kind            TEXT NOT NULL,
    job_type        TEXT NOT NULL DEFAULT '',
    pool            TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    held            BOOLEAN NOT NULL DEFAULT FALSE,
    attempt         INTEGER NOT NULL DEFAULT 0,
    exit_code       INTEGER,
    judgment        BOOLEAN,
    reason          TEXT NOT NULL DEFAULT '',
    start_delayed   BOOLEAN NOT NULL DEFAULT FALSE,
    end_delayed     BOOLEAN NOT NULL DEFAULT FALSE,
    dispatch_key    TEXT NOT NULL DEFAULT '',
    handle          TEXT NOT NULL DEFAULT '',
    claimed_by      TEXT NOT NULL DEFAULT '',
    claim_expires   DATETIME,
    not_before      DATETIME,
    queued_at       DATETIME,
    started_at      DATETIME,
    ended_at        DATETIME,
    updated_at      DATETIME NOT NULL,
    UNIQUE (generation_id, path)
);
CREATE INDEX unit_runs_state ON unit_runs (state);

CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    lang          TEXT NOT NULL DEFAULT 'en',
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    created_at    DATETIME NOT NULL,
    updated_at    DATETIME NOT NULL
);

CREATE TABLE sessions (
    token   TEXT PRIMARY KEY,
    data    BLOB NOT NULL,
    expiry  DATETIME NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expiry);

CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users(id),
    name        TEXT NOT NULL,
    hash        TEXT NOT NULL UNIQUE,
    created_at  DATETIME NOT NULL,
    last_used   DATETIME
);

CREATE TABLE audit_log (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    at      DATETIME NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    target  TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);

CREATE TABLE connections (
    name        TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    config      TEXT NOT NULL,
    secret      TEXT NOT NULL DEFAULT '',
    updated_at  DATETIME NOT NULL
);

CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    holder      TEXT NOT NULL,
    expires_at  DATETIME NOT NULL
);

-- +goose Down
DROP TABLE leases;
DROP TABLE connections;
DROP TABLE audit_log;
DROP TABLE api_tokens;
DROP TABLE sessions;
DROP TABLE users;
DROP TABLE unit_runs;
DROP TABLE generations;
DROP TABLE jobnet_versions;
DROP TABLE jobnets;
DROP TABLE pools;
DROP TABLE calendars;
DROP TABLE folders;
