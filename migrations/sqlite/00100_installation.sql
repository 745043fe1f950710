-- +goose Up
-- installation: one row, created with the schema, that names this Koyomi
-- installation (this database). Every dispatch key, and so every ECS
-- startedBy and clientToken and every pod name, carries it, and pods are
-- labelled with it: two installations (or a recreated database) pointing
-- at one cluster never adopt each other's tasks or pods. 12 hex digits.
CREATE TABLE installation (
    id         TEXT PRIMARY KEY,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO installation (id) VALUES (lower(hex(randomblob(6))));

-- +goose Down
DROP TABLE installation;
