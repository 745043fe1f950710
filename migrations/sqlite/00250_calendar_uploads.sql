-- +goose Up
-- A calendar file uploaded for import, kept between its preview (a page of
-- its own, so reloading it posts nothing) and the confirmation; removed on
-- import and after a day.
CREATE TABLE calendar_uploads (
    id         TEXT PRIMARY KEY,
    calendar   TEXT NOT NULL,
    file_name  TEXT NOT NULL,
    content    BLOB NOT NULL,
    created_by TEXT NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX calendar_uploads_created ON calendar_uploads (created_at);

-- +goose Down
DROP TABLE calendar_uploads;
