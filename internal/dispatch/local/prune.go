package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
)

// Prune removes the state directories (request, log, records) of the
// executions that ended before cutoff, and of abandoned ones: no outcome,
// nothing holding their locks, no job process, untouched since cutoff. It
// returns how many it removed; one it cannot remove is reported and the
// others are still pruned.
func (e *Executor) Prune(ctx context.Context, cutoff time.Time) (int, error) {
	entries, err := os.ReadDir(e.cfg.StateDir)
	if err != nil {
		return 0, fmt.Errorf("local: prune %s: %w", e.cfg.StateDir, err)
	}
	removed := 0
	var firstErr error
	for _, ent := range entries {
		if ctx.Err() != nil {
			return removed, ctx.Err()
		}
		if !ent.IsDir() || dispatch.CheckKey(ent.Name()) != nil {
			continue
		}
		dir := filepath.Join(e.cfg.StateDir, ent.Name())
		ok, err := prunable(dir, cutoff)
		if err == nil && ok {
			err = os.RemoveAll(dir)
			if err == nil {
				removed++
			}
		}
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("local: prune %s: %w", dir, err)
		}
	}
	return removed, firstErr
}

// prunable decides whether an execution's directory may go.
func prunable(dir string, cutoff time.Time) (bool, error) {
	rec, err := recorded(dir)
	if err != nil {
		return false, err
	}
	if rec.Exit != nil && !rec.Exit.EndedAt.Before(cutoff) {
		return false, nil
	}
	if rec.Exit == nil {
		fi, err := os.Stat(dir)
		if err != nil {
			return false, err
		}
		if !fi.ModTime().Before(cutoff) {
			return false, nil
		}
		if rec.Job != nil && jobAlive(*rec.Job) {
			return false, nil
		}
	}
	held, err := inUse(dir)
	if err != nil || held {
		return false, err
	}
	return true, nil
}
