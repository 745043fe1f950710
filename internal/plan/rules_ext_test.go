package plan_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
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
