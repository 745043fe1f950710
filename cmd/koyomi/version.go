package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/store"
)

// cmdVersion prints the version and, when the database exists, the
// installation id that Koyomi puts in every dispatch key and pod label.
// It never creates a database: an embedded one that does not exist yet is
// reported as such.
func cmdVersion(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "version", "version [--database-url URL] [--data-dir DIR]")
	db := addDBFlags(fs)
	if _, err := parseArgs(e, fs, args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "koyomi", version)
	url := db.storeURL(e)
	if path, ok := strings.CutPrefix(url, "sqlite:"); ok {
		if _, err := os.Stat(path); err != nil {
			fmt.Fprintf(e.stdout, "installation: none yet (no database at %s)\n", path)
			return nil
		}
	}
	s, err := store.Open(ctx, store.Config{URL: url})
	if err != nil {
		return fmt.Errorf("read the installation id: %w", err)
	}
	defer s.Close()
	id, err := s.InstallationID(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "installation", id)
	return nil
}
