package plan_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// TestGoldenYear plans 2026 for a few representative jobnets and compares
// every run and drop, with its explanation, to testdata/<name>.golden.
func TestGoldenYear(t *testing.T) {
	jp := jpCalendar(t, baseTime(5*time.Hour))
	closing := jpCalendar(t, baseDay(21, calendar.MonthNamingEnd))

	payroll := &jobnet.Jobnet{Folder: "hr", Name: "payroll", Rules: []jobnet.Rule{
		{Name: "payday", Kind: jobnet.RuleDay, Day: 15, Closed: jobnet.SubstituteBefore, Start: []calendar.ClockTime{ct("09:00")}},
		{Name: "calculation", Kind: jobnet.RuleDay, Day: 15, Closed: jobnet.SubstituteBefore, Offset: -2, Start: []calendar.ClockTime{ct("21:00")}},
	}}
	nightly := &jobnet.Jobnet{Folder: "ops", Name: "nightly", Rules: []jobnet.Rule{
		{Name: "night", Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("25:30")}, Exclude: []calendar.Date{d("2026-12-30")},
			ExclusiveWith: []string{"hr/payroll"}},
	}}
	monthly := &jobnet.Jobnet{Folder: "acct", Name: "monthly", Rules: []jobnet.Rule{
		{Name: "third-open-day", Kind: jobnet.RuleOpenDay, Day: 3, Start: []calendar.ClockTime{ct("08:00")}},
		{Name: "last-open-day", Kind: jobnet.RuleOpenDayFromEnd, Day: 1, Start: []calendar.ClockTime{ct("19:00")}},
		{Name: "day-31", Kind: jobnet.RuleDay, Day: 31, Closed: jobnet.SubstituteAfter, MaxShift: 3, Start: []calendar.ClockTime{ct("06:00")}},
		{Name: "quarterly", Kind: jobnet.RuleEvery, Every: 3, Unit: jobnet.EveryMonths, Anchor: dp("2026-01-10"), Closed: jobnet.SubstituteAfter, Start: []calendar.ClockTime{ct("08:00")},
			ValidTo: dp("2026-09-30")},
	}}
	weekly := &jobnet.Jobnet{Folder: "ops", Name: "weekly", Rules: []jobnet.Rule{
		{Name: "monday", Kind: jobnet.RuleWeekdays, Weekdays: []calendar.Weekday{1}, Closed: jobnet.SubstituteAfter, Start: []calendar.ClockTime{ct("07:00")}},
		{Name: "patch-tuesday", Kind: jobnet.RuleWeekdayOfMonth, Nth: 2, Weekday: wd(time.Tuesday), Offset: 1, Start: []calendar.ClockTime{ct("22:00")}},
		{Name: "week-close", Kind: jobnet.RuleOpenDayFromEnd, Day: 1, Period: jobnet.PeriodWeek, Start: []calendar.ClockTime{ct("18:00")},
			Repeat: &jobnet.Repeat{Every: jobnet.Duration(2 * time.Hour), Until: ct("22:00")}},
	}}
	close21 := &jobnet.Jobnet{Folder: "acct", Name: "close21", Rules: []jobnet.Rule{
		{Name: "close", Kind: jobnet.RuleMonthEnd, Closed: jobnet.SubstituteBefore, Start: []calendar.ClockTime{ct("20:00")}},
		{Name: "open", Kind: jobnet.RuleDay, Day: 1, Closed: jobnet.SubstituteAfter},
		{Name: "mid", Kind: jobnet.RuleDay, Day: 31},
	}}

	pJP, err := plan.NewPlanner(plan.Params{Calendar: jp, From: d("2026-01-01"), To: d("2026-12-31")})
	require.NoError(t, err)
	payRes, err := pJP.Plan(payroll)
	require.NoError(t, err)
	resolver := plan.RunsResolver(map[string][]plan.Run{payroll.Path(): payRes.Runs})
	pJP, err = plan.NewPlanner(plan.Params{Calendar: jp, From: d("2026-01-01"), To: d("2026-12-31"), Resolver: resolver})
	require.NoError(t, err)
	pClose, err := plan.NewPlanner(plan.Params{Calendar: closing, From: d("2026-01-01"), To: d("2026-12-31")})
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		p    *plan.Planner
		j    *jobnet.Jobnet
	}{
		{"payroll", pJP, payroll}, {"nightly", pJP, nightly}, {"monthly", pJP, monthly},
		{"weekly", pJP, weekly}, {"close21", pClose, close21},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.p.Plan(tc.j)
			require.NoError(t, err)
			got := renderGolden(tc.p, tc.j, res)
			path := filepath.Join("testdata", tc.name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run go test ./internal/plan -run TestGoldenYear -update")
			require.Equal(t, string(want), got)
		})
	}
}

func renderGolden(p *plan.Planner, j *jobnet.Jobnet, res plan.Result) string {
	var b strings.Builder
	c := p.Calendar()
	fmt.Fprintf(&b, "# %s on calendar %s (base time %s, base day %d, months named by %s), %s..%s\n",
		j.Path(), c.Name(), calendar.ClockTime(c.BaseTime()/time.Minute), c.BaseDay(), c.MonthNaming(), p.From(), p.To())
	fmt.Fprintf(&b, "# %d runs, %d dropped\n", len(res.Runs), len(res.Dropped))
	for _, r := range res.Runs {
		fmt.Fprintf(&b, "run  %s %s %s %-15s %s\n", r.BusinessDate, r.StartClock, r.Start.Format(time.RFC3339), r.Rule, r.Explanation)
	}
	for _, dr := range res.Dropped {
		date := "----------"
		if dr.Reason != plan.DropNonexistent {
			date = dr.Date.String()
		}
		fmt.Fprintf(&b, "drop %s %-18s %-15s %s\n", date, dr.Reason, dr.Rule, dr.Explanation)
	}
	return b.String()
}
