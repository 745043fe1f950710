package store

import (
	"context"
	"fmt"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/koyomi-dev/koyomi/migrations"
)

// MigrationStatus is one migration and whether it is applied.
type MigrationStatus struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

func (s *Store) provider() (*goose.Provider, error) {
	fsys, err := migrations.FS(s.dialect)
	if err != nil {
		return nil, err
	}
	d := goose.DialectPostgres
	if s.dialect == DialectSQLite {
		d = goose.DialectSQLite3
	}
	return goose.NewProvider(d, s.sqlDB, fsys)
}

// MigrateUp applies every pending migration and returns how many it applied.
func (s *Store) MigrateUp(ctx context.Context) (int, error) {
	p, err := s.provider()
	if err != nil {
		return 0, fmt.Errorf("migrate up: %w", err)
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrate up: %w", err)
	}
	return len(res), nil
}

// MigrateDown rolls back the latest migration.
func (s *Store) MigrateDown(ctx context.Context) error {
	p, err := s.provider()
	if err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	if _, err := p.Down(ctx); err != nil {
		return fmt.Errorf("migrate down: %w", err)
	}
	return nil
}

// MigrationStatuses lists every known migration.
func (s *Store) MigrationStatuses(ctx context.Context) ([]MigrationStatus, error) {
	p, err := s.provider()
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]MigrationStatus, len(st))
	for i, m := range st {
		out[i] = MigrationStatus{Version: m.Source.Version, Name: m.Source.Path, Applied: m.State == goose.StateApplied, AppliedAt: m.AppliedAt}
	}
	return out, nil
}

// HasPendingMigrations reports whether the schema is behind the binary.
func (s *Store) HasPendingMigrations(ctx context.Context) (bool, error) {
	p, err := s.provider()
	if err != nil {
		return false, err
	}
	return p.HasPending(ctx)
}
