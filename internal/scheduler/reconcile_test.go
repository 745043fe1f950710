package scheduler

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/plan"
	"github.com/koyomi-dev/koyomi/internal/store"
)

var tokyo = mustLoc("Asia/Tokyo")

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func jst(date string, hh, mm int) time.Time {
	d := calendar.MustParseDate(date)
	y, m, dd := d.Civil()
	return time.Date(y, m, dd, hh, mm, 0, 0, tokyo)
}

func planned(date string, hh int, version int) Planned {
	return Planned{JobnetID: 1, Version: version, Folder: "f", Overlap: jobnet.OverlapWait, Run: plan.Run{
		Jobnet: "f/n", Rule: "r1", BusinessDate: calendar.MustParseDate(date), StartClock: calendar.ClockTime(hh * 60),
		Start: jst(date, hh, 0), Explanation: "daily → " + date}}
}

func existing(id, date string, hh int, state jobrun.GenState, version int) store.Generation {
	return store.Generation{ID: id, JobnetID: 1, JobnetVersion: version, Jobnet: "f/n", Folder: "f", BusinessDate: calendar.MustParseDate(date),
		Rule: "r1", StartClock: calendar.ClockTime(hh * 60), ScheduledAt: jst(date, hh, 0).UTC(), State: state,
		Explanation: "daily → " + date, Overlap: jobnet.OverlapWait}
}

func TestReconcile(t *testing.T) {
	all := func(int64) bool { return true }
	everything := func(Planned) bool { return true }
	for _, tc := range []struct {
		name     string
		planned  []Planned
		existing []store.Generation
		inScope  func(int64) bool
		insert   func(Planned) bool
		want     Actions
	}{
		{
			name:     "new runs are inserted, existing ones left",
			planned:  []Planned{planned("2026-04-01", 9, 1), planned("2026-04-02", 9, 1)},
			existing: []store.Generation{existing("a", "2026-04-01", 9, jobrun.GenWaiting, 1)},
			want:     Actions{Insert: []store.Generation{planned("2026-04-02", 9, 1).Generation()}},
		},
		{
			name:     "ended generations are not re-created",
			planned:  []Planned{planned("2026-04-01", 9, 1)},
			existing: []store.Generation{existing("a", "2026-04-01", 9, jobrun.GenEndedNormal, 1)},
		},
		{
			name:     "a run no longer planned is cancelled with a reason",
			planned:  []Planned{planned("2026-04-02", 9, 1)},
			existing: []store.Generation{existing("a", "2026-04-01", 9, jobrun.GenWaiting, 1), existing("b", "2026-04-02", 9, jobrun.GenWaiting, 1)},
			want:     Actions{Cancel: []Cancel{{ID: "a", Reason: "no longer planned: the current schedule of f/n does not plan 2026-04-01 09:00 (rule r1)"}}},
		},
		{
			name:    "started, held, re-timed and manual generations stay",
			planned: nil,
			existing: func() []store.Generation {
				re := existing("c", "2026-04-01", 11, jobrun.GenWaiting, 1)
				re.Retimed = true
				man := existing("d", "2026-04-01", 12, jobrun.GenWaiting, 1)
				man.Rule = store.RuleManual
				return []store.Generation{existing("a", "2026-04-01", 9, jobrun.GenRunning, 1), existing("b", "2026-04-01", 10, jobrun.GenHeld, 1), re, man,
					existing("e", "2026-04-01", 13, jobrun.GenEndedAbnormal, 1)}
			}(),
		},
		{
			name:     "a new jobnet version moves the pinned version of unstarted generations only",
			planned:  []Planned{planned("2026-04-01", 9, 2), planned("2026-04-02", 9, 2)},
			existing: []store.Generation{existing("a", "2026-04-01", 9, jobrun.GenRunning, 1), existing("b", "2026-04-02", 9, jobrun.GenWaiting, 1)},
			want:     Actions{Update: []store.PlanUpdate{{ID: "b", ScheduledAt: jst("2026-04-02", 9, 0).UTC(), JobnetVersion: 2, Explanation: "daily → 2026-04-02", Overlap: jobnet.OverlapWait}}},
		},
		{
			name: "a moved start instant (new time zone) updates scheduled_at",
			planned: func() []Planned {
				p := planned("2026-04-02", 9, 1)
				p.Run.Start = time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC)
				return []Planned{p}
			}(),
			existing: []store.Generation{existing("b", "2026-04-02", 9, jobrun.GenWaiting, 1)},
			want:     Actions{Update: []store.PlanUpdate{{ID: "b", ScheduledAt: time.Date(2026, 4, 2, 9, 0, 0, 0, time.UTC), JobnetVersion: 1, Explanation: "daily → 2026-04-02", Overlap: jobnet.OverlapWait}}},
		},
		{
			name:     "a jobnet that failed to plan keeps its generations",
			planned:  nil,
			existing: []store.Generation{existing("a", "2026-04-01", 9, jobrun.GenWaiting, 1)},
			inScope:  func(int64) bool { return false },
		},
		{
			name:    "runs beyond the horizon are planned but not created",
			planned: []Planned{planned("2026-04-01", 9, 1), planned("2026-04-05", 9, 1)},
			insert:  func(p Planned) bool { return p.Run.BusinessDate < calendar.MustParseDate("2026-04-03") },
			want:    Actions{Insert: []store.Generation{planned("2026-04-01", 9, 1).Generation()}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.inScope == nil {
				tc.inScope = all
			}
			if tc.insert == nil {
				tc.insert = everything
			}
			got := Reconcile(tc.planned, tc.existing, tc.inScope, tc.insert)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestCatchUpSkips(t *testing.T) {
	now := jst("2026-04-01", 12, 0)
	missed := []store.Generation{
		existing("g09", "2026-04-01", 9, jobrun.GenWaiting, 1),
		existing("g10", "2026-04-01", 10, jobrun.GenWaiting, 1),
		existing("g11", "2026-04-01", 11, jobrun.GenWaiting, 1),
	}
	for _, tc := range []struct {
		name   string
		policy Policy
		skip   []string
	}{
		{"latest runs only the 11:00 generation", Policy{CatchUp: jobnet.CatchUpLatest}, []string{"g09", "g10"}},
		{"default policy is latest", Policy{}, []string{"g09", "g10"}},
		{"all runs every missed generation", Policy{CatchUp: jobnet.CatchUpAll}, nil},
		{"skip runs none", Policy{CatchUp: jobnet.CatchUpSkip}, []string{"g09", "g10", "g11"}},
		{"all within a 2h30m window skips 09:00", Policy{CatchUp: jobnet.CatchUpAll, Window: 150 * time.Minute}, []string{"g09"}},
		{"latest within a 30m window runs nothing", Policy{CatchUp: jobnet.CatchUpLatest, Window: 30 * time.Minute}, []string{"g09", "g10", "g11"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := CatchUpSkips(missed, func(int64) Policy { return tc.policy }, now)
			var ids []string
			for _, s := range got {
				ids = append(ids, s.ID)
				require.Contains(t, s.Reason, "catch-up")
			}
			require.Equal(t, tc.skip, ids)
		})
	}
}
