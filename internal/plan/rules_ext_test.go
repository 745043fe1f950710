package plan_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
)

// countOpen walks day by day: the n-th open day after (n > 0) or before d,
// never counting d. An independent reference for offsets.
func countOpen(c *calendar.Calendar, d calendar.Date, n int) calendar.Date {
	step := calendar.Date(1)
	if n < 0 {
		step, n = -1, -n
	}
	for n > 0 {
		d += step
		if c.IsOpen(d) {
			n--
		}
	}
	return d
}

// TestOffsetBeyondAMonth: offsets count any number of open days (here up to
// 250), also from candidates far outside the planned range.
func TestOffsetBeyondAMonth(t *testing.T) {
	c := jpCalendar(t)
	for _, off := range []int{32, 45, -45, 120, -250} {
		from := d("2026-04-01")
		want := countOpen(c, from, off)
		res := planRange(t, c, want.String(), want.String(), nil,
			jn("far", jobnet.Rule{Name: "r", Kind: jobnet.RuleDates, Dates: []calendar.Date{from}, Offset: off, Start: []calendar.ClockTime{ct("09:00")}}))
		require.Equal(t, []string{want.String()}, runDates(res), "offset %d", off)
		require.Contains(t, res.Runs[0].Explanation, "→ "+want.String())
	}
	// The same rule planned over a year finds it once, as the small offsets do.
	res := planRange(t, c, "2026-01-01", "2026-12-31", nil,
		jn("far", jobnet.Rule{Kind: jobnet.RuleDay, Day: 1, Closed: jobnet.SubstituteAfter, Offset: 45}))
	for _, r := range res.Runs {
		sub := r.Origin
		for !c.IsOpen(sub) {
			sub++
		}
		require.Equal(t, countOpen(c, sub, 45), r.BusinessDate, "from %s", r.Origin)
	}
	require.Len(t, res.Runs, 12, "day 1 of 2025-11 .. 2026-10 land in 2026 after 45 open days")
}

func TestEveryYears(t *testing.T) {
	c := jpCalendar(t)
	res := planRange(t, c, "2024-01-01", "2031-12-31", nil,
		jn("leap", jobnet.Rule{Kind: jobnet.RuleEvery, Every: 1, Unit: jobnet.EveryYears, Anchor: dp("2024-02-29"), Closed: jobnet.SubstituteRun}))
	require.Equal(t, []string{"2024-02-29", "2028-02-29"}, runDates(res), "no clamp to February 28")
	require.Contains(t, dropList(res), "2025-02 nonexistent")

	res = planRange(t, c, "2026-01-01", "2031-12-31", nil,
		jn("audit", jobnet.Rule{Kind: jobnet.RuleEvery, Every: 2, Unit: jobnet.EveryYears, Anchor: dp("2025-06-30"), Closed: jobnet.SubstituteBefore}))
	require.Equal(t, []string{"2027-06-30", "2029-06-29", "2031-06-30"}, runDates(res))
	require.Contains(t, res.Runs[1].Explanation, "every 2 years from 2025-06-30")
}

// TestExceptByRule: "every open day, but not on the last open day of the
// month" without listing dates.
func TestExceptByRule(t *testing.T) {
	c := jpCalendar(t)
	res := planRange(t, c, "2026-04-27", "2026-05-08", nil, jn("daily", jobnet.Rule{Name: "r", Kind: jobnet.RuleDaily,
		Except: []jobnet.Rule{{Kind: jobnet.RuleOpenDayFromEnd, Day: 1}}, Start: []calendar.ClockTime{ct("09:00")}}))
	// 04-29 and 05-03..05-06 are holidays, 05-02/03 and 05-09/10 weekends; 04-30 is April's last open day.
	require.Equal(t, []string{"2026-04-27", "2026-04-28", "2026-05-01", "2026-05-07", "2026-05-08"}, runDates(res))
	var excluded []string
	for _, dr := range res.Dropped {
		if dr.Reason == plan.DropExcluded {
			excluded = append(excluded, dr.Explanation)
		}
	}
	require.Equal(t, []string{"every day → 2026-04-30; 2026-04-30 is excluded by except[0]: last open day of month 2026-04 → 2026-04-30"}, excluded)

	// An exception with its own offset: not two open days before month end.
	res = planRange(t, c, "2026-06-01", "2026-06-30", nil, jn("daily", jobnet.Rule{Name: "r", Kind: jobnet.RuleDaily,
		Except: []jobnet.Rule{{Kind: jobnet.RuleMonthEnd, Closed: jobnet.SubstituteBefore, Offset: -2}}}))
	require.NotContains(t, runDates(res), "2026-06-26")
	require.Len(t, res.Runs, 21)
}

func TestExceptValidation(t *testing.T) {
	ps := jobnet.ValidateRules([]jobnet.Rule{{Kind: jobnet.RuleDaily, Except: []jobnet.Rule{
		{Kind: jobnet.RuleDay, Day: 40},
		{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("09:00")}},
		{Kind: jobnet.RuleDaily, Except: []jobnet.Rule{{Kind: jobnet.RuleDaily}}},
	}}})
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
	}
	require.Equal(t, []string{
		"schedule[0].except[0].day: 40: must be 1-31",
		"schedule[0].except[1].start: an exception excludes dates: it has no start times",
		"schedule[0].except[2].except: an exception has no exceptions of its own",
	}, got)
}
