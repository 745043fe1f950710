package main

import (
	"context"
	"fmt"
	"text/tabwriter"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/store"
)

func cmdMigrate(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "migrate", "migrate up|down|status [--database-url URL | --data-dir DIR]")
	db := addDBFlags(fs)
	pos, err := parseArgs(e, fs, args, "up|down|status")
	if err != nil {
		return err
	}
	var s *store.Store
	if pos[0] == "up" {
		// up creates the embedded database on a fresh installation.
		s, err = store.Open(ctx, store.Config{URL: db.storeURL(e)})
	} else {
		s, err = db.openExisting(ctx, e)
	}
	if err != nil {
		return err
	}
	defer s.Close()
	switch pos[0] {
	case "up":
		n, err := s.MigrateUp(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "applied %d migration(s) to %s\n", n, s.Location())
	case "down":
		if err := s.MigrateDown(ctx); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "rolled back one migration on %s\n", s.Location())
	case "status":
		st, err := s.MigrationStatuses(ctx)
		if err != nil {
			return err
		}
		loc, err := cliZone(e)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "VERSION\tSTATE\tAPPLIED AT\tFILE")
		for _, m := range st {
			state, at := "pending", ""
			if m.Applied {
				state, at = "applied", calendar.Stamp(m.AppliedAt, loc, calendar.StampFull)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", m.Version, state, at, m.Name)
		}
		return tw.Flush()
	default:
		return fmt.Errorf("migrate %q: want up, down or status: %w", pos[0], errUsage)
	}
	return nil
}
