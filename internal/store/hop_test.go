package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// hopGeneration stores the jobnet a → b (b in pool when set) and starts a
// generation of it with a running; it returns the generation, its graph
// and the units by path.
func hopGeneration(t *testing.T, s *store.Store, pool string) (store.Generation, *jobrun.Graph, map[string]store.UnitRun) {
	t.Helper()
	ctx := context.Background()
	net := jobnet.Net{Units: []jobnet.Unit{
		{Name: "a", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobNoop}},
		{Name: "b", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobNoop, Pool: pool}},
	}, Edges: []jobnet.Edge{{From: "a", To: "b"}}}
	defs := store.Definitions{Folders: []jobnet.Folder{{Name: "f"}}, Jobnets: []*jobnet.Jobnet{{Name: "hop", Folder: "f", Net: net}}}
	if pool != "" {
		defs.Pools = []jobnet.Pool{{Name: pool, Slots: 1}}
	}
	_, err := s.ApplyDefinitions(ctx, defs, "test")
	require.NoError(t, err)
	v, err := s.JobnetByPath(ctx, "f", "hop", 0)
	require.NoError(t, err)
	g := store.Generation{JobnetID: v.JobnetID, JobnetVersion: v.Version, Jobnet: "f/hop", Folder: "f",
		BusinessDate: calendar.MustParseDate("2026-04-01"), Rule: "r", ScheduledAt: runsNow.Add(-time.Minute), Overlap: jobnet.OverlapConcurrent}
	g.ID = store.GenerationID(g.JobnetID, g.BusinessDate, g.Rule, g.StartClock)
	require.NoError(t, s.InsertGeneration(ctx, g))
	require.NoError(t, s.StartGeneration(ctx, g.ID, runsNow))
	graph, err := jobrun.Compile(v.Jobnet.Net)
	require.NoError(t, err)
	step, err := graph.Evaluate(cores(t, s, g.ID, nil), runsNow)
	require.NoError(t, err)
	require.NoError(t, s.ApplyStep(ctx, store.StepApply{GenID: g.ID, GenFrom: jobrun.GenRunning, Step: step, Now: runsNow}))
	got, err := s.ClaimForDispatch(ctx, "n1", "h1", 10, time.Minute, runsNow)
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.NoError(t, s.MarkRunning(ctx, got[0].ID, jobrun.StateStarting, &dispatch.Handle{Executor: "noop", ID: got[0].DispatchKey}, runsNow))
	return g, graph, unitsByPath(t, s, g.ID)
}

func unitsByPath(t *testing.T, s *store.Store, genID string) map[string]store.UnitRun {
	t.Helper()
	us, err := s.UnitRuns(context.Background(), genID)
	require.NoError(t, err)
	out := map[string]store.UnitRun{}
	for _, u := range us {
		out[u.Path] = u
	}
	return out
}

// cores returns the generation's unit states for evaluation, with end
// applied as the runner applies an end it has not written yet.
func cores(t *testing.T, s *store.Store, genID string, end *store.UnitEnd) []jobrun.UnitRun {
	t.Helper()
	us, err := s.UnitRuns(context.Background(), genID)
	require.NoError(t, err)
	out := make([]jobrun.UnitRun, len(us))
	for i, u := range us {
		c := u.Core()
		if end != nil && u.ID == end.UnitID {
			c.State = end.State
		}
		out[i] = c
	}
	return out
}

// TestApplyStepAndClaim: a job's end, the successor it made ready and that
// successor's dispatch are one transaction; an end that no longer applies
// leaves everything as it was.
func TestApplyStepAndClaim(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		g, graph, us := hopGeneration(t, s, "")
		end := store.UnitEnd{UnitID: us["a"].ID, From: jobrun.StateRunning, State: jobrun.StateEndedNormal, EndedAt: runsNow.Add(time.Second)}
		step, err := graph.Evaluate(cores(t, s, g.ID, &end), runsNow.Add(time.Second))
		require.NoError(t, err)
		require.Len(t, step.Ready, 1)
		claim := &store.Claim{Node: "n1", Host: "h1", Limit: 10, Lease: time.Minute}

		stale := end
		stale.From = jobrun.StateStarting
		_, err = s.ApplyStepAndClaim(ctx, store.StepApply{GenID: g.ID, GenFrom: jobrun.GenRunning, Step: step, Now: runsNow.Add(time.Second),
			Ends: []store.UnitEnd{stale}}, claim)
		require.ErrorIs(t, err, fault.ErrConflict)
		now := unitsByPath(t, s, g.ID)
		require.Equal(t, jobrun.StateRunning, now["a"].State, "nothing applied")
		require.Equal(t, jobrun.StateWaiting, now["b"].State, "nothing applied")

		got, err := s.ApplyStepAndClaim(ctx, store.StepApply{GenID: g.ID, GenFrom: jobrun.GenRunning, Step: step, Now: runsNow.Add(time.Second),
			Ends: []store.UnitEnd{end}}, claim)
		require.NoError(t, err)
		require.False(t, got.More)
		require.Len(t, got.Units, 1)
		b := got.Units[0]
		require.Equal(t, "b", b.Path)
		require.Equal(t, jobrun.StateStarting, b.State)
		require.NotEmpty(t, b.DispatchKey)
		now = unitsByPath(t, s, g.ID)
		require.Equal(t, jobrun.StateEndedNormal, now["a"].State)
		require.Equal(t, runsNow.Add(time.Second), now["a"].EndedAt.UTC())
		require.Equal(t, jobrun.StateStarting, now["b"].State)
		require.Equal(t, b.DispatchKey, now["b"].DispatchKey)
		require.Equal(t, "n1", now["b"].ClaimedBy)
		more, err := s.ClaimForDispatch(ctx, "n2", "h2", 10, time.Minute, runsNow.Add(time.Second))
		require.NoError(t, err)
		require.Empty(t, more, "claimed once")
	})
}

// TestClaimWithStepNeverWaits: on PostgreSQL the claim made with a step
// does not wait for a pool row another transaction holds (it would hold
// the generation's lock meanwhile): the step applies, the pool's unit
// stays queued and More says to claim again.
func TestClaimWithStepNeverWaits(t *testing.T) {
	url := storetest.URL(t, store.DialectPostgres)
	s := storetest.OpenURL(t, url)
	ctx := context.Background()
	g, graph, us := hopGeneration(t, s, "p")
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer tx.Rollback()
	_, err = tx.ExecContext(ctx, "SELECT * FROM pools WHERE name = 'p' FOR UPDATE")
	require.NoError(t, err)

	end := store.UnitEnd{UnitID: us["a"].ID, From: jobrun.StateRunning, State: jobrun.StateEndedNormal, EndedAt: runsNow.Add(time.Second)}
	step, err := graph.Evaluate(cores(t, s, g.ID, &end), runsNow.Add(time.Second))
	require.NoError(t, err)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	got, err := s.ApplyStepAndClaim(cctx, store.StepApply{GenID: g.ID, GenFrom: jobrun.GenRunning, Step: step, Now: runsNow.Add(time.Second),
		Ends: []store.UnitEnd{end}}, &store.Claim{Node: "n1", Host: "h1", Limit: 10, Lease: time.Minute})
	require.NoError(t, err, "no wait for the held pool row")
	require.Empty(t, got.Units)
	require.True(t, got.More)
	now := unitsByPath(t, s, g.ID)
	require.Equal(t, jobrun.StateEndedNormal, now["a"].State)
	require.Equal(t, jobrun.StateQueued, now["b"].State)

	require.NoError(t, tx.Rollback())
	claimed, err := s.ClaimForDispatch(ctx, "n1", "h1", 10, time.Minute, runsNow.Add(time.Second))
	require.NoError(t, err)
	require.Len(t, claimed, 1, "claimed once the pool is free")
}
