package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// Earlier attempts. unit_runs holds a unit's current attempt; when the unit
// is dispatched again (a retry, or a rerun that resets it), the attempt it
// replaces is copied to unit_attempts with its dispatch key and handle in
// the same transaction, so the executor can still be asked for its log.

// AttemptRetried is the state recorded for an attempt whose outcome the
// retry policy answered with another attempt.
const AttemptRetried = "retried"

// UnitAttempt is one earlier attempt of a unit.
type UnitAttempt struct {
	GenerationID string
	Path         string
	Attempt      int
	DispatchKey  string
	// Handle is nil when the attempt never started.
	Handle    *dispatch.Handle
	State     string // a jobrun.JobState, or AttemptRetried
	ExitCode  *int
	Reason    string
	StartedAt *time.Time
	EndedAt   *time.Time
}

type unitAttemptRecord struct {
	GenerationID string `gorm:"primaryKey"`
	Path         string `gorm:"primaryKey"`
	Attempt      int    `gorm:"primaryKey"`
	DispatchKey  string
	Handle       string
	State        string
	ExitCode     *int
	Reason       string
	StartedAt    *time.Time
	EndedAt      *time.Time
}

func (unitAttemptRecord) TableName() string { return "unit_attempts" }

// archiveAttempts copies the current attempt of the unit_runs rows that
// where selects (among those dispatched before) to unit_attempts, before an
// update replaces it. A row already archived is left alone.
func archiveAttempts(tx *gorm.DB, where string, args ...any) error {
	q := `INSERT INTO unit_attempts (generation_id, path, attempt, dispatch_key, handle, state, exit_code, reason, started_at, ended_at)
SELECT generation_id, path, attempt, dispatch_key, handle, CASE WHEN state IN (?, ?) THEN ? ELSE state END, exit_code, reason, started_at, ended_at
FROM unit_runs WHERE dispatch_key <> '' AND ` + where + ` ON CONFLICT DO NOTHING`
	all := append([]any{string(jobrun.StateQueued), string(jobrun.StateWaiting), AttemptRetried}, args...)
	if err := tx.Exec(q, all...).Error; err != nil {
		return translate(err, "keep the earlier attempt")
	}
	return nil
}

// UnitAttempts returns the earlier attempts of a unit, oldest first (the
// current one is the unit run itself).
func (s *Store) UnitAttempts(ctx context.Context, generationID, path string) ([]UnitAttempt, error) {
	var recs []unitAttemptRecord
	if err := s.db.WithContext(ctx).Where("generation_id = ? AND path = ?", generationID, path).Order("attempt").Find(&recs).Error; err != nil {
		return nil, translate(err, "list attempts")
	}
	out := make([]UnitAttempt, 0, len(recs))
	for _, r := range recs {
		a := UnitAttempt{GenerationID: r.GenerationID, Path: r.Path, Attempt: r.Attempt, DispatchKey: r.DispatchKey, State: r.State,
			ExitCode: r.ExitCode, Reason: r.Reason, StartedAt: r.StartedAt, EndedAt: r.EndedAt}
		if r.Handle != "" {
			var h dispatch.Handle
			if err := json.Unmarshal([]byte(r.Handle), &h); err != nil {
				return nil, fmt.Errorf("attempt %d of unit %q handle: %w", r.Attempt, r.Path, err)
			}
			a.Handle = &h
		}
		out = append(out, a)
	}
	return out, nil
}
