package plan_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
)

func TestScheduleNext(t *testing.T) {
	c := jpCalendar(t, baseTime(5*time.Hour))
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, tokyo)
		require.NoError(t, err)
		return v
	}
	payday := jn("salary", jobnet.Rule{Name: "payday", Kind: jobnet.RuleDay, Day: 15, Closed: jobnet.SubstituteBefore, Start: []calendar.ClockTime{ct("09:00"), ct("26:00")}})
	s, err := plan.NewSchedule(payday, c, nil)
	require.NoError(t, err)
	tests := []struct {
		after, want string
	}{
		{"2026-08-13 10:00", "2026-08-14 09:00"},
		{"2026-08-14 08:59", "2026-08-14 09:00"},
		// Strictly after: the 26:00 start of the same business date is next.
		{"2026-08-14 09:00", "2026-08-15 02:00"},
		{"2026-08-15 02:00", "2026-09-15 09:00"},
		// 2026-11-15 is a Sunday: Friday the 13th.
		{"2026-10-16 03:00", "2026-11-13 09:00"},
		// Before base time: still business date 2026-12-15, whose 26:00 start is due.
		{"2026-12-16 01:00", "2026-12-16 02:00"},
	}
	for _, tt := range tests {
		require.Equal(t, at(tt.want), s.Next(at(tt.after)), tt.after)
	}

	res, err := s.Runs(d("2026-01-01"), d("2026-12-31"))
	require.NoError(t, err)
	require.Len(t, res.Runs, 24)

	t.Run("none within two years", func(t *testing.T) {
		far := jn("far", jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2029-06-01")}})
		s, err := plan.NewSchedule(far, c, nil)
		require.NoError(t, err)
		require.True(t, s.Next(at("2026-08-01 00:00")).IsZero())
		require.Equal(t, at("2029-06-01 05:00"), s.Next(at("2028-01-01 00:00")))
		empty, err := plan.NewSchedule(jn("empty"), c, nil)
		require.NoError(t, err)
		require.True(t, empty.Next(at("2026-08-01 00:00")).IsZero())
	})
	t.Run("invalid rules", func(t *testing.T) {
		_, err := plan.NewSchedule(jn("bad", jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("04:00")}}), c, nil)
		require.ErrorIs(t, err, fault.ErrInvalid)
	})
	t.Run("resolver failure", func(t *testing.T) {
		s, err := plan.NewSchedule(jn("x", jobnet.Rule{Kind: jobnet.RuleDaily, ExclusiveWith: []string{"y"}}), c, plan.RunsResolver(nil))
		require.NoError(t, err)
		_, _, err = s.NextRun(at("2026-08-01 00:00"))
		require.ErrorIs(t, err, fault.ErrNotFound)
		require.True(t, s.Next(at("2026-08-01 00:00")).IsZero())
	})
}

func TestCatchUp(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		require.NoError(t, err)
		return v
	}
	mk := func(starts ...string) []plan.Run {
		var out []plan.Run
		for _, s := range starts {
			out = append(out, plan.Run{Jobnet: "a/b", Start: utc(s)})
		}
		return out
	}
	starts := func(runs []plan.Run) []string {
		out := []string{}
		for _, r := range runs {
			out = append(out, r.Start.Format("2006-01-02 15:04"))
		}
		return out
	}
	now := utc("2026-08-14 12:00")
	missed := mk("2026-08-14 09:00", "2026-08-13 09:00", "2026-08-14 11:00", "2026-08-14 13:00")
	tests := []struct {
		policy   jobnet.CatchUp
		window   time.Duration
		run, skp []string
	}{
		{jobnet.CatchUpAll, 0, []string{"2026-08-13 09:00", "2026-08-14 09:00", "2026-08-14 11:00"}, []string{}},
		{jobnet.CatchUpAll, 6 * time.Hour, []string{"2026-08-14 09:00", "2026-08-14 11:00"}, []string{"2026-08-13 09:00"}},
		{jobnet.CatchUpLatest, 0, []string{"2026-08-14 11:00"}, []string{"2026-08-13 09:00", "2026-08-14 09:00"}},
		{"", 0, []string{"2026-08-14 11:00"}, []string{"2026-08-13 09:00", "2026-08-14 09:00"}},
		{jobnet.CatchUpLatest, 30 * time.Minute, []string{}, []string{"2026-08-13 09:00", "2026-08-14 09:00", "2026-08-14 11:00"}},
		{jobnet.CatchUpSkip, 0, []string{}, []string{"2026-08-13 09:00", "2026-08-14 09:00", "2026-08-14 11:00"}},
	}
	for _, tt := range tests {
		run, skip := plan.CatchUp(tt.policy, tt.window, missed, now)
		require.Equal(t, tt.run, starts(run), "%s %s", tt.policy, tt.window)
		require.Equal(t, tt.skp, starts(skip), "%s %s", tt.policy, tt.window)
	}
}

func TestOverlapDecision(t *testing.T) {
	tests := []struct {
		policy  jobnet.Overlap
		running bool
		want    plan.Decision
	}{
		{jobnet.OverlapConcurrent, true, plan.DecisionStart},
		{jobnet.OverlapWait, true, plan.DecisionWait},
		{jobnet.OverlapSkip, true, plan.DecisionSkip},
		{"", true, plan.DecisionWait},
		{jobnet.OverlapSkip, false, plan.DecisionStart},
		{jobnet.OverlapWait, false, plan.DecisionStart},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, plan.OverlapDecision(tt.policy, tt.running), "%s %v", tt.policy, tt.running)
	}
}

func TestMoved(t *testing.T) {
	before := jpCalendar(t)
	// An imported calendar closes 2026-08-14 (company holiday) and opens nothing.
	after := jpCalendar(t, extraClosed("2026-08-14"))
	j := jn("salary",
		jobnet.Rule{Name: "payday", Kind: jobnet.RuleDay, Day: 15, Closed: jobnet.SubstituteBefore, Start: []calendar.ClockTime{ct("09:00")}},
		jobnet.Rule{Name: "daily", Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("06:00")}},
	)
	b := planRange(t, before, "2026-08-01", "2026-08-31", nil, j)
	a := planRange(t, after, "2026-08-01", "2026-08-31", nil, j)
	moves := plan.Moved(b.Runs, a.Runs)
	require.Len(t, moves, 2)
	require.Equal(t, plan.MoveMoved, moves[0].Kind)
	require.Equal(t, "payday", moves[0].Before.Rule)
	require.Equal(t, d("2026-08-14"), moves[0].Before.BusinessDate)
	require.Equal(t, d("2026-08-13"), moves[0].After.BusinessDate)
	require.Equal(t, plan.MoveRemoved, moves[1].Kind)
	require.Equal(t, "daily", moves[1].Before.Rule)
	require.Equal(t, d("2026-08-14"), moves[1].Before.BusinessDate)

	back := plan.Moved(a.Runs, b.Runs)
	require.Len(t, back, 2)
	// In start order: the daily 06:00 run comes back before the 09:00 payday.
	require.Equal(t, plan.MoveAdded, back[0].Kind)
	require.Equal(t, d("2026-08-14"), back[0].After.BusinessDate)
	require.Equal(t, plan.MoveMoved, back[1].Kind)
	require.Equal(t, d("2026-08-14"), back[1].After.BusinessDate)
	require.Empty(t, plan.Moved(b.Runs, b.Runs))
}

func TestPlanAllMatchesPlan(t *testing.T) {
	c := jpCalendar(t, baseTime(5*time.Hour))
	p, err := plan.NewPlanner(plan.Params{Calendar: c, From: d("2026-01-01"), To: d("2026-12-31")})
	require.NoError(t, err)
	js := benchJobnets(40)
	all, err := p.PlanAll(js, 3)
	require.NoError(t, err)
	require.Len(t, all, len(js))
	for i, j := range js {
		one, err := p.Plan(j)
		require.NoError(t, err)
		require.Equal(t, one, all[i], j.Path())
		require.NotEmpty(t, one.Runs, j.Path())
	}
	bad := append(js[:2:2], jn("bad", jobnet.Rule{Kind: jobnet.RuleDay}))
	_, err = p.PlanAll(bad, 0)
	require.ErrorIs(t, err, fault.ErrInvalid)
}

// Planning a year month by month gives the same runs as planning it at
// once: candidates from outside a range that shift into it are found.
func TestChunksMatchWholeRange(t *testing.T) {
	c := jpCalendar(t, baseTime(5*time.Hour))
	js := benchJobnets(10)
	js = append(js,
		jn("year-end", jobnet.Rule{Kind: jobnet.RuleOpenDayFromEnd, Day: 1, Period: jobnet.PeriodYear, Offset: 2}),
		jn("far-shift", jobnet.Rule{Kind: jobnet.RuleDay, Day: 1, Closed: jobnet.SubstituteBefore, MaxShift: 366, Offset: -31}),
		jn("week", jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 2, Period: jobnet.PeriodWeek, Offset: 5}),
	)
	for _, j := range js {
		whole := planRange(t, c, "2026-01-01", "2026-12-31", nil, j)
		var parts []plan.Run
		for m := time.January; m <= time.December; m++ {
			from := calendar.NewDate(2026, m, 1)
			res := planRange(t, c, from.String(), from.AddMonths(1).AddDays(-1).String(), nil, j)
			parts = append(parts, res.Runs...)
		}
		require.Equal(t, len(whole.Runs), len(parts), j.Path())
		for i := range parts {
			require.Equal(t, whole.Runs[i].Start, parts[i].Start, j.Path())
			require.Equal(t, whole.Runs[i].Rule, parts[i].Rule, j.Path())
		}
	}
}

// Jobnets with the same rules share one plan inside a Planner; the shared
// plans equal plans made from scratch, carry their own jobnet name, and do
// not alias each other's Runs.
func TestSharedSchedulesMatchFresh(t *testing.T) {
	c := jpCalendar(t, baseTime(5*time.Hour))
	params := plan.Params{Calendar: c, From: d("2026-01-01"), To: d("2026-12-31")}
	shared, err := plan.NewPlanner(params)
	require.NoError(t, err)
	js := benchJobnets(40)
	got := make([]plan.Result, len(js))
	for i, j := range js {
		got[i], err = shared.Plan(j)
		require.NoError(t, err)
	}
	for i, j := range js {
		fresh, err := plan.NewPlanner(params)
		require.NoError(t, err)
		want, err := fresh.Plan(j)
		require.NoError(t, err)
		require.Equal(t, want, got[i], j.Path())
		for _, r := range got[i].Runs {
			require.Equal(t, j.Path(), r.Jobnet)
		}
		for _, dr := range got[i].Dropped {
			require.Equal(t, j.Path(), dr.Jobnet)
		}
	}
	// js[0], js[10], js[20] have the same rules: their Runs are distinct slices.
	got[0].Runs[0].StartClock = -1
	require.NotEqual(t, calendar.ClockTime(-1), got[10].Runs[0].StartClock)
	require.NotEqual(t, calendar.ClockTime(-1), got[20].Runs[0].StartClock)

	// A changed rule of a copied schedule is planned anew, not shared.
	rules := append([]jobnet.Rule(nil), js[1].Rules...)
	rules[0].Start = []calendar.ClockTime{ct("26:00")}
	res, err := shared.PlanRules("f1", "f1/changed", rules)
	require.NoError(t, err)
	require.Equal(t, ct("26:00"), res.Runs[0].StartClock)
	require.Contains(t, res.Runs[0].Explanation, "start 26:00")
}
