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

var fuzzKinds = []jobnet.RuleKind{jobnet.RuleDay, jobnet.RuleMonthEnd, jobnet.RuleOpenDay, jobnet.RuleOpenDayFromEnd,
	jobnet.RuleWeekdayOfMonth, jobnet.RuleEvery, jobnet.RuleDates, jobnet.RuleDaily, jobnet.RuleWeekdays, "bogus"}
var fuzzPeriods = []jobnet.Period{"", jobnet.PeriodMonth, jobnet.PeriodWeek, jobnet.PeriodYear, "decade"}
var fuzzUnits = []jobnet.EveryUnit{jobnet.EveryDays, jobnet.EveryWeeks, jobnet.EveryMonths, "", "years"}
var fuzzClosed = []jobnet.Substitution{"", jobnet.SubstituteBefore, jobnet.SubstituteAfter, jobnet.SubstituteSkip, jobnet.SubstituteRun, "nearest"}

// FuzzPlanRule builds random rules: validation and planning must never
// panic, and every run must lie inside the range and inside its business day.
func FuzzPlanRule(f *testing.F) {
	f.Add(uint8(0), 15, 0, uint8(0), 0, uint8(0), int16(0), uint8(1), 0, -2, 540, 0, 0, int16(0), uint16(30), int16(0), int16(0))
	f.Add(uint8(2), 22, 0, uint8(0), 0, uint8(0), int16(0), uint8(0), 0, 0, 300, 0, 0, int16(-400), uint16(400), int16(0), int16(0))
	f.Add(uint8(4), 0, -1, uint8(5), 0, uint8(0), int16(0), uint8(2), 3, 31, 1700, 30, 1730, int16(100), uint16(60), int16(5), int16(40))
	f.Add(uint8(5), 0, 0, uint8(0), 1, uint8(2), int16(-30), uint8(4), 366, -31, 0, 1, 0, int16(0), uint16(365), int16(-20), int16(-30))
	f.Add(uint8(7), 0, 0, uint8(0), 0, uint8(0), int16(0), uint8(1), 1, 1, 2000, 7, 1739, int16(200), uint16(10), int16(0), int16(0))
	f.Add(uint8(3), 7, 0, uint8(0), 0, uint8(0), int16(0), uint8(0), 0, 5, 600, 0, 0, int16(-50), uint16(100), int16(0), int16(0))
	c := jpCalendar(f, baseTime(5*time.Hour))
	origin := d("2026-06-01")
	f.Fuzz(func(t *testing.T, kind uint8, day, nth int, weekday uint8, every int, unit uint8, anchor int16,
		closed uint8, maxShift, offset, start, repeatMin, until int, fromOff int16, span uint16, validFrom, validTo int16) {
		a := origin + calendar.Date(anchor)
		w := calendar.Weekday(weekday % 9)
		r := jobnet.Rule{
			Kind: fuzzKinds[int(kind)%len(fuzzKinds)], Period: fuzzPeriods[int(kind/16)%len(fuzzPeriods)],
			Day: day, Nth: nth, Weekday: &w, Weekdays: []calendar.Weekday{w, (w + 3) % 7},
			Every: every, Unit: fuzzUnits[int(unit)%len(fuzzUnits)], Anchor: &a,
			Dates:  []calendar.Date{a, a + 40, a - 3},
			Closed: fuzzClosed[int(closed)%len(fuzzClosed)], MaxShift: maxShift, Offset: offset,
			Exclude: []calendar.Date{a + 1},
			Start:   []calendar.ClockTime{calendar.ClockTime(start)},
		}
		if r.Kind != jobnet.RuleOpenDay && r.Kind != jobnet.RuleOpenDayFromEnd {
			r.Period = ""
		}
		if repeatMin != 0 {
			r.Repeat = &jobnet.Repeat{Every: jobnet.Duration(time.Duration(repeatMin) * time.Minute), Until: calendar.ClockTime(until)}
		}
		if validFrom != 0 {
			vf := origin + calendar.Date(validFrom)
			r.ValidFrom = &vf
		}
		if validTo != 0 {
			vt := origin + calendar.Date(validTo)
			r.ValidTo = &vt
		}
		from := origin + calendar.Date(fromOff)
		to := from + calendar.Date(span%800)
		p, err := plan.NewPlanner(plan.Params{Calendar: c, From: from, To: to})
		require.NoError(t, err)
		res, err := p.Plan(jn("fuzz", r))
		if err != nil {
			require.ErrorIs(t, err, fault.ErrInvalid)
			require.NotEmpty(t, plan.ValidateOn(c, []jobnet.Rule{r}))
			return
		}
		var last time.Time
		seen := map[[2]int]bool{}
		for _, run := range res.Runs {
			require.GreaterOrEqual(t, run.BusinessDate, from)
			require.LessOrEqual(t, run.BusinessDate, to)
			require.Equal(t, run.BusinessDate, c.BusinessDate(run.Start), "start %s outside business date %s", run.Start, run.BusinessDate)
			require.False(t, run.Start.Before(last), "runs out of order")
			last = run.Start
			k := [2]int{int(run.BusinessDate), int(run.StartClock)}
			require.False(t, seen[k], "duplicate run %v", k)
			seen[k] = true
			require.NotEmpty(t, run.Explanation)
			if r.ValidFrom != nil {
				require.GreaterOrEqual(t, run.BusinessDate, *r.ValidFrom)
			}
			require.NotEqual(t, a+1, run.BusinessDate, "excluded date planned")
		}
		for _, dr := range res.Dropped {
			require.NotEmpty(t, dr.Explanation)
			if dr.Reason != plan.DropNonexistent {
				require.GreaterOrEqual(t, dr.Date, from)
				require.LessOrEqual(t, dr.Date, to)
			}
		}
	})
}
