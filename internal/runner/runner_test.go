package runner_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/local"
	"github.com/koyomi-dev/koyomi/internal/dispatch/noop"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/runner"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// The test binary doubles as the local job supervisor.
const roleSupervisor = "koyomi-test-supervise"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == roleSupervisor {
		os.Exit(local.SupervisorMain(os.Args[2:]))
	}
	os.Exit(storetest.Main(m))
}

var businessDate = calendar.MustParseDate("2026-04-01")

func sh(name, cmd string) jobnet.Unit {
	return jobnet.Unit{Name: name, Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: cmd}}}
}

func nop(name string) jobnet.Unit {
	return jobnet.Unit{Name: name, Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobNoop}}
}

func edge(from, to string, k jobnet.EdgeKind) jobnet.Edge {
	return jobnet.Edge{From: from, To: to, Kind: k}
}

type env struct {
	st    *store.Store
	r     *runner.Runner
	noop  *noop.Executor
	local *local.Executor
}

func newEnv(t testing.TB, st *store.Store, poll time.Duration) *env {
	t.Helper()
	loc, err := local.New(local.Config{StateDir: filepath.Join(t.TempDir(), "jobs"), SupervisorCmd: []string{os.Args[0], roleSupervisor}, KillGrace: time.Second})
	require.NoError(t, err)
	nx := noop.New(nil)
	r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobLocal: loc, jobnet.JobNoop: nx},
		Node: "test-node", PollInterval: poll, KillGrace: time.Second, BaseURL: "http://koyomi.test", Logger: testLogger()})
	require.NoError(t, err)
	return &env{st: st, r: r, noop: nx, local: loc}
}

// submit stores the jobnet and a generation of it due now.
func submit(t testing.TB, st *store.Store, j *jobnet.Jobnet, params map[string]string) store.Generation {
	t.Helper()
	ctx := context.Background()
	pools := []jobnet.Pool{{Name: "one", Slots: 1}}
	_, err := st.ApplyDefinitions(ctx, store.Definitions{Folders: []jobnet.Folder{{Name: j.Folder}}, Pools: pools, Jobnets: []*jobnet.Jobnet{j}}, "test")
	require.NoError(t, err)
	v, err := st.JobnetByPath(ctx, j.Folder, j.Name, 0)
	require.NoError(t, err)
	g := store.Generation{JobnetID: v.JobnetID, JobnetVersion: v.Version, Jobnet: j.Path(), Folder: j.Folder, BusinessDate: businessDate,
		Rule: "test", StartClock: 0, ScheduledAt: time.Now().Add(-time.Second), Params: params, Overlap: jobnet.OverlapConcurrent}
	g.ID = store.GenerationID(g.JobnetID, g.BusinessDate, g.Rule, g.StartClock)
	require.NoError(t, st.InsertGeneration(ctx, g))
	return g
}

// runUntilEnded runs the runner until the generation ended.
func (e *env) runUntilEnded(t testing.TB, id string, during func(units map[string]store.UnitRun)) (store.Generation, map[string]store.UnitRun) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.r.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		g, err := e.st.Generation(ctx, id)
		require.NoError(t, err)
		us, err := e.st.UnitRuns(ctx, id)
		require.NoError(t, err)
		m := map[string]store.UnitRun{}
		for _, u := range us {
			m[u.Path] = u
		}
		if g.State.IsTerminal() {
			return g, m
		}
		if during != nil {
			during(m)
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("generation %s did not end", id)
	return store.Generation{}, nil
}

func states(units map[string]store.UnitRun) map[string]jobrun.JobState {
	out := map[string]jobrun.JobState{}
	for p, u := range units {
		out[p] = u.State
	}
	return out
}

func TestRunWithLocalJobs(t *testing.T) {
	ok := true
	tests := []struct {
		name   string
		net    jobnet.Net
		params map[string]string
		tweak  func(j *jobnet.Jobnet)
		gen    jobrun.GenState
		units  map[string]jobrun.JobState
		check  func(t *testing.T, units map[string]store.UnitRun)
	}{
		{name: "chain", gen: jobrun.GenEndedNormal,
			net:   jobnet.Net{Units: []jobnet.Unit{sh("a", "true"), sh("b", "true"), sh("c", "exit 0")}, Edges: []jobnet.Edge{edge("a", "b", ""), edge("b", "c", "")}},
			units: map[string]jobrun.JobState{"a": jobrun.StateEndedNormal, "b": jobrun.StateEndedNormal, "c": jobrun.StateEndedNormal}},
		{name: "failure runs recovery", gen: jobrun.GenEndedAbnormal,
			net: jobnet.Net{Units: []jobnet.Unit{sh("a", "exit 3"), sh("b", "true"), sh("fix", "true")},
				Edges: []jobnet.Edge{edge("a", "b", ""), edge("a", "fix", jobnet.EdgeRecovery)}},
			units: map[string]jobrun.JobState{"a": jobrun.StateEndedAbnormal, "b": jobrun.StateBypassed, "fix": jobrun.StateEndedNormal},
			check: func(t *testing.T, u map[string]store.UnitRun) { require.Equal(t, 3, *u["a"].ExitCode) }},
		{name: "warning threshold", gen: jobrun.GenEndedWarning,
			net: jobnet.Net{Units: []jobnet.Unit{func() jobnet.Unit {
				u := sh("a", "exit 2")
				u.Job.End = jobnet.EndJudgment{WarningThreshold: 1, AbnormalThreshold: 5}
				return u
			}()}},
			units: map[string]jobrun.JobState{"a": jobrun.StateEndedWarning}},
		{name: "retry then success", gen: jobrun.GenEndedNormal,
			net: jobnet.Net{Units: []jobnet.Unit{func() jobnet.Unit {
				u := sh("a", `m="$MARK/tried"; test -f "$m" && exit 0; touch "$m"; exit 1`)
				u.Job.Retry = &jobnet.Retry{Count: 2, Interval: jobnet.Duration(50 * time.Millisecond)}
				return u
			}()}},
			params: map[string]string{"MARK": "TEMP"},
			units:  map[string]jobrun.JobState{"a": jobrun.StateEndedNormal},
			check:  func(t *testing.T, u map[string]store.UnitRun) { require.Equal(t, 2, u["a"].Attempt) }},
		{name: "timeout kills", gen: jobrun.GenEndedAbnormal,
			net: jobnet.Net{Units: []jobnet.Unit{func() jobnet.Unit {
				u := sh("a", "sleep 30")
				u.Job.Timeout = &jobnet.Timeout{After: jobnet.Duration(300 * time.Millisecond)}
				return u
			}()}},
			units: map[string]jobrun.JobState{"a": jobrun.StateEndedAbnormal},
			check: func(t *testing.T, u map[string]store.UnitRun) {
				require.Contains(t, u["a"].Reason, "timed out")
				require.Less(t, u["a"].EndedAt.Sub(*u["a"].StartedAt), 10*time.Second)
			}},
		{name: "judgment branches", gen: jobrun.GenEndedNormal, params: map[string]string{"MODE": "full"},
			net: jobnet.Net{Units: []jobnet.Unit{sh("a", "true"),
				{Name: "j", Kind: jobnet.UnitJudgment, Judgment: &jobnet.Judgment{Kind: jobnet.JudgeVariable, Variable: "MODE", Value: "full"}},
				sh("yes", "true"), sh("no", "true")},
				Edges: []jobnet.Edge{edge("a", "j", ""), edge("j", "yes", jobnet.EdgeTrue), edge("j", "no", jobnet.EdgeFalse)}},
			units: map[string]jobrun.JobState{"a": jobrun.StateEndedNormal, "j": jobrun.StateEndedNormal, "yes": jobrun.StateEndedNormal, "no": jobrun.StateBypassed},
			check: func(t *testing.T, u map[string]store.UnitRun) { require.Equal(t, &ok, u["j"].Judgment) }},
		{name: "nested jobnet", gen: jobrun.GenEndedNormal,
			net: jobnet.Net{Units: []jobnet.Unit{
				{Name: "sub", Kind: jobnet.UnitJobnet, Net: &jobnet.Net{Units: []jobnet.Unit{sh("x", "true"), sh("y", "true")}, Edges: []jobnet.Edge{edge("x", "y", "")}}},
				sh("after", "true")}, Edges: []jobnet.Edge{edge("sub", "after", "")}},
			units: map[string]jobrun.JobState{"sub": jobrun.StateEndedNormal, "sub/x": jobrun.StateEndedNormal, "sub/y": jobrun.StateEndedNormal, "after": jobrun.StateEndedNormal},
			check: func(t *testing.T, u map[string]store.UnitRun) {
				require.False(t, u["after"].StartedAt.Before(*u["sub/y"].EndedAt))
			}},
		{name: "pool of one serialises", gen: jobrun.GenEndedNormal,
			net: jobnet.Net{Units: func() []jobnet.Unit {
				var us []jobnet.Unit
				for _, n := range []string{"p1", "p2", "p3"} {
					u := sh(n, "sleep 0.2")
					u.Job.Pool = "one"
					us = append(us, u)
				}
				return us
			}()},
			units: map[string]jobrun.JobState{"p1": jobrun.StateEndedNormal, "p2": jobrun.StateEndedNormal, "p3": jobrun.StateEndedNormal},
			check: func(t *testing.T, u map[string]store.UnitRun) {
				ps := []store.UnitRun{u["p1"], u["p2"], u["p3"]}
				for i := range ps {
					for k := range ps {
						if i != k {
							overlap := ps[i].StartedAt.Before(*ps[k].EndedAt) && ps[k].StartedAt.Before(*ps[i].EndedAt)
							require.False(t, overlap, "%s and %s overlap", ps[i].Path, ps[k].Path)
						}
					}
				}
			}},
		{name: "delay flag", gen: jobrun.GenEndedNormal,
			net: jobnet.Net{Units: []jobnet.Unit{func() jobnet.Unit {
				u := sh("slow", "sleep 0.5")
				u.Delay = &jobnet.DelayMonitor{MaxDuration: jobnet.Duration(100 * time.Millisecond)}
				return u
			}()}},
			units: map[string]jobrun.JobState{"slow": jobrun.StateEndedNormal},
			check: func(t *testing.T, u map[string]store.UnitRun) { require.True(t, u["slow"].EndDelayed) }},
		{name: "variables and macros", gen: jobrun.GenEndedNormal, params: map[string]string{"P": "v"},
			net: jobnet.Net{Units: []jobnet.Unit{func() jobnet.Unit {
				u := sh("load", `test "$KOYOMI_JOB" = load && test "${KOYOMI_BUSINESS_DATE:yyyymmdd}" = 20260401 && test "$P" = v && test "$E" = "x-${P}" && test "$KOYOMI_ATTEMPT" = 1`)
				u.Job.Env = map[string]string{"E": "x-${P}"}
				return u
			}()}},
			units: map[string]jobrun.JobState{"load": jobrun.StateEndedNormal}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				params := tc.params
				if params["MARK"] == "TEMP" {
					params = map[string]string{"MARK": t.TempDir()}
				}
				j := &jobnet.Jobnet{Name: "net", Folder: "f", Net: tc.net}
				g := submit(t, st, j, params)
				e := newEnv(t, st, 20*time.Millisecond)
				got, units := e.runUntilEnded(t, g.ID, nil)
				require.Equal(t, tc.units, states(units), "reasons: %v", reasons(units))
				require.Equal(t, tc.gen, got.State)
				require.NotNil(t, got.EndedAt)
				if tc.check != nil {
					tc.check(t, units)
				}
			})
		})
	}
}

func reasons(units map[string]store.UnitRun) map[string]string {
	out := map[string]string{}
	for p, u := range units {
		out[p] = u.Reason
	}
	return out
}

func TestKillRunningJob(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		j := &jobnet.Jobnet{Name: "k", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{sh("long", "sleep 30")}}}
		g := submit(t, st, j, nil)
		e := newEnv(t, st, 20*time.Millisecond)
		requested := false
		got, units := e.runUntilEnded(t, g.ID, func(units map[string]store.UnitRun) {
			if !requested && units["long"].State == jobrun.StateRunning {
				require.NoError(t, st.KillUnit(context.Background(), g.ID, "long", store.AuditEntry{Actor: "op", Action: "kill"}))
				requested = true
			}
		})
		require.True(t, requested)
		require.Equal(t, jobrun.StateKilled, units["long"].State)
		require.Equal(t, jobrun.GenKilled, got.State)
		require.Less(t, units["long"].EndedAt.Sub(*units["long"].StartedAt), 10*time.Second)
	})
}

func TestEventsWrittenWithStateChanges(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		j := &jobnet.Jobnet{Name: "ev", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{sh("bad", "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22; do echo line $i; done; echo 'cannot open ledger' >&2; exit 1")}}}
		g := submit(t, st, j, nil)
		e := newEnv(t, st, 20*time.Millisecond)
		got, _ := e.runUntilEnded(t, g.ID, nil)
		require.Equal(t, jobrun.GenEndedAbnormal, got.State)
		evs, err := st.PendingEvents(context.Background(), 10)
		require.NoError(t, err)
		var kinds []alert.EventKind
		for _, ev := range evs {
			kinds = append(kinds, ev.Event.Kind)
			require.Equal(t, "http://koyomi.test/runs/"+g.ID, ev.Event.URL)
			require.Equal(t, "f", ev.Event.Folder)
			require.Equal(t, "ev", ev.Event.Jobnet, "the jobnet's name; the folder is its own field")
		}
		tail := evs[0].Event.LogTail
		require.Len(t, tail, 20, "the job's event carries the last lines of its log")
		require.Equal(t, "line 4", tail[0])
		require.Equal(t, "cannot open ledger", tail[19])
		require.Equal(t, []alert.EventKind{alert.EventJobAbnormal, alert.EventGenerationAbnormal}, kinds)
	})
}

func testLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// TestOverdueWaitsForCatchUpDecision: a generation overdue by more than the
// grace period is not started before the scheduler's leader kept it.
func TestOverdueWaitsForCatchUpDecision(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		g := submit(t, st, &jobnet.Jobnet{Name: "late", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a")}}}, nil)
		late := g
		late.ID, late.Rule, late.ScheduledAt = "", "late", time.Now().Add(-time.Hour)
		late.ID = store.GenerationID(late.JobnetID, late.BusinessDate, late.Rule, late.StartClock)
		require.NoError(t, st.InsertGeneration(ctx, late))
		e := newEnv(t, st, time.Second)
		_, err := e.r.Pass(ctx)
		require.NoError(t, err)
		got, err := st.Generation(ctx, g.ID)
		require.NoError(t, err)
		require.NotEqual(t, jobrun.GenWaiting, got.State, "a generation due in time starts")
		got, err = st.Generation(ctx, late.ID)
		require.NoError(t, err)
		require.Equal(t, jobrun.GenWaiting, got.State, "an overdue generation waits for the catch-up decision")
		require.NoError(t, st.KeepMissed(ctx, []string{late.ID}))
		got, _ = e.runUntilEnded(t, late.ID, nil)
		require.Equal(t, jobrun.GenEndedNormal, got.State)
		require.NotNil(t, got.StartedAt)
		require.NotNil(t, got.EndedAt)
	})
}

// TestKillGenerationEndsItsUnits: units of a generation already marked
// killed still get their kill requests carried out and end killed.
func TestKillGenerationEndsItsUnits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		g := submit(t, st, &jobnet.Jobnet{Name: "kg", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{sh("long", "sleep 30")}}}, nil)
		e := newEnv(t, st, 20*time.Millisecond)
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- e.r.Run(rctx) }()
		defer func() { cancel(); require.NoError(t, <-done) }()
		unit := func() store.UnitRun {
			us, err := st.UnitRuns(ctx, g.ID)
			if err != nil || len(us) != 1 {
				return store.UnitRun{}
			}
			return us[0]
		}
		require.Eventually(t, func() bool { return unit().State == jobrun.StateRunning }, 20*time.Second, 10*time.Millisecond)
		require.NoError(t, st.KillGeneration(ctx, g.ID, store.AuditEntry{Actor: "op", Action: "kill"}))
		got, err := st.Generation(ctx, g.ID)
		require.NoError(t, err)
		require.Equal(t, jobrun.GenKilled, got.State)
		require.NotNil(t, got.EndedAt)
		require.Eventually(t, func() bool { return unit().State == jobrun.StateKilled }, 10*time.Second, 20*time.Millisecond)
		u := unit()
		require.Less(t, u.EndedAt.Sub(*u.StartedAt), 10*time.Second)
	})
}

func TestOnDispatchObservesQueuedTime(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		g := submit(t, st, &jobnet.Jobnet{Name: "hook", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a"), nop("b"), nop("c")},
			Edges: []jobnet.Edge{edge("a", "b", ""), edge("a", "c", "")}}}, nil)
		var (
			mu  sync.Mutex
			got []time.Duration
		)
		r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobNoop: noop.New(nil)}, Node: "test-node",
			PollInterval: 50 * time.Millisecond, Logger: testLogger(), OnDispatch: func(d time.Duration) {
				mu.Lock()
				got = append(got, d)
				mu.Unlock()
			}})
		require.NoError(t, err)
		e := &env{st: st, r: r}
		gen, units := e.runUntilEnded(t, g.ID, nil)
		require.Equal(t, jobrun.GenEndedNormal, gen.State)
		mu.Lock()
		defer mu.Unlock()
		require.Len(t, got, 3, "one observation per dispatched unit")
		for _, d := range got {
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.Less(t, d, 30*time.Second)
		}
		for _, u := range units {
			require.NotNil(t, u.QueuedAt)
		}
	})
}
