// Package migrations holds the versioned SQL schema of Koyomi, one directory
// per dialect (sqlite, postgres), embedded into the binary and applied with
// goose by `koyomi migrate` and `koyomi serve --migrate`. Every schema change
// is a new numbered file in both directories; a file, once released, is never
// edited.
package migrations

import (
	"embed"
	"io/fs"
)

//go:embed sqlite/*.sql postgres/*.sql
var files embed.FS

// FS returns the migrations of a dialect ("sqlite" or "postgres").
func FS(dialect string) (fs.FS, error) {
	return fs.Sub(files, dialect)
}
