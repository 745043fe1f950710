package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/config"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/seal"
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

// where says which setting chose the database, for messages.
func (d dbFlags) where(e env) string {
	switch {
	case *d.url != "":
		return "--database-url"
	case e.getenv("KOYOMI_DATABASE_URL") != "":
		return "KOYOMI_DATABASE_URL"
	case *d.dataDir != "":
		return "--data-dir"
	case e.getenv("KOYOMI_DATA_DIR") != "":
		return "KOYOMI_DATA_DIR"
	}
	return "the default data directory " + config.DataDirDefault
}

// openExisting opens the database; an embedded one must exist already: a
// command never creates an empty database where it was pointed by mistake.
func (d dbFlags) openExisting(ctx context.Context, e env) (*store.Store, error) {
	u := d.storeURL(e)
	if path, ok := strings.CutPrefix(u, "sqlite:"); ok {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			if abs, err := filepath.Abs(path); err == nil {
				path = abs
			}
			return nil, fmt.Errorf("no Koyomi database at %s (chosen by %s): start 'koyomi serve' there once or run 'koyomi migrate up', "+
				"or point --data-dir or --database-url (KOYOMI_DATA_DIR, KOYOMI_DATABASE_URL) at the existing one: %w", path, d.where(e), fault.ErrNotFound)
		}
	}
	keys, err := seal.ParseKeys(e.getenv(seal.EnvVar))
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, store.Config{URL: u, Keys: keys})
}

// open opens an existing store and checks its schema is current (applying
// pending migrations to an embedded database).
func (d dbFlags) open(ctx context.Context, e env) (*store.Store, error) {
	s, err := d.openExisting(ctx, e)
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
