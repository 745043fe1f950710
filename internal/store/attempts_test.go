package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// A retried attempt and an attempt a rerun reset are kept with their
// handles; the unit run holds the latest.
func TestEarlierAttemptsAreKept(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		g := startedGeneration(t, s, "attempts", 1, "", 0)
		claim := func() store.RunUnit {
			us, err := s.ClaimForDispatch(ctx, "n", "h", 1, time.Minute, runsNow)
			require.NoError(t, err)
			require.Len(t, us, 1)
			return us[0]
		}
		// Attempt 1 fails and is retried.
		u := claim()
		require.Equal(t, 1, u.Attempt)
		h1 := dispatch.Handle{Executor: "noop", ID: u.DispatchKey}
		require.NoError(t, s.MarkRunning(ctx, u.ID, jobrun.StateStarting, &h1, runsNow))
		one := 1
		require.NoError(t, s.MarkRetry(ctx, u.ID, jobrun.StateRunning, runsNow, &one, "exit 1", nil))
		ready := jobrun.Step{Ready: []jobrun.Change{{Path: u.Path, From: jobrun.StateWaiting, To: jobrun.StateQueued}}}
		require.NoError(t, s.ApplyStep(ctx, store.StepApply{GenID: g.ID, GenFrom: jobrun.GenRunning, Step: ready, Now: runsNow}))
		// Attempt 2 ends abnormally; a rerun resets it.
		u = claim()
		require.Equal(t, 2, u.Attempt)
		h2 := dispatch.Handle{Executor: "noop", ID: u.DispatchKey}
		require.NoError(t, s.MarkRunning(ctx, u.ID, jobrun.StateStarting, &h2, runsNow))
		require.NoError(t, s.MarkEnded(ctx, store.UnitEnd{UnitID: u.ID, From: jobrun.StateRunning, State: jobrun.StateEndedAbnormal, ExitCode: &one, EndedAt: runsNow}))
		require.NoError(t, s.RerunUnits(ctx, g.ID, jobrun.RerunPlan{Reset: []string{u.Path}}, nil, store.AuditEntry{Actor: "t", Action: "run.rerun", Target: "run/" + g.ID}))

		as, err := s.UnitAttempts(ctx, g.ID, u.Path)
		require.NoError(t, err)
		require.Len(t, as, 2)
		require.Equal(t, 1, as[0].Attempt)
		require.Equal(t, store.AttemptRetried, as[0].State)
		require.Equal(t, h1, *as[0].Handle)
		require.Equal(t, 1, *as[0].ExitCode)
		require.Equal(t, 2, as[1].Attempt)
		require.Equal(t, string(jobrun.StateEndedAbnormal), as[1].State)
		require.Equal(t, h2, *as[1].Handle)
		require.NotNil(t, as[1].EndedAt)
	})
}
