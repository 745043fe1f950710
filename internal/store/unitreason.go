package store

import (
	"context"

	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// SetUnitReason records why an execution that has not ended waits (a pod
// that is unschedulable or pulling its image, a task still provisioning),
// guarded by the unit's state; an empty reason clears it. The end of the
// execution replaces it with the final reason.
func (s *Store) SetUnitReason(ctx context.Context, unitID int64, state jobrun.JobState, reason string) error {
	return s.guardedUnit(ctx, unitID, state, "record the reason of a waiting execution", map[string]any{"reason": reason}, nil)
}
