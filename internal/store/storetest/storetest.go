// Package storetest opens migrated stores on the real databases for tests:
// a fresh SQLite file and a fresh database on the shared PostgreSQL test
// cluster (package pgtest). Tests that use it run once per dialect.
package storetest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/pgtest"
)

// Dialects lists the databases every store-backed test runs on.
var Dialects = []string{store.DialectSQLite, store.DialectPostgres}

// URL returns the URL of a fresh, empty database of the dialect.
func URL(t testing.TB, dialect string) string {
	t.Helper()
	if dialect == store.DialectPostgres {
		return pgtest.Database(t)
	}
	return "sqlite:" + filepath.Join(t.TempDir(), "koyomi.db")
}

// Open returns a migrated store on a fresh database; it is closed when t ends.
func Open(t testing.TB, dialect string, now func() time.Time) *store.Store {
	t.Helper()
	return open(t, URL(t, dialect), now)
}

// OpenURL returns a migrated store on the database at url; it is closed when t ends.
func OpenURL(t testing.TB, url string) *store.Store {
	t.Helper()
	return open(t, url, nil)
}

func open(t testing.TB, url string, now func() time.Time) *store.Store {
	t.Helper()
	dialect := store.DialectSQLite
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := store.Open(ctx, store.Config{URL: url, Now: now})
	if err != nil {
		t.Fatalf("open store %s: %v", url, err)
	}
	dialect = s.Dialect()
	t.Cleanup(func() { _ = s.Close() })
	if _, err := s.MigrateUp(ctx); err != nil {
		t.Fatalf("migrate %s store: %v", dialect, err)
	}
	return s
}

// Each runs fn as a subtest per dialect with a fresh migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, d := range Dialects {
		t.Run(d, func(t *testing.T) {
			fn(t, Open(t, d, nil))
		})
	}
}

// Main is the TestMain body of packages that use storetest: it stops the
// shared PostgreSQL cluster after the tests.
func Main(m interface{ Run() int }) int {
	code := m.Run()
	pgtest.StopShared()
	return code
}
