package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/koyomi-dev/koyomi/internal/config"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// dbFlags are the flags of commands that open the database directly.
type dbFlags struct {
	url, dataDir *string
}

func addDBFlags(fs *flag.FlagSet) dbFlags {
	return dbFlags{
		url:     fs.String("database-url", "", "database URL (env KOYOMI_DATABASE_URL; empty: embedded SQLite under --data-dir)"),
		dataDir: fs.String("data-dir", "", "data directory of the embedded SQLite database (env KOYOMI_DATA_DIR, default var)"),
	}
}

func (d dbFlags) storeURL(e env) string {
	u := first(*d.url, e.getenv("KOYOMI_DATABASE_URL"))
	if u != "" {
		return u
	}
	return "sqlite:" + first(*d.dataDir, e.getenv("KOYOMI_DATA_DIR"), config.DataDirDefault) + "/koyomi.db"
}

// open opens the store and checks its schema is current (applying the
// migrations first on a fresh embedded database).
func (d dbFlags) open(ctx context.Context, e env) (*store.Store, error) {
	s, err := store.Open(ctx, store.Config{URL: d.storeURL(e)})
	if err != nil {
		return nil, err
	}
	pending, err := s.HasPendingMigrations(ctx)
	if err != nil {
		s.Close()
		return nil, err
	}
	if pending {
		if s.Dialect() == store.DialectSQLite {
			if _, err := s.MigrateUp(ctx); err != nil {
				s.Close()
				return nil, err
			}
		} else {
			s.Close()
			return nil, fmt.Errorf("the database schema is behind this koyomi binary: run 'koyomi migrate up' first")
		}
	}
	return s, nil
}

// cliActor is who CLI commands act as: the local operating-system user with
// admin rights (whoever can open the database can change it anyway).
func cliActor(e env) ops.Actor {
	name := first(e.getenv("KOYOMI_ACTOR"), e.getenv("USER"), "cli")
	return ops.Actor{Username: "cli:" + name, Role: store.RoleAdmin}
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
