package store

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/testpeer/pgtest"
)

// fakeClock is a settable clock for store tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// eachWithClock runs fn on a fresh migrated SQLite and PostgreSQL store
// with a fake clock (package storetest cannot be used from inside store).
func eachWithClock(t *testing.T, fn func(t *testing.T, s *Store, clk *fakeClock)) {
	for _, d := range []string{DialectSQLite, DialectPostgres} {
		t.Run(d, func(t *testing.T) {
			clk := &fakeClock{t: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
			url := "sqlite:" + filepath.Join(t.TempDir(), "koyomi.db")
			if d == DialectPostgres {
				url = pgtest.Database(t)
			}
			ctx := context.Background()
			s, err := Open(ctx, Config{URL: url, Now: clk.Now})
			require.NoError(t, err)
			t.Cleanup(func() { _ = s.Close() })
			_, err = s.MigrateUp(ctx)
			require.NoError(t, err)
			fn(t, s, clk)
		})
	}
}

func TestLeaseAcquireRenewExpireRelease(t *testing.T) {
	eachWithClock(t, func(t *testing.T, s *Store, clk *fakeClock) {
		ctx := context.Background()
		ok, err := s.AcquireLease(ctx, "scheduler", "a", 10*time.Second)
		require.NoError(t, err)
		require.True(t, ok)
		ok, err = s.AcquireLease(ctx, "scheduler", "b", 10*time.Second)
		require.NoError(t, err)
		require.False(t, ok, "b must not take a's unexpired lease")
		ok, err = s.AcquireLease(ctx, "scheduler", "a", 10*time.Second)
		require.NoError(t, err)
		require.True(t, ok, "a re-acquires its own lease")

		clk.Advance(9 * time.Second)
		ok, err = s.RenewLease(ctx, "scheduler", "a", 10*time.Second)
		require.NoError(t, err)
		require.True(t, ok)
		clk.Advance(9 * time.Second)
		ok, err = s.AcquireLease(ctx, "scheduler", "b", 10*time.Second)
		require.NoError(t, err)
		require.False(t, ok, "the renewal extended a's lease")

		clk.Advance(2 * time.Second)
		ok, err = s.AcquireLease(ctx, "scheduler", "b", 10*time.Second)
		require.NoError(t, err)
		require.True(t, ok, "b takes the expired lease")
		ok, err = s.RenewLease(ctx, "scheduler", "a", 10*time.Second)
		require.NoError(t, err)
		require.False(t, ok, "a lost the lease")
		l, err := s.LeaseInfo(ctx, "scheduler")
		require.NoError(t, err)
		require.Equal(t, "b", l.Holder)
		require.True(t, l.Held(clk.Now()))

		require.NoError(t, s.ReleaseLease(ctx, "scheduler", "a"), "releasing a lease one does not hold is harmless")
		ok, err = s.AcquireLease(ctx, "scheduler", "a", 10*time.Second)
		require.NoError(t, err)
		require.False(t, ok)
		require.NoError(t, s.ReleaseLease(ctx, "scheduler", "b"))
		ok, err = s.AcquireLease(ctx, "scheduler", "a", 10*time.Second)
		require.NoError(t, err)
		require.True(t, ok, "a released lease is free at once")

		_, err = s.AcquireLease(ctx, "", "a", time.Second)
		require.ErrorIs(t, err, fault.ErrInvalid)
	})
}

func TestLeaseContendedHasOneWinner(t *testing.T) {
	eachWithClock(t, func(t *testing.T, s *Store, clk *fakeClock) {
		ctx := context.Background()
		var wg sync.WaitGroup
		wins := make(chan string, 8)
		for _, h := range []string{"n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.AcquireLease(ctx, "scheduler", h, time.Minute)
				if err == nil && ok {
					wins <- h
				}
			}()
		}
		wg.Wait()
		close(wins)
		var got []string
		for h := range wins {
			got = append(got, h)
		}
		require.Len(t, got, 1, "exactly one holder wins: %v", got)
	})
}

func newJobnet(t *testing.T, s *Store, name string) JobnetInfo {
	t.Helper()
	ctx := context.Background()
	_, err := s.ApplyDefinitions(ctx, Definitions{
		Folders: []jobnet.Folder{{Name: "f"}},
		Jobnets: []*jobnet.Jobnet{{Name: name, Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{
			{Name: "a", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: "true"}}},
			{Name: "b", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: "true"}}},
		}, Edges: []jobnet.Edge{{From: "a", To: "b"}}}}},
	}, "test")
	require.NoError(t, err)
	js, err := s.Jobnets(ctx, "f")
	require.NoError(t, err)
	for _, j := range js {
		if j.Name == name {
			return j
		}
	}
	t.Fatalf("jobnet %s not stored", name)
	return JobnetInfo{}
}

func gen(j JobnetInfo, date string, clock calendar.ClockTime, at time.Time, ov jobnet.Overlap) Generation {
	return Generation{JobnetID: j.ID, JobnetVersion: j.CurrentVersion, Jobnet: j.Path(), Folder: j.Folder,
		BusinessDate: calendar.MustParseDate(date), Rule: "r1", StartClock: clock, ScheduledAt: at, Overlap: ov}
}

// markStarted sets a generation running (what the runner does at its start).
func markStarted(t *testing.T, s *Store, id string, at time.Time) {
	t.Helper()
	require.NoError(t, s.db.Model(&generationRecord{}).Where("id = ?", id).
		Updates(map[string]any{"state": "running", "started_at": at}).Error)
}

func markEnded(t *testing.T, s *Store, id string, at time.Time) {
	t.Helper()
	require.NoError(t, s.db.Model(&generationRecord{}).Where("id = ?", id).
		Updates(map[string]any{"state": "ended_normal", "ended_at": at}).Error)
}

func ids(gs []Generation) []string {
	out := make([]string, len(gs))
	for i, g := range gs {
		out[i] = g.ID
	}
	return out
}

func TestInsertGenerationsIsIdempotent(t *testing.T) {
	eachWithClock(t, func(t *testing.T, s *Store, clk *fakeClock) {
		ctx := context.Background()
		j := newJobnet(t, s, "n")
		at := time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
		g1 := gen(j, "2026-04-01", 9*60, at, "")
		created, err := s.InsertGenerations(ctx, []Generation{g1, gen(j, "2026-04-02", 9*60, at.Add(24*time.Hour), jobnet.OverlapSkip)})
		require.NoError(t, err)
		require.Len(t, created, 2)
		require.Equal(t, GenerationID(j.ID, calendar.MustParseDate("2026-04-01"), "r1", 9*60), created[0].ID)
		require.Regexp(t, `^20260401-[0-9a-f]{10}$`, created[0].ID)

		again, err := s.InsertGenerations(ctx, []Generation{g1})
		require.NoError(t, err)
		require.Empty(t, again)
		require.NoError(t, s.InsertGeneration(ctx, g1))

		all, err := s.Generations(ctx, GenerationQuery{})
		require.NoError(t, err)
		require.Len(t, all, 2)
		require.Equal(t, jobrun.GenWaiting, all[0].State)
		require.Equal(t, jobnet.OverlapWait, all[0].Overlap)
		require.Equal(t, jobnet.OverlapSkip, all[1].Overlap)
	})
}

func TestDueGenerationsHonourOverlap(t *testing.T) {
	eachWithClock(t, func(t *testing.T, s *Store, clk *fakeClock) {
		ctx := context.Background()
		t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		for _, tc := range []struct {
			overlap jobnet.Overlap
			dueWhileRunning,
			skipped bool
		}{
			{jobnet.OverlapConcurrent, true, false},
			{jobnet.OverlapWait, false, false},
			{jobnet.OverlapSkip, false, true},
		} {
			j := newJobnet(t, s, "n-"+string(tc.overlap))
			prev := gen(j, "2026-04-01", 9*60, t0, tc.overlap)
			next := gen(j, "2026-04-01", 10*60, t0.Add(time.Hour), tc.overlap)
			created, err := s.InsertGenerations(ctx, []Generation{prev, next})
			require.NoError(t, err)
			markStarted(t, s, created[0].ID, t0)

			now := t0.Add(time.Hour + time.Second)
			due, err := s.DueGenerations(ctx, now, 0)
			require.NoError(t, err)
			require.Equal(t, tc.dueWhileRunning, contains(ids(due), created[1].ID), "due while previous runs (%s)", tc.overlap)
			over, err := s.OverdueGenerations(ctx, now)
			require.NoError(t, err)
			require.Equal(t, tc.dueWhileRunning, contains(ids(over), created[1].ID))

			skipped, err := s.SkipOverlapped(ctx, now)
			require.NoError(t, err)
			require.Equal(t, tc.skipped, contains(ids(skipped), created[1].ID), "skipped (%s)", tc.overlap)

			markEnded(t, s, created[0].ID, now.Add(time.Minute))
			due, err = s.DueGenerations(ctx, now.Add(2*time.Minute), 0)
			require.NoError(t, err)
			require.Equal(t, !tc.skipped, contains(ids(due), created[1].ID), "due after previous ended (%s)", tc.overlap)
			if tc.skipped {
				g, err := s.Generation(ctx, created[1].ID)
				require.NoError(t, err)
				require.Equal(t, jobrun.GenSkipped, g.State)
				require.Contains(t, g.Reason, "overlap")
			}
		}
	})
}

func TestSkipOverlappedOnlyWhenPreviousRanAtStartTime(t *testing.T) {
	eachWithClock(t, func(t *testing.T, s *Store, clk *fakeClock) {
		ctx := context.Background()
		t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		j := newJobnet(t, s, "n")
		created, err := s.InsertGenerations(ctx, []Generation{gen(j, "2026-04-01", 9*60, t0, jobnet.OverlapSkip), gen(j, "2026-04-01", 10*60, t0.Add(time.Hour), jobnet.OverlapSkip)})
		require.NoError(t, err)
		markStarted(t, s, created[0].ID, t0)
		markEnded(t, s, created[0].ID, t0.Add(59*time.Minute)) // ended before the next start
		skipped, err := s.SkipOverlapped(ctx, t0.Add(2*time.Hour))
		require.NoError(t, err)
		require.Empty(t, skipped)
	})
}

func contains(xs []string, x string) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func TestRePlanUpdatesAreGuarded(t *testing.T) {
	eachWithClock(t, func(t *testing.T, s *Store, clk *fakeClock) {
		ctx := context.Background()
		t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		j := newJobnet(t, s, "n")
		created, err := s.InsertGenerations(ctx, []Generation{gen(j, "2026-04-01", 9*60, t0, ""), gen(j, "2026-04-02", 9*60, t0.Add(24*time.Hour), ""), gen(j, "2026-04-03", 9*60, t0.Add(48*time.Hour), "")})
		require.NoError(t, err)
		a, b, c := created[0].ID, created[1].ID, created[2].ID

		require.NoError(t, s.UpdatePlannedGeneration(ctx, PlanUpdate{ID: a, ScheduledAt: t0.Add(time.Hour), JobnetVersion: 2, Explanation: "moved"}))
		g, err := s.Generation(ctx, a)
		require.NoError(t, err)
		require.True(t, g.ScheduledAt.Equal(t0.Add(time.Hour)))
		require.Equal(t, 2, g.JobnetVersion)

		require.NoError(t, s.RetimeGeneration(ctx, b, t0.Add(25*time.Hour), AuditEntry{Actor: "op", Action: "run.retime", Target: "run/" + b}))
		err = s.UpdatePlannedGeneration(ctx, PlanUpdate{ID: b, ScheduledAt: t0, JobnetVersion: 2})
		require.ErrorIs(t, err, fault.ErrConflict, "a re-timed generation is left alone")
		err = s.EndUnstarted(ctx, b, jobrun.GenNotExecuted, "no longer planned", true)
		require.ErrorIs(t, err, fault.ErrConflict)

		markStarted(t, s, c, t0)
		err = s.EndUnstarted(ctx, c, jobrun.GenNotExecuted, "no longer planned", true)
		require.ErrorIs(t, err, fault.ErrConflict, "a started generation stays")

		require.NoError(t, s.EndUnstarted(ctx, a, jobrun.GenNotExecuted, "no longer planned: x", true))
		un, err := s.UnstartedGenerations(ctx, calendar.MustParseDate("2026-03-01"), calendar.MustParseDate("2026-05-01"))
		require.NoError(t, err)
		require.Equal(t, []string{b}, ids(un))
		log, err := s.AuditLog(ctx, AuditQuery{Target: "run/" + b})
		require.NoError(t, err)
		require.Len(t, log, 1)
	})
}

// addUnits creates the unit rows of a started generation with the given states.
func addUnits(t *testing.T, s *Store, genID string, states map[string]jobrun.JobState) {
	t.Helper()
	for path, st := range states {
		require.NoError(t, s.db.Create(&unitRunRecord{GenerationID: genID, Path: path, Kind: "job", State: string(st), Attempt: 1, UpdatedAt: time.Now()}).Error)
	}
}

func unitStates(t *testing.T, s *Store, genID string) map[string]jobrun.JobState {
	t.Helper()
	us, err := s.UnitRuns(context.Background(), genID)
	require.NoError(t, err)
	out := map[string]jobrun.JobState{}
	for _, u := range us {
		out[u.Path] = u.State
	}
	return out
}

func TestOperationsGuardAndAudit(t *testing.T) {
	eachWithClock(t, func(t *testing.T, s *Store, clk *fakeClock) {
		ctx := context.Background()
		t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		j := newJobnet(t, s, "n")
		created, err := s.InsertGenerations(ctx, []Generation{gen(j, "2026-04-01", 9*60, t0, "")})
		require.NoError(t, err)
		id := created[0].ID
		au := func(action string) AuditEntry { return AuditEntry{Actor: "op", Action: action, Target: "run/" + id} }

		err = s.KillGeneration(ctx, id, au("run.kill"))
		require.ErrorIs(t, err, fault.ErrConflict)
		require.Contains(t, err.Error(), "cancel it instead")

		require.NoError(t, s.HoldGeneration(ctx, id, au("run.hold")))
		require.NoError(t, s.ReleaseGeneration(ctx, id, au("run.release")))
		g, err := s.Generation(ctx, id)
		require.NoError(t, err)
		require.Equal(t, jobrun.GenWaiting, g.State)

		markStarted(t, s, id, t0)
		addUnits(t, s, id, map[string]jobrun.JobState{"a": jobrun.StateRunning, "b": jobrun.StateWaiting})
		err = s.CancelGeneration(ctx, id, "x", au("run.cancel"))
		require.ErrorIs(t, err, fault.ErrConflict)
		require.NoError(t, s.HoldGeneration(ctx, id, au("run.hold")))
		require.NoError(t, s.ReleaseGeneration(ctx, id, au("run.release")))
		g, err = s.Generation(ctx, id)
		require.NoError(t, err)
		require.Equal(t, jobrun.GenRunning, g.State, "a started generation is released to running")

		require.NoError(t, s.HoldUnit(ctx, id, "b", au("unit.hold")))
		err = s.HoldUnit(ctx, id, "a", au("unit.hold"))
		require.ErrorIs(t, err, fault.ErrConflict)
		require.NoError(t, s.ReleaseUnit(ctx, id, "b", au("unit.release")))

		err = s.RerunUnits(ctx, id, jobrun.RerunPlan{Reset: []string{"a"}}, nil, au("run.rerun"))
		require.ErrorIs(t, err, fault.ErrConflict, "a running unit cannot be rerun")

		require.NoError(t, s.KillUnit(ctx, id, "a", au("unit.kill")))
		us, err := s.UnitRuns(ctx, id)
		require.NoError(t, err)
		require.True(t, us[0].KillRequested)
		require.Equal(t, jobrun.StateRunning, us[0].State, "the runner kills it")

		require.NoError(t, s.KillGeneration(ctx, id, au("run.kill")))
		require.Equal(t, map[string]jobrun.JobState{"a": jobrun.StateRunning, "b": jobrun.StateBypassed}, unitStates(t, s, id))
		g, err = s.Generation(ctx, id)
		require.NoError(t, err)
		require.Equal(t, jobrun.GenKilled, g.State)
		require.NotNil(t, g.EndedAt)
		err = s.KillGeneration(ctx, id, au("run.kill"))
		require.ErrorIs(t, err, fault.ErrConflict)

		// The runner records the kill; then a rerun from the top.
		require.NoError(t, s.db.Model(&unitRunRecord{}).Where("generation_id = ? AND path = ?", id, "a").Updates(map[string]any{"state": "killed", "kill_requested": false}).Error)
		before := unitStates(t, s, id)
		require.NoError(t, s.RerunUnits(ctx, id, jobrun.RerunPlan{Reset: []string{"a", "b"}}, before, au("run.rerun")))
		require.Equal(t, map[string]jobrun.JobState{"a": jobrun.StateWaiting, "b": jobrun.StateWaiting}, unitStates(t, s, id))
		g, err = s.Generation(ctx, id)
		require.NoError(t, err)
		require.Equal(t, jobrun.GenRunning, g.State)
		require.Nil(t, g.EndedAt)

		err = s.RerunUnits(ctx, id, jobrun.RerunPlan{Reset: []string{"a"}}, before, au("run.rerun"))
		require.ErrorIs(t, err, fault.ErrConflict, "stale plan")

		require.NoError(t, s.MarkUnit(ctx, id, "a", jobrun.StateEndedNormal, "", au("unit.mark")))
		err = s.MarkUnit(ctx, id, "a", jobrun.StateBypassed, "", au("unit.mark"))
		require.ErrorIs(t, err, fault.ErrConflict, "an ended_normal unit cannot be marked bypassed")

		log, err := s.AuditLog(ctx, AuditQuery{Target: "run/" + id})
		require.NoError(t, err)
		var actions []string
		for _, e := range log {
			actions = append(actions, e.Action)
		}
		require.Equal(t, []string{"unit.mark", "run.rerun", "run.kill", "unit.kill", "unit.release", "unit.hold", "run.release", "run.hold", "run.release", "run.hold"}, actions,
			"one audit entry per successful operation, none for refused ones")
	})
}

func TestCreateGenerationConflictsOnIdentity(t *testing.T) {
	eachWithClock(t, func(t *testing.T, s *Store, clk *fakeClock) {
		ctx := context.Background()
		j := newJobnet(t, s, "n")
		g := gen(j, "2026-04-01", 9*60, clk.Now(), "")
		g.Rule = RuleManual
		g.Params = map[string]string{"K": "v"}
		out, err := s.CreateGeneration(ctx, g, AuditEntry{Actor: "op", Action: "run.now"})
		require.NoError(t, err)
		_, err = s.CreateGeneration(ctx, g, AuditEntry{Actor: "op", Action: "run.now"})
		require.True(t, errors.Is(err, fault.ErrConflict))
		got, err := s.Generation(ctx, out.ID)
		require.NoError(t, err)
		require.Equal(t, map[string]string{"K": "v"}, got.Params)
		log, err := s.AuditLog(ctx, AuditQuery{Target: "run/" + out.ID})
		require.NoError(t, err)
		require.Len(t, log, 1)
	})
}

func TestDefinitionVersionsChangeWithDefinitions(t *testing.T) {
	eachWithClock(t, func(t *testing.T, s *Store, clk *fakeClock) {
		ctx := context.Background()
		v0, err := s.DefinitionVersions(ctx)
		require.NoError(t, err)
		newJobnet(t, s, "n")
		v1, err := s.DefinitionVersions(ctx)
		require.NoError(t, err)
		require.NotEqual(t, v0, v1)
		v2, err := s.DefinitionVersions(ctx)
		require.NoError(t, err)
		require.Equal(t, v1, v2)
		clk.Advance(time.Second)
		_, err = s.ApplyDefinitions(ctx, Definitions{Calendars: []calendar.Definition{{Name: "c", TimeZone: "UTC"}}}, "t")
		require.NoError(t, err)
		v3, err := s.DefinitionVersions(ctx)
		require.NoError(t, err)
		require.NotEqual(t, v2, v3)
	})
}
