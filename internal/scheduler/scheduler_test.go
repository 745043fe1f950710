package scheduler

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time)         { c.mu.Lock(); c.t = t; c.mu.Unlock() }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func each(t *testing.T, start time.Time, fn func(t *testing.T, s *store.Store, clk *clock)) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			clk := &clock{t: start}
			fn(t, storetest.Open(t, d, clk.Now), clk)
		})
	}
}

func defs(cu jobnet.CatchUp, overrides ...calendar.OverrideDef) store.Definitions {
	sat, sun := calendar.Weekday(time.Saturday), calendar.Weekday(time.Sunday)
	return store.Definitions{
		Folders:   []jobnet.Folder{{Name: "f", Calendar: "c"}},
		Calendars: []calendar.Definition{{Name: "c", TimeZone: "Asia/Tokyo", ClosedWeekdays: []calendar.Weekday{sat, sun}, Overrides: overrides}},
		Jobnets: []*jobnet.Jobnet{{Name: "n", Folder: "f", CatchUp: cu,
			Rules: []jobnet.Rule{{Name: "r1", Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{9 * 60}}},
			Net:   jobnet.Net{Units: []jobnet.Unit{{Name: "a", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: "true"}}}}}}},
	}
}

func gens(t *testing.T, s *store.Store) map[string]store.Generation {
	t.Helper()
	all, err := s.Generations(context.Background(), store.GenerationQuery{})
	require.NoError(t, err)
	out := map[string]store.Generation{}
	for _, g := range all {
		out[g.BusinessDate.String()+" "+g.StartClock.String()] = g
	}
	return out
}

func states(m map[string]store.Generation) map[string]jobrun.GenState {
	out := map[string]jobrun.GenState{}
	for k, g := range m {
		out[k] = g.State
	}
	return out
}

func newScheduler(t *testing.T, s *store.Store, clk *clock, node string) *Scheduler {
	t.Helper()
	sch, err := New(Params{Store: s, Node: node, Horizon: 48 * time.Hour, LeaseTTL: 10 * time.Second, Now: clk.Now})
	require.NoError(t, err)
	return sch
}

func TestPlanCreatesIdempotentlyAndReplansOnCalendarChange(t *testing.T) {
	// Wednesday 2026-04-01 08:00 in Tokyo.
	each(t, jst("2026-04-01", 8, 0), func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		_, err := s.ApplyDefinitions(ctx, defs(jobnet.CatchUpLatest), "t")
		require.NoError(t, err)
		sch := newScheduler(t, s, clk, "n1")
		require.NoError(t, sch.Step(ctx))
		require.True(t, sch.IsLeader())

		require.Equal(t, map[string]jobrun.GenState{"2026-04-01 09:00": jobrun.GenWaiting, "2026-04-02 09:00": jobrun.GenWaiting}, states(gens(t, s)),
			"04-03 09:00 is 49h away, beyond the 48h horizon")
		g := gens(t, s)["2026-04-01 09:00"]
		require.True(t, g.ScheduledAt.Equal(jst("2026-04-01", 9, 0)))
		require.Equal(t, 1, g.JobnetVersion)
		require.NotEmpty(t, g.Explanation)

		rep, err := sch.Plan(ctx, clk.Now())
		require.NoError(t, err)
		require.Equal(t, 0, rep.Inserted+rep.Updated+rep.Cancelled+rep.Skipped, "planning again changes nothing")

		// The horizon moves with time: Thursday 10:00 plans Friday.
		clk.Set(jst("2026-04-02", 10, 0))
		require.NoError(t, sch.Step(ctx))
		require.Contains(t, gens(t, s), "2026-04-03 09:00")
		require.NotContains(t, gens(t, s), "2026-04-04 09:00", "Saturday is closed")

		// A company closure on Friday: the waiting generation is no longer planned.
		clk.Advance(time.Second)
		_, err = s.ApplyDefinitions(ctx, defs(jobnet.CatchUpLatest, calendar.OverrideDef{Date: calendar.MustParseDate("2026-04-03"), Note: "closure"}), "t")
		require.NoError(t, err)
		require.NoError(t, sch.Step(ctx), "a definitions change re-plans at once")
		fri := gens(t, s)["2026-04-03 09:00"]
		require.Equal(t, jobrun.GenNotExecuted, fri.State)
		require.Contains(t, fri.Reason, "no longer planned")
	})
}

func TestPlanReplanKeepsRetimedAndStarted(t *testing.T) {
	each(t, jst("2026-04-01", 8, 0), func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		_, err := s.ApplyDefinitions(ctx, defs(jobnet.CatchUpLatest), "t")
		require.NoError(t, err)
		sch := newScheduler(t, s, clk, "n1")
		require.NoError(t, sch.Step(ctx))
		g := gens(t, s)
		require.NoError(t, s.RetimeGeneration(ctx, g["2026-04-02 09:00"].ID, jst("2026-04-02", 10, 0), store.AuditEntry{Actor: "op", Action: "run.retime"}))
		clk.Advance(time.Second)
		_, err = s.ApplyDefinitions(ctx, defs(jobnet.CatchUpLatest, calendar.OverrideDef{Date: calendar.MustParseDate("2026-04-02")}, calendar.OverrideDef{Date: calendar.MustParseDate("2026-04-01")}), "t")
		require.NoError(t, err)
		require.NoError(t, sch.Step(ctx))
		g = gens(t, s)
		require.Equal(t, jobrun.GenWaiting, g["2026-04-02 09:00"].State, "re-timed by an operator: left alone")
		require.Equal(t, jobrun.GenNotExecuted, g["2026-04-01 09:00"].State)
	})
}

func TestCatchUpAfterDowntime(t *testing.T) {
	for _, tc := range []struct {
		policy jobnet.CatchUp
		want   map[string]jobrun.GenState
	}{
		{jobnet.CatchUpLatest, map[string]jobrun.GenState{"2026-04-01 09:00": jobrun.GenSkipped, "2026-04-02 09:00": jobrun.GenWaiting}},
		{jobnet.CatchUpAll, map[string]jobrun.GenState{"2026-04-01 09:00": jobrun.GenWaiting, "2026-04-02 09:00": jobrun.GenWaiting}},
		{jobnet.CatchUpSkip, map[string]jobrun.GenState{"2026-04-01 09:00": jobrun.GenSkipped, "2026-04-02 09:00": jobrun.GenSkipped}},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			each(t, jst("2026-04-01", 8, 0), func(t *testing.T, s *store.Store, clk *clock) {
				ctx := context.Background()
				_, err := s.ApplyDefinitions(ctx, defs(tc.policy), "t")
				require.NoError(t, err)
				require.NoError(t, newScheduler(t, s, clk, "n1").Step(ctx))

				// Down from Wednesday 08:00 to Thursday 12:00: both 09:00 runs were missed.
				clk.Set(jst("2026-04-02", 12, 0))
				require.NoError(t, newScheduler(t, s, clk, "n2").Step(ctx))
				g := gens(t, s)
				got := map[string]jobrun.GenState{"2026-04-01 09:00": g["2026-04-01 09:00"].State, "2026-04-02 09:00": g["2026-04-02 09:00"].State}
				require.Equal(t, tc.want, got)
				require.Equal(t, jobrun.GenWaiting, g["2026-04-03 09:00"].State, "future runs are untouched")
				for _, x := range g {
					if x.State == jobrun.GenSkipped {
						require.Contains(t, x.Reason, "catch-up")
					}
				}
				ev, err := s.PendingEvents(ctx, 10)
				require.NoError(t, err)
				require.Len(t, ev, 1)
				require.Equal(t, alert.EventLeaderChange, ev[0].Event.Kind)
				require.Contains(t, ev[0].Event.Detail, "from n1 to n2")
			})
		})
	}
}

func TestLateDefinitionCatchesUpButOnTimeRunsAreNotMissed(t *testing.T) {
	each(t, jst("2026-04-01", 8, 59), func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		sch := newScheduler(t, s, clk, "n1")
		require.NoError(t, sch.Step(ctx))
		// Applied at 08:59: today's 09:00 run is planned in time.
		_, err := s.ApplyDefinitions(ctx, defs(jobnet.CatchUpSkip), "t")
		require.NoError(t, err)
		require.NoError(t, sch.Step(ctx))
		// The runner is a few seconds late; within the grace nothing is missed.
		clk.Set(jst("2026-04-01", 9, 0).Add(30 * time.Second))
		require.NoError(t, sch.Step(ctx))
		require.Equal(t, jobrun.GenWaiting, gens(t, s)["2026-04-01 09:00"].State)
	})
}

func TestOneLeaderAndTakeover(t *testing.T) {
	each(t, jst("2026-04-01", 8, 0), func(t *testing.T, s *store.Store, clk *clock) {
		ctx := context.Background()
		var flips []bool
		a, err := New(Params{Store: s, Node: "a", LeaseTTL: 10 * time.Second, Now: clk.Now, OnLeader: func(v bool) { flips = append(flips, v) }})
		require.NoError(t, err)
		b := newScheduler(t, s, clk, "b")
		require.NoError(t, a.Step(ctx))
		require.NoError(t, b.Step(ctx))
		require.True(t, a.IsLeader())
		require.False(t, b.IsLeader())
		for range 5 {
			clk.Advance(time.Second)
			require.NoError(t, a.Step(ctx))
			require.NoError(t, b.Step(ctx))
			require.True(t, a.IsLeader())
			require.False(t, b.IsLeader())
		}
		// a stops renewing (killed): b takes over once the lease expired.
		clk.Advance(9 * time.Second)
		require.NoError(t, b.Step(ctx))
		require.False(t, b.IsLeader(), "not before the TTL")
		clk.Advance(2 * time.Second)
		require.NoError(t, b.Step(ctx))
		require.True(t, b.IsLeader())
		// a comes back: it learns it lost the lease.
		require.NoError(t, a.Step(ctx))
		require.False(t, a.IsLeader())
		require.Equal(t, []bool{true, false}, flips)
	})
}

func TestRunReleasesLeaseOnShutdown(t *testing.T) {
	each(t, jst("2026-04-01", 8, 0), func(t *testing.T, s *store.Store, clk *clock) {
		ctx, cancel := context.WithCancel(context.Background())
		a, err := New(Params{Store: s, Node: "a", Interval: 10 * time.Millisecond, Now: clk.Now})
		require.NoError(t, err)
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		require.Eventually(t, a.IsLeader, 5*time.Second, 10*time.Millisecond)
		cancel()
		require.NoError(t, <-done)
		b := newScheduler(t, s, clk, "b")
		require.NoError(t, b.Step(context.Background()))
		require.True(t, b.IsLeader(), "the released lease is free at once")
	})
}
