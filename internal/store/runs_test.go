package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

var runsNow = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

// startedGeneration stores a jobnet of n parallel noop jobs (pool p when
// set) and starts a generation of it; all units are queued.
func startedGeneration(t *testing.T, s *store.Store, name string, n int, pool string, slots int) store.Generation {
	t.Helper()
	ctx := context.Background()
	var units []jobnet.Unit
	for i := range n {
		units = append(units, jobnet.Unit{Name: fmt.Sprintf("j%03d", i), Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobNoop, Pool: pool}})
	}
	defs := store.Definitions{Folders: []jobnet.Folder{{Name: "f"}}, Jobnets: []*jobnet.Jobnet{{Name: name, Folder: "f", Net: jobnet.Net{Units: units}}}}
	if pool != "" {
		defs.Pools = []jobnet.Pool{{Name: pool, Slots: slots}}
	}
	_, err := s.ApplyDefinitions(ctx, defs, "test")
	require.NoError(t, err)
	v, err := s.JobnetByPath(ctx, "f", name, 0)
	require.NoError(t, err)
	g := store.Generation{JobnetID: v.JobnetID, JobnetVersion: v.Version, Jobnet: "f/" + name, Folder: "f",
		BusinessDate: calendar.MustParseDate("2026-04-01"), Rule: "r", ScheduledAt: runsNow.Add(-time.Minute), Overlap: jobnet.OverlapConcurrent}
	g.ID = store.GenerationID(g.JobnetID, g.BusinessDate, g.Rule, g.StartClock)
	require.NoError(t, s.InsertGeneration(ctx, g))
	require.NoError(t, s.StartGeneration(ctx, g.ID, runsNow))
	require.NoError(t, s.StartGeneration(ctx, g.ID, runsNow), "starting twice is a no-op")
	graph, err := jobrun.Compile(v.Jobnet.Net)
	require.NoError(t, err)
	us, err := s.UnitRuns(ctx, g.ID)
	require.NoError(t, err)
	require.Len(t, us, n)
	states := make([]jobrun.UnitRun, len(us))
	for i, u := range us {
		states[i] = u.Core()
	}
	step, err := graph.Evaluate(states, runsNow)
	require.NoError(t, err)
	require.NoError(t, s.ApplyStep(ctx, store.StepApply{GenID: g.ID, GenFrom: jobrun.GenRunning, Step: step, Now: runsNow}))
	return g
}

func TestGuardedUnitUpdatesRefuseWrongState(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		g := startedGeneration(t, s, "guard", 1, "", 0)
		us, err := s.UnitRuns(ctx, g.ID)
		require.NoError(t, err)
		id := us[0].ID
		h := &dispatch.Handle{Executor: "noop", ID: "k"}
		require.ErrorIs(t, s.MarkRunning(ctx, id, jobrun.StateStarting, h, runsNow), fault.ErrConflict, "not starting yet")
		require.NoError(t, s.MarkStarting(ctx, id, "k", 1, 1))
		require.ErrorIs(t, s.MarkStarting(ctx, id, "k", 1, 1), fault.ErrConflict, "already starting")
		require.NoError(t, s.MarkRunning(ctx, id, jobrun.StateStarting, h, runsNow))
		end := store.UnitEnd{UnitID: id, From: jobrun.StateRunning, State: jobrun.StateEndedNormal, EndedAt: runsNow}
		require.NoError(t, s.MarkEnded(ctx, end))
		require.ErrorIs(t, s.MarkEnded(ctx, end), fault.ErrConflict, "ended already")
		require.ErrorIs(t, s.MarkRetry(ctx, id, jobrun.StateRunning, runsNow, nil, "", nil), fault.ErrConflict)
		// A stale step (computed before the unit ended) is refused as a whole.
		stale := jobrun.Step{Ready: []jobrun.Change{{Path: us[0].Path, From: jobrun.StateWaiting, To: jobrun.StateQueued}}}
		require.ErrorIs(t, s.ApplyStep(ctx, store.StepApply{GenID: g.ID, GenFrom: jobrun.GenRunning, Step: stale, Now: runsNow}), fault.ErrConflict)
		require.ErrorIs(t, s.ApplyStep(ctx, store.StepApply{GenID: g.ID, GenFrom: jobrun.GenHeld, Now: runsNow}), fault.ErrConflict)
	})
}

func TestClaimRespectsPoolSlots(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		startedGeneration(t, s, "pooled", 5, "p", 2)
		got, err := s.ClaimQueued(ctx, "a", 10, time.Minute, runsNow)
		require.NoError(t, err)
		require.Len(t, got, 2)
		more, err := s.ClaimQueued(ctx, "b", 10, time.Minute, runsNow)
		require.NoError(t, err)
		require.Empty(t, more, "claimed units hold the pool's slots")
		// A dead node's expired claims are claimable again.
		later, err := s.ClaimQueued(ctx, "b", 10, time.Minute, runsNow.Add(2*time.Minute))
		require.NoError(t, err)
		require.Len(t, later, 2)
		require.Equal(t, "b", later[0].ClaimedBy)
	})
}

func TestClaimNeverDoubleClaims(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		startedGeneration(t, s, "many", 200, "", 0)
		var mu sync.Mutex
		seen := map[int64]string{}
		var wg sync.WaitGroup
		for w := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				node := fmt.Sprintf("n%d", w)
				for {
					got, err := s.ClaimQueued(ctx, node, 7, time.Minute, runsNow)
					if err != nil {
						require.ErrorIs(t, err, fault.ErrConflict)
						continue
					}
					if len(got) == 0 {
						return
					}
					mu.Lock()
					for _, u := range got {
						prev, dup := seen[u.ID]
						require.False(t, dup, "unit %d claimed by %s and %s", u.ID, prev, node)
						seen[u.ID] = node
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		require.Len(t, seen, 200)
	})
}

// TestCatchUpGate: a generation overdue by more than the grace period is not
// startable until a runner saw it in time, a predecessor held it back, the
// scheduler kept it, or it is manual.
func TestCatchUpGate(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		j := &jobnet.Jobnet{Name: "cu", Folder: "f", Overlap: jobnet.OverlapWait, Net: jobnet.Net{Units: []jobnet.Unit{{Name: "a", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobNoop}}}}}
		_, err := s.ApplyDefinitions(ctx, store.Definitions{Folders: []jobnet.Folder{{Name: "f"}}, Jobnets: []*jobnet.Jobnet{j}}, "test")
		require.NoError(t, err)
		v, err := s.JobnetByPath(ctx, "f", "cu", 0)
		require.NoError(t, err)
		const grace = time.Minute
		gen := func(rule string, at time.Time, overlap jobnet.Overlap, date string) store.Generation {
			g := store.Generation{JobnetID: v.JobnetID, JobnetVersion: v.Version, Jobnet: "f/cu", Folder: "f",
				BusinessDate: calendar.MustParseDate(date), Rule: rule, ScheduledAt: at, Overlap: overlap}
			g.ID = store.GenerationID(g.JobnetID, g.BusinessDate, g.Rule, g.StartClock)
			require.NoError(t, s.InsertGeneration(ctx, g))
			return g
		}
		ids := func(gs []store.Generation, err error) []string {
			require.NoError(t, err)
			var out []string
			for _, g := range gs {
				out = append(out, g.ID)
			}
			return out
		}
		missed := gen("missed", runsNow.Add(-10*time.Minute), jobnet.OverlapConcurrent, "2026-03-30")
		inTime := gen("intime", runsNow.Add(-30*time.Second), jobnet.OverlapConcurrent, "2026-03-31")
		manual := gen(store.RuleManual, runsNow.Add(-20*time.Minute), jobnet.OverlapConcurrent, "2026-03-29")

		require.ElementsMatch(t, []string{inTime.ID, manual.ID}, ids(s.StartableGenerations(ctx, runsNow, grace, 0)))
		require.ElementsMatch(t, []string{missed.ID, inTime.ID, manual.ID}, ids(s.DueGenerations(ctx, runsNow, 0)), "DueGenerations ignores catch-up")

		n, err := s.MarkSeenInTime(ctx, runsNow, grace)
		require.NoError(t, err)
		require.Equal(t, 1, n, "only the generation within the grace period was seen in time")
		later := runsNow.Add(5 * time.Minute)
		require.ElementsMatch(t, []string{inTime.ID, manual.ID}, ids(s.StartableGenerations(ctx, later, grace, 0)),
			"seen in time: startable although it is overdue now")
		require.Contains(t, ids(s.OverdueGenerations(ctx, later.Add(-grace))), missed.ID)
		require.NotContains(t, ids(s.OverdueGenerations(ctx, later.Add(-grace))), inTime.ID, "decided generations are not missed")

		require.NoError(t, s.KeepMissed(ctx, []string{missed.ID}))
		require.Contains(t, ids(s.StartableGenerations(ctx, later, grace, 0)), missed.ID, "kept by the scheduler")
		require.NotContains(t, ids(s.OverdueGenerations(ctx, later.Add(-grace))), missed.ID)

		// A wait generation held back by a running predecessor is not missed.
		require.NoError(t, s.StartGeneration(ctx, missed.ID, later))
		held := gen("held", runsNow.Add(-10*time.Minute), jobnet.OverlapWait, "2026-04-01")
		require.NotContains(t, ids(s.StartableGenerations(ctx, later, grace, 0)), held.ID, "its predecessor runs")
		_, err = s.MarkSeenInTime(ctx, later, grace)
		require.NoError(t, err)
		require.NoError(t, s.KillGeneration(ctx, missed.ID, store.AuditEntry{Actor: "test", Action: "kill"}))
		require.Contains(t, ids(s.StartableGenerations(ctx, later.Add(time.Hour), grace, 0)), held.ID, "held back, not missed")
	})
}

func TestBatchedStartsAndEndsAreGuardedPerUnit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		g := startedGeneration(t, s, "batch", 3, "", 0)
		us, err := s.UnitRuns(ctx, g.ID)
		require.NoError(t, err)
		require.Len(t, us, 3)
		a, b, c := us[0].ID, us[1].ID, us[2].ID
		require.NoError(t, s.MarkStarting(ctx, a, "ka", 1, 1))
		require.NoError(t, s.MarkStarting(ctx, c, "kc", 1, 1))
		h := func(k string) dispatch.Handle { return dispatch.Handle{Executor: "noop", ID: k} }
		// b is still queued: its start is refused, the others are recorded.
		conflicts, err := s.MarkRunningAll(ctx, []store.UnitStart{
			{UnitID: a, From: jobrun.StateStarting, Handle: h("ka"), StartedAt: runsNow},
			{UnitID: b, From: jobrun.StateStarting, Handle: h("kb"), StartedAt: runsNow},
			{UnitID: c, From: jobrun.StateStarting, Handle: h("kc"), StartedAt: runsNow},
		})
		require.NoError(t, err)
		require.Len(t, conflicts, 3)
		require.NoError(t, conflicts[0])
		require.ErrorIs(t, conflicts[1], fault.ErrConflict)
		require.NoError(t, conflicts[2])
		exit := 4
		ends := []store.UnitEnd{
			{UnitID: a, From: jobrun.StateRunning, State: jobrun.StateEndedNormal, EndedAt: runsNow.Add(time.Second)},
			{UnitID: b, From: jobrun.StateRunning, State: jobrun.StateEndedNormal, EndedAt: runsNow.Add(time.Second)},
			{UnitID: c, From: jobrun.StateRunning, State: jobrun.StateEndedAbnormal, ExitCode: &exit, Reason: "exit 4",
				EndedAt: runsNow.Add(2 * time.Second), Events: []alert.Event{{Kind: alert.EventJobAbnormal, RunID: g.ID, Job: "c"}}},
			{UnitID: b, From: jobrun.StateRunning, State: jobrun.StateEndedAbnormal,
				EndedAt: runsNow, Events: []alert.Event{{Kind: alert.EventJobAbnormal, RunID: g.ID, Job: "b"}}},
		}
		conflicts, err = s.MarkEndedAll(ctx, ends)
		require.NoError(t, err)
		require.NoError(t, conflicts[0])
		require.ErrorIs(t, conflicts[1], fault.ErrConflict)
		require.NoError(t, conflicts[2])
		require.ErrorIs(t, conflicts[3], fault.ErrConflict)
		evs, err := s.PendingEvents(ctx, 10)
		require.NoError(t, err)
		require.Len(t, evs, 1, "only the end that applied writes its event")
		require.Equal(t, "c", evs[0].Event.Job)
		conflicts, err = s.MarkEndedAll(ctx, ends[:1])
		require.NoError(t, err)
		require.ErrorIs(t, conflicts[0], fault.ErrConflict, "ended already")
		us, err = s.UnitRuns(ctx, g.ID)
		require.NoError(t, err)
		got := map[int64]store.UnitRun{}
		for _, u := range us {
			got[u.ID] = u
		}
		require.Equal(t, jobrun.StateEndedNormal, got[a].State)
		require.Equal(t, "ka", got[a].Handle.ID)
		require.True(t, got[a].EndedAt.Equal(runsNow.Add(time.Second)))
		require.Equal(t, jobrun.StateQueued, got[b].State)
		require.Equal(t, jobrun.StateEndedAbnormal, got[c].State)
		require.Equal(t, 4, *got[c].ExitCode)
		require.Equal(t, "exit 4", got[c].Reason)
	})
}

func TestEvalUnitsMatchesUnitRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		g := startedGeneration(t, s, "lean", 3, "", 0)
		us, err := s.UnitRuns(ctx, g.ID)
		require.NoError(t, err)
		require.NoError(t, s.MarkStarting(ctx, us[0].ID, "k0", 1, 1))
		require.NoError(t, s.MarkRunning(ctx, us[0].ID, jobrun.StateStarting, &dispatch.Handle{Executor: "noop", ID: "k0"}, runsNow))
		exit := 7
		require.NoError(t, s.MarkEnded(ctx, store.UnitEnd{UnitID: us[0].ID, From: jobrun.StateRunning, State: jobrun.StateEndedAbnormal,
			ExitCode: &exit, Reason: "exit 7", EndedAt: runsNow.Add(time.Second)}))
		require.NoError(t, s.SetUnitFlags(ctx, us[1].ID, true, false, nil))
		full, err := s.UnitRuns(ctx, g.ID)
		require.NoError(t, err)
		lean, err := s.EvalUnits(ctx, g.ID)
		require.NoError(t, err)
		require.Len(t, lean, len(full))
		for i, f := range full {
			l := lean[i]
			require.Equal(t, f.Core(), l.Core(), f.Path)
			require.Equal(t, []any{f.ID, f.GenerationID, f.Path, f.Reason, f.Judgment, f.ExitCode}, []any{l.ID, l.GenerationID, l.Path, l.Reason, l.Judgment, l.ExitCode})
			for _, p := range [][2]*time.Time{{f.QueuedAt, l.QueuedAt}, {f.StartedAt, l.StartedAt}, {f.EndedAt, l.EndedAt}, {f.NotBefore, l.NotBefore}} {
				require.Equal(t, p[0] == nil, p[1] == nil, f.Path)
				if p[0] != nil {
					require.True(t, p[0].Equal(*p[1]), "%s: %v != %v", f.Path, p[0], p[1])
				}
			}
		}
		require.Equal(t, 7, *lean[0].ExitCode)
		require.True(t, lean[1].StartDelayed)
		require.NotNil(t, lean[2].QueuedAt)
	})
}

func TestWatchedUnitsByIDAndKillRequests(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		g := startedGeneration(t, s, "watched", 4, "", 0)
		claimed, err := s.ClaimForDispatch(ctx, "n1", "", 3, time.Minute, runsNow)
		require.NoError(t, err)
		require.Len(t, claimed, 3)
		a, b, c := claimed[0], claimed[1], claimed[2]
		us, err := s.UnitRuns(ctx, g.ID)
		require.NoError(t, err)
		var queued int64
		for _, u := range us {
			if u.State == jobrun.StateQueued {
				queued = u.ID
			}
		}
		require.NotZero(t, queued)
		require.NoError(t, s.MarkRunning(ctx, b.ID, jobrun.StateStarting, &dispatch.Handle{Executor: "noop", ID: "kb"}, runsNow))
		require.NoError(t, s.MarkEnded(ctx, store.UnitEnd{UnitID: c.ID, From: jobrun.StateStarting, State: jobrun.StateEndedNormal, EndedAt: runsNow}))

		// Ended and queued units and other nodes' are left out; the rest
		// come with their bookkeeping.
		got, err := s.WatchedUnitsByID(ctx, "n1", []int64{a.ID, b.ID, c.ID, queued, 999999})
		require.NoError(t, err)
		byID := map[int64]store.RunUnit{}
		for _, u := range got {
			byID[u.ID] = u
		}
		require.Len(t, byID, 2)
		require.Equal(t, jobrun.StateStarting, byID[a.ID].State)
		require.Equal(t, a.DispatchKey, byID[a.ID].DispatchKey)
		require.Equal(t, "kb", byID[b.ID].Handle.ID)
		got, err = s.WatchedUnitsByID(ctx, "n2", []int64{a.ID, b.ID})
		require.NoError(t, err)
		require.Empty(t, got)

	})
}

// On SQLite the runners of the process hear of what it commits:
// operators' actions and generations inserted (once committed), and unit
// changes with their writer's origin.
func TestSQLiteTellsLocalRunners(t *testing.T) {
	st := storetest.Open(t, store.DialectSQLite, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = st.ListenRunners(ctx, func(what string) { got <- what })
	}()
	// ListenRunners registers, then blocks: probe until it hears.
	require.Eventually(t, func() bool {
		require.NoError(t, st.Audit(ctx, store.AuditEntry{Actor: "t", Action: "probe", Target: "x"}))
		select {
		case w := <-got:
			return w == store.NotifyChanged
		case <-time.After(10 * time.Millisecond):
			return false
		}
	}, 5*time.Second, 10*time.Millisecond)
	startedGeneration(t, st, "told", 2, "", 0)
	heard := map[string]bool{}
	timeout := time.After(5 * time.Second)
	for !heard[store.NotifyChanged] || !heard["units"] {
		select {
		case w := <-got:
			if origin, ok := store.UnitsChangedBy(w); ok {
				require.Empty(t, origin, "no origin named")
				w = "units"
			}
			heard[w] = true
		case <-timeout:
			t.Fatalf("heard %v; want the inserted generation and the applied step", heard)
		}
	}
	cancel()
	<-done
}

// A commit by another process on the SQLite file (a CLI) wakes the
// runners listening in this one.
func TestSQLiteOtherProcessWakes(t *testing.T) {
	url := storetest.URL(t, store.DialectSQLite)
	st := storetest.OpenURL(t, url)
	other := storetest.OpenURL(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = st.ListenRunners(ctx, func(what string) { got <- what })
	}()
	time.Sleep(500 * time.Millisecond) // the listener has looked once
	select {
	case w := <-got:
		t.Fatalf("woken (%q) before anything was committed", w)
	default:
	}
	require.NoError(t, other.Audit(ctx, store.AuditEntry{Actor: "cli", Action: "probe", Target: "x"}))
	select {
	case w := <-got:
		require.Equal(t, store.NotifyChanged, w)
	case <-time.After(5 * time.Second):
		t.Fatal("a commit by another connection did not wake the listener")
	}
	cancel()
	<-done
}
