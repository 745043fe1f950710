package ops_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

var (
	operator = ops.Actor{Username: "olga", Role: store.RoleOperator}
	viewer   = ops.Actor{Username: "vic", Role: store.RoleViewer}
)

func runsFixture(t *testing.T, dialect string, now time.Time) (*ops.Service, *store.Store) {
	t.Helper()
	st := storetest.Open(t, dialect, func() time.Time { return now })
	svc := ops.New(ops.Params{Store: st, Now: func() time.Time { return now }})
	_, err := st.ApplyDefinitions(context.Background(), store.Definitions{
		Folders:   []jobnet.Folder{{Name: "f", Calendar: "c"}},
		Calendars: []calendar.Definition{{Name: "c", TimeZone: "Asia/Tokyo"}},
		Jobnets: []*jobnet.Jobnet{{Name: "n", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{
			{Name: "a", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: "true"}}},
			{Name: "b", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: "true"}}},
		}, Edges: []jobnet.Edge{{From: "a", To: "b"}}}}},
	}, "t")
	require.NoError(t, err)
	return svc, st
}

func TestRunOperations(t *testing.T) {
	// 2026-04-01 10:30 in Tokyo.
	now := time.Date(2026, 4, 1, 1, 30, 0, 0, time.UTC)
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			svc, st := runsFixture(t, d, now)

			_, err := svc.RunNow(ctx, viewer, ops.RunNowRequest{Jobnet: "f/n"})
			require.ErrorIs(t, err, fault.ErrForbidden)
			_, err = svc.RunNow(ctx, operator, ops.RunNowRequest{Jobnet: "f/n", Params: map[string]string{"KOYOMI_JOB": "x"}})
			require.ErrorIs(t, err, fault.ErrInvalid)
			_, err = svc.RunNow(ctx, operator, ops.RunNowRequest{Jobnet: "f/missing"})
			require.ErrorIs(t, err, fault.ErrNotFound)

			g1, err := svc.RunNow(ctx, operator, ops.RunNowRequest{Jobnet: "f/n", Params: map[string]string{"REGION": "kanto"}})
			require.NoError(t, err)
			require.Equal(t, store.RuleManual, g1.Rule)
			require.Equal(t, "2026-04-01", g1.BusinessDate.String())
			require.Equal(t, "10:30", g1.StartClock.String())
			require.True(t, g1.ScheduledAt.Equal(now))
			g2, err := svc.RunNow(ctx, operator, ops.RunNowRequest{Jobnet: "f/n"})
			require.NoError(t, err)
			require.Equal(t, "10:31", g2.StartClock.String(), "a second run now gets the next free start clock")
			past := calendar.MustParseDate("2026-03-30")
			g3, err := svc.RunNow(ctx, operator, ops.RunNowRequest{Jobnet: "f/n", BusinessDate: &past})
			require.NoError(t, err)
			require.Equal(t, "58:30", g3.StartClock.String())

			// Re-time and cancel before the start.
			at, err := svc.Retime(ctx, operator, g2.ID, 23*60)
			require.NoError(t, err)
			require.Equal(t, time.Date(2026, 4, 1, 14, 0, 0, 0, time.UTC), at.UTC())
			require.NoError(t, svc.Cancel(ctx, operator, g2.ID, ""))
			err = svc.Cancel(ctx, operator, g2.ID, "")
			require.ErrorIs(t, err, fault.ErrConflict)
			err = svc.Kill(ctx, operator, g3.ID, "")
			require.ErrorIs(t, err, fault.ErrConflict)

			// Started: units exist.
			require.NoError(t, st.StartGeneration(ctx, g1.ID, now))
			require.NoError(t, svc.Hold(ctx, operator, g1.ID, "b"))
			err = svc.Hold(ctx, viewer, g1.ID, "b")
			require.ErrorIs(t, err, fault.ErrForbidden)
			require.NoError(t, svc.Release(ctx, operator, g1.ID, "b"))
			_, err = svc.Rerun(ctx, operator, g1.ID, ops.RerunRequest{Mode: jobrun.RerunFromAbnormal})
			require.ErrorIs(t, err, fault.ErrConflict, "nothing ended abnormally")
			_, err = svc.UnitLogs(ctx, g1.ID, "a", "")
			require.ErrorIs(t, err, fault.ErrConflict)
			_, err = svc.UnitLogs(ctx, g1.ID, "zzz", "")
			require.ErrorIs(t, err, fault.ErrNotFound)

			// Mark a bypassed and b ended normally: the generation's units all ended.
			require.NoError(t, svc.Mark(ctx, operator, g1.ID, "a", jobrun.StateEndedNormal))
			err = svc.Mark(ctx, operator, g1.ID, "a", jobrun.StateEndedWarning)
			require.ErrorIs(t, err, fault.ErrInvalid)

			// Kill the whole generation: the remaining waiting unit is bypassed.
			require.NoError(t, svc.Kill(ctx, operator, g1.ID, ""))
			det, err := svc.GenerationDetail(ctx, g1.ID)
			require.NoError(t, err)
			require.Equal(t, jobrun.GenKilled, det.Generation.State)
			require.Equal(t, map[string]string{"REGION": "kanto"}, det.Generation.Params)
			require.Len(t, det.Units, 2)
			require.Equal(t, jobrun.StateBypassed, det.Units[1].State)
			require.Equal(t, 1, det.Jobnet.Version)

			// Rerun from the top after the kill: both units wait again, the generation runs.
			p, err := svc.Rerun(ctx, operator, g1.ID, ops.RerunRequest{Mode: jobrun.RerunFromTop})
			require.NoError(t, err)
			require.Equal(t, []string{"a", "b"}, p.Reset)
			det, err = svc.GenerationDetail(ctx, g1.ID)
			require.NoError(t, err)
			require.Equal(t, jobrun.GenRunning, det.Generation.State)
			var actions []string
			for _, e := range det.Audit {
				require.Equal(t, "olga", e.Actor)
				actions = append(actions, e.Action)
			}
			require.Equal(t, []string{"run.rerun", "run.kill", "unit.mark", "unit.release", "unit.hold", "run.now"}, actions)

			gs, err := svc.Generations(ctx, store.GenerationQuery{Jobnet: "f/n"})
			require.NoError(t, err)
			require.Len(t, gs, 3)
		})
	}
}
