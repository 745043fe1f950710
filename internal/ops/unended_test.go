package ops_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// stopRecorder is an executor whose Cancel records the handle and
// answers err (a backend that cannot be reached).
type stopRecorder struct {
	mu        sync.Mutex
	cancelled []string
	err       error
}

func (s *stopRecorder) Type() jobnet.JobType { return jobnet.JobLocal }
func (s *stopRecorder) Start(context.Context, dispatch.Request) (dispatch.Handle, error) {
	return dispatch.Handle{}, errors.New("not used")
}
func (s *stopRecorder) Status(context.Context, dispatch.Handle) (dispatch.Status, error) {
	return dispatch.Status{}, errors.New("not used")
}
func (s *stopRecorder) Logs(context.Context, dispatch.Handle, string, int) (dispatch.LogChunk, error) {
	return dispatch.LogChunk{}, errors.New("not used")
}
func (s *stopRecorder) Cancel(_ context.Context, h dispatch.Handle, _ time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cancelled = append(s.cancelled, h.ID)
	return s.err
}

// TestKillAndMarkAnyUnendedUnit: an operator can end a unit in every state
// that has not ended: a waiting unit is killed at once; a running unit can
// be marked, its execution is asked to stop, and the mark holds even when
// the backend cannot be reached.
func TestKillAndMarkAnyUnendedUnit(t *testing.T) {
	now := time.Date(2026, 4, 1, 1, 30, 0, 0, time.UTC)
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			_, st := runsFixture(t, d, now)
			ex := &stopRecorder{err: errors.New("dial tcp: i/o timeout")}
			svc := ops.New(ops.Params{Store: st, Now: func() time.Time { return now }, Executors: dispatch.Registry{jobnet.JobLocal: ex}})

			// Run a: queued → starting → running with a handle.
			run := func() string {
				g, err := svc.RunNow(ctx, operator, ops.RunNowRequest{Jobnet: "f/n"})
				require.NoError(t, err)
				require.NoError(t, st.StartGeneration(ctx, g.ID, now))
				det, err := svc.GenerationDetail(ctx, g.ID)
				require.NoError(t, err)
				states := make([]jobrun.UnitRun, len(det.Units))
				for i, u := range det.Units {
					states[i] = u.Core()
				}
				step, err := jobrun.Evaluate(det.Jobnet.Jobnet.Net, states, now)
				require.NoError(t, err)
				require.NoError(t, st.ApplyStep(ctx, store.StepApply{GenID: g.ID, GenFrom: jobrun.GenRunning, Step: step, Now: now}))
				us, err := st.ClaimForDispatch(ctx, "n1", "", 10, time.Minute, now)
				require.NoError(t, err)
				require.Len(t, us, 1)
				h := dispatch.Handle{Executor: string(jobnet.JobLocal), ID: "exec-" + g.ID}
				require.NoError(t, st.MarkRunning(ctx, us[0].ID, jobrun.StateStarting, &h, now))
				return g.ID
			}
			state := func(id, unit string) store.UnitRun {
				det, err := svc.GenerationDetail(ctx, id)
				require.NoError(t, err)
				for _, u := range det.Units {
					if u.Path == unit {
						return u
					}
				}
				require.FailNow(t, "no unit "+unit)
				return store.UnitRun{}
			}

			id := run()
			require.Equal(t, jobrun.StateRunning, state(id, "a").State)
			// b waits for a: kill it at once.
			require.NoError(t, svc.Kill(ctx, operator, id, "b"))
			require.Equal(t, jobrun.StateKilled, state(id, "b").State)
			require.ErrorIs(t, svc.Kill(ctx, operator, id, "b"), fault.ErrConflict, "a killed unit cannot be killed again")

			// Mark the running a ended normally while its backend is unreachable.
			require.NoError(t, svc.Mark(ctx, operator, id, "a", jobrun.StateEndedNormal))
			require.Equal(t, jobrun.StateEndedNormal, state(id, "a").State)
			require.Equal(t, []string{"exec-" + id}, ex.cancelled, "the execution was asked to stop")
			det, err := svc.GenerationDetail(ctx, id)
			require.NoError(t, err)
			require.Equal(t, "unit.mark", det.Audit[0].Action)
			require.Contains(t, det.Audit[0].Detail, "could not be stopped: dial tcp: i/o timeout")

			// And bypassed, with a backend that answers.
			ex.err = nil
			id = run()
			require.NoError(t, svc.Mark(ctx, operator, id, "a", jobrun.StateBypassed))
			require.Equal(t, jobrun.StateBypassed, state(id, "a").State)
			det, err = svc.GenerationDetail(ctx, id)
			require.NoError(t, err)
			require.Contains(t, det.Audit[0].Detail, "was asked to stop")
		})
	}
}
