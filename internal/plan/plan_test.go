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

func TestSalaryWorkedExample(t *testing.T) {
	c := jpCalendar(t)
	payday := jobnet.Rule{Name: "payday", Kind: jobnet.RuleDay, Day: 15, Closed: jobnet.SubstituteBefore, Start: []calendar.ClockTime{ct("09:00")}}
	calc := payday
	calc.Name, calc.Offset = "calc", -2

	tests := []struct {
		name     string
		rule     jobnet.Rule
		from, to string
		want     []string
		explain  string
	}{
		// 2026-08-15 is a Saturday: payday Friday the 14th.
		{"payday", payday, "2026-08-01", "2026-08-31", []string{"2026-08-14"},
			"day 15 of month 2026-08 → 2026-08-15; 2026-08-15 is Saturday (closed) → before → 2026-08-14; start 09:00"},
		// Two open days before the 14th: the 13th, the 12th.
		{"calculation", calc, "2026-08-01", "2026-08-31", []string{"2026-08-12"},
			"day 15 of month 2026-08 → 2026-08-15; 2026-08-15 is Saturday (closed) → before → 2026-08-14; offset −2 open days → 2026-08-12; start 09:00"},
		// DESIGN.md: 2026-03-15 is a Sunday.
		{"design example", calc, "2026-03-01", "2026-03-31", []string{"2026-03-11"},
			"day 15 of month 2026-03 → 2026-03-15; 2026-03-15 is Sunday (closed) → before → 2026-03-13; offset −2 open days → 2026-03-11; start 09:00"},
		// 2026-09-15 is a Tuesday and open; offset −2 crosses nothing.
		{"open payday", calc, "2026-09-01", "2026-09-30", []string{"2026-09-11"},
			"day 15 of month 2026-09 → 2026-09-15; offset −2 open days → 2026-09-11; start 09:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := planRange(t, c, tt.from, tt.to, nil, jn("salary", tt.rule))
			require.Equal(t, tt.want, runDates(res))
			require.Equal(t, tt.explain, res.Runs[0].Explanation)
			require.Equal(t, "acct/salary", res.Runs[0].Jobnet)
			require.Equal(t, tt.rule.Name, res.Runs[0].Rule)
			require.Equal(t, ct("09:00"), res.Runs[0].StartClock)
			y, m, dd := res.Runs[0].BusinessDate.Civil()
			require.Equal(t, time.Date(y, m, dd, 9, 0, 0, 0, tokyo), res.Runs[0].Start)
		})
	}
}

func TestRuleKinds(t *testing.T) {
	c := jpCalendar(t)
	tests := []struct {
		name     string
		rule     jobnet.Rule
		from, to string
		want     []string
		dropped  []string
	}{
		{"day 31 runs anyway, no clamp", jobnet.Rule{Kind: jobnet.RuleDay, Day: 31, Closed: jobnet.SubstituteRun}, "2026-01-01", "2026-06-30",
			[]string{"2026-01-31", "2026-03-31", "2026-05-31"},
			[]string{"month 2026-02 nonexistent", "month 2026-04 nonexistent", "month 2026-06 nonexistent"}},
		{"month end before", jobnet.Rule{Kind: jobnet.RuleMonthEnd, Closed: jobnet.SubstituteBefore}, "2026-01-01", "2026-06-30",
			[]string{"2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30", "2026-05-29", "2026-06-30"}, []string{}},
		{"3 days before month end", jobnet.Rule{Kind: jobnet.RuleMonthEnd, Day: 3, Closed: jobnet.SubstituteAfter}, "2026-01-01", "2026-03-31",
			// Jan 28 Wed; Feb 25 Wed; Mar 28 Sat → Mar 30 Mon.
			[]string{"2026-01-28", "2026-02-25", "2026-03-30"}, []string{}},
		{"month end 30 days back in February", jobnet.Rule{Kind: jobnet.RuleMonthEnd, Day: 30, Closed: jobnet.SubstituteRun}, "2026-02-01", "2026-03-31",
			[]string{"2026-03-01"}, []string{"month 2026-02 nonexistent"}},
		{"1st open day", jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 1}, "2026-01-01", "2026-06-30",
			[]string{"2026-01-05", "2026-02-02", "2026-03-02", "2026-04-01", "2026-05-01", "2026-06-01"}, []string{}},
		{"21st open day: March has 21, February 18", jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 21}, "2026-02-01", "2026-04-30",
			[]string{"2026-03-31", "2026-04-30"}, []string{"month 2026-02 nonexistent"}},
		{"22nd open day of a month with 21", jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 22}, "2026-03-01", "2026-04-30",
			[]string{}, []string{"month 2026-03 nonexistent", "month 2026-04 nonexistent"}},
		{"last open day", jobnet.Rule{Kind: jobnet.RuleOpenDayFromEnd, Day: 1}, "2026-01-01", "2026-06-30",
			[]string{"2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30", "2026-05-29", "2026-06-30"}, []string{}},
		{"3rd open day from the end", jobnet.Rule{Kind: jobnet.RuleOpenDayFromEnd, Day: 3}, "2026-04-01", "2026-05-31",
			// April: 30 Thu, 28 Tue (29 Showa Day), 27 Mon. May: 29, 28, 27.
			[]string{"2026-04-27", "2026-05-27"}, []string{}},
		{"1st open day of the week", jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 1, Period: jobnet.PeriodWeek}, "2026-05-01", "2026-05-17",
			[]string{"2026-05-07", "2026-05-11"}, []string{}},
		{"last open day of the week", jobnet.Rule{Kind: jobnet.RuleOpenDayFromEnd, Day: 1, Period: jobnet.PeriodWeek}, "2026-07-13", "2026-07-26",
			[]string{"2026-07-17", "2026-07-24"}, []string{}},
		{"5th open day of a Golden Week week", jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 5, Period: jobnet.PeriodWeek}, "2026-05-04", "2026-05-17",
			[]string{"2026-05-15"}, []string{"the week 2026-05-04..2026-05-10 nonexistent"}},
		{"first and last open day of the year", jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 1, Period: jobnet.PeriodYear}, "2026-01-01", "2027-12-31",
			[]string{"2026-01-05", "2027-01-04"}, []string{}},
		{"last open day of the year", jobnet.Rule{Kind: jobnet.RuleOpenDayFromEnd, Day: 1, Period: jobnet.PeriodYear}, "2026-01-01", "2026-12-31",
			[]string{"2026-12-30"}, []string{}},
		{"2nd Tuesday", jobnet.Rule{Kind: jobnet.RuleWeekdayOfMonth, Nth: 2, Weekday: wd(time.Tuesday)}, "2026-01-01", "2026-06-30",
			[]string{"2026-01-13", "2026-02-10", "2026-03-10", "2026-04-14", "2026-05-12", "2026-06-09"}, []string{}},
		{"last Friday", jobnet.Rule{Kind: jobnet.RuleWeekdayOfMonth, Nth: -1, Weekday: wd(time.Friday)}, "2026-01-01", "2026-06-30",
			[]string{"2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24", "2026-05-29", "2026-06-26"}, []string{}},
		{"5th Friday", jobnet.Rule{Kind: jobnet.RuleWeekdayOfMonth, Nth: 5, Weekday: wd(time.Friday)}, "2026-01-01", "2026-06-30",
			[]string{"2026-01-30", "2026-05-29"},
			[]string{"month 2026-02 nonexistent", "month 2026-03 nonexistent", "month 2026-04 nonexistent", "month 2026-06 nonexistent"}},
		{"2nd Monday is a holiday", jobnet.Rule{Kind: jobnet.RuleWeekdayOfMonth, Nth: 2, Weekday: wd(time.Monday), Closed: jobnet.SubstituteAfter}, "2026-01-01", "2026-01-31",
			[]string{"2026-01-13"}, []string{}},
		{"every 2 weeks", jobnet.Rule{Kind: jobnet.RuleEvery, Every: 2, Unit: jobnet.EveryWeeks, Anchor: dp("2026-01-05")}, "2026-01-01", "2026-02-28",
			[]string{"2026-01-05", "2026-01-19", "2026-02-02", "2026-02-16"}, []string{}},
		{"every 10 days, closed skipped", jobnet.Rule{Kind: jobnet.RuleEvery, Every: 10, Unit: jobnet.EveryDays, Anchor: dp("2026-01-01")}, "2026-01-01", "2026-02-28",
			[]string{"2026-01-21", "2026-02-10", "2026-02-20"},
			[]string{"2026-01-01 closed_skipped", "2026-01-11 closed_skipped", "2026-01-31 closed_skipped"}},
		{"every 10 days, anchor before range", jobnet.Rule{Kind: jobnet.RuleEvery, Every: 10, Unit: jobnet.EveryDays, Anchor: dp("2025-12-02")}, "2026-02-01", "2026-02-28",
			// 2025-12-02 + 60 = 2026-01-31; +70 = 02-10, +80 = 02-20.
			[]string{"2026-02-10", "2026-02-20"}, []string{}},
		{"every month from the 31st: no clamp", jobnet.Rule{Kind: jobnet.RuleEvery, Every: 1, Unit: jobnet.EveryMonths, Anchor: dp("2026-01-31"), Closed: jobnet.SubstituteAfter}, "2026-01-01", "2026-04-30",
			[]string{"2026-02-02", "2026-03-31"}, []string{"2026-02 nonexistent", "2026-04 nonexistent"}},
		{"every 3 months", jobnet.Rule{Kind: jobnet.RuleEvery, Every: 3, Unit: jobnet.EveryMonths, Anchor: dp("2025-11-10")}, "2026-01-01", "2026-12-31",
			[]string{"2026-02-10", "2026-08-10", "2026-11-10"}, []string{"2026-05-10 closed_skipped"}},
		{"listed dates", jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-05-01"), d("2026-05-03"), d("2026-07-01")}}, "2026-05-01", "2026-05-31",
			[]string{"2026-05-01"}, []string{"2026-05-03 closed_skipped"}},
		{"every open day through Golden Week", jobnet.Rule{Kind: jobnet.RuleDaily}, "2026-05-01", "2026-05-10",
			[]string{"2026-05-01", "2026-05-07", "2026-05-08"},
			[]string{"2026-05-02 closed_skipped", "2026-05-03 closed_skipped", "2026-05-04 closed_skipped", "2026-05-05 closed_skipped", "2026-05-06 closed_skipped", "2026-05-09 closed_skipped", "2026-05-10 closed_skipped"}},
		{"every day, closed days too", jobnet.Rule{Kind: jobnet.RuleDaily, Closed: jobnet.SubstituteRun}, "2026-05-01", "2026-05-03",
			[]string{"2026-05-01", "2026-05-02", "2026-05-03"}, []string{}},
		{"Mondays and Wednesdays", jobnet.Rule{Kind: jobnet.RuleWeekdays, Weekdays: []calendar.Weekday{1, 3}}, "2026-07-13", "2026-07-26",
			[]string{"2026-07-13", "2026-07-15", "2026-07-22"}, []string{"2026-07-20 closed_skipped"}},
		{"Mondays, holiday moved after", jobnet.Rule{Kind: jobnet.RuleWeekdays, Weekdays: []calendar.Weekday{1}, Closed: jobnet.SubstituteAfter}, "2026-09-14", "2026-09-30",
			// 09-21, 22, 23 are holidays: Monday 21 → Thursday 24.
			[]string{"2026-09-14", "2026-09-24", "2026-09-28"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := planRange(t, c, tt.from, tt.to, nil, jn("kinds", tt.rule))
			require.Equal(t, tt.want, runDates(res))
			require.Equal(t, tt.dropped, dropList(res))
			for _, r := range res.Runs {
				require.NotEmpty(t, r.Explanation)
				require.Equal(t, plan.StepCandidate, r.Steps[0].Kind)
				require.Equal(t, r.BusinessDate, r.Steps[len(r.Steps)-1].To)
			}
		})
	}
}

func TestSubstitution(t *testing.T) {
	c := jpCalendar(t)
	rule := func(day int, closed jobnet.Substitution, maxShift int) jobnet.Rule {
		return jobnet.Rule{Kind: jobnet.RuleDay, Day: day, Closed: closed, MaxShift: maxShift}
	}
	tests := []struct {
		name     string
		rule     jobnet.Rule
		from, to string
		want     []string
		dropped  []string
		explain  string
	}{
		{"before", rule(15, jobnet.SubstituteBefore, 0), "2026-08-01", "2026-08-31", []string{"2026-08-14"}, []string{}, ""},
		{"after", rule(15, jobnet.SubstituteAfter, 0), "2026-08-01", "2026-08-31", []string{"2026-08-17"}, []string{},
			"day 15 of month 2026-08 → 2026-08-15; 2026-08-15 is Saturday (closed) → after → 2026-08-17; start 00:00 (base time)"},
		{"skip", rule(15, jobnet.SubstituteSkip, 0), "2026-08-01", "2026-08-31", []string{}, []string{"2026-08-15 closed_skipped"}, ""},
		{"default is skip", rule(15, "", 0), "2026-08-01", "2026-08-31", []string{}, []string{"2026-08-15 closed_skipped"}, ""},
		{"run", rule(15, jobnet.SubstituteRun, 0), "2026-08-01", "2026-08-31", []string{"2026-08-15"}, []string{},
			"day 15 of month 2026-08 → 2026-08-15; 2026-08-15 is Saturday (closed) → run anyway; start 00:00 (base time)"},
		{"holiday reason", rule(11, jobnet.SubstituteBefore, 0), "2026-08-01", "2026-08-31", []string{"2026-08-10"}, []string{},
			"day 11 of month 2026-08 → 2026-08-11; 2026-08-11 is Tuesday (closed: Mountain Day (jp)) → before → 2026-08-10; start 00:00 (base time)"},
		// Golden Week: 05-03 Sun, 04, 05, 06 holidays; 07 is open.
		{"max shift exhausted", rule(3, jobnet.SubstituteAfter, 3), "2026-05-01", "2026-05-31", []string{}, []string{"2026-05-03 max_shift_exceeded"},
			""},
		{"max shift just enough", rule(3, jobnet.SubstituteAfter, 4), "2026-05-01", "2026-05-31", []string{"2026-05-07"}, []string{}, ""},
		// 2027-01-01 is a holiday, 12-31 a company closure, 12-30 open.
		{"before crosses the year", rule(1, jobnet.SubstituteBefore, 2), "2026-12-01", "2027-01-31", []string{"2026-12-01", "2026-12-30"}, []string{}, ""},
		{"before, max shift 1", rule(1, jobnet.SubstituteBefore, 1), "2026-12-01", "2027-01-31", []string{"2026-12-01"}, []string{"2027-01-01 max_shift_exceeded"}, ""},
		// A substitution that leaves the range is not planned; one that enters it is.
		{"shift into the range", rule(1, jobnet.SubstituteBefore, 0), "2026-12-30", "2026-12-30", []string{"2026-12-30"}, []string{}, ""},
		{"shift out of the range", rule(1, jobnet.SubstituteBefore, 0), "2027-01-01", "2027-01-31", []string{}, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := planRange(t, c, tt.from, tt.to, nil, jn("subst", tt.rule))
			require.Equal(t, tt.want, runDates(res))
			require.Equal(t, tt.dropped, dropList(res))
			if tt.explain != "" {
				require.Equal(t, tt.explain, res.Runs[0].Explanation)
			}
		})
	}

	t.Run("max shift explanation", func(t *testing.T) {
		res := planRange(t, c, "2026-05-01", "2026-05-31", nil, jn("subst", rule(3, jobnet.SubstituteAfter, 3)))
		require.Equal(t, "day 3 of month 2026-05 → 2026-05-03; 2026-05-03 is Sunday (closed: Constitution Memorial Day (jp)) → after: no open day within 3 days (max shift)",
			res.Dropped[0].Explanation)
	})
}

func TestOffset(t *testing.T) {
	c := jpCalendar(t)
	tests := []struct {
		name    string
		rule    jobnet.Rule
		want    []string
		explain string
	}{
		// Friday 07-17 before Marine Day (Monday 07-20): +1 is Tuesday.
		{"+1 over a Monday holiday", jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-07-17")}, Offset: 1}, []string{"2026-07-21"},
			"listed date → 2026-07-17; offset +1 open day → 2026-07-21; start 00:00 (base time)"},
		{"−1 over Golden Week", jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-05-07")}, Offset: -1}, []string{"2026-05-01"}, ""},
		{"+3 from a closed day run anyway", jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-05-03")}, Closed: jobnet.SubstituteRun, Offset: 3}, []string{"2026-05-11"}, ""},
		{"−1 from a closed day run anyway", jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-05-03")}, Closed: jobnet.SubstituteRun, Offset: -1}, []string{"2026-05-01"}, ""},
		{"after then +1", jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-05-03")}, Closed: jobnet.SubstituteAfter, Offset: 1}, []string{"2026-05-08"}, ""},
		{"open day offset", jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 1, Offset: -1}, []string{"2026-04-30", "2026-05-29"},
			"open day 1 of month 2026-05 → 2026-05-01; offset −1 open day → 2026-04-30; start 00:00 (base time)"},
		{"end of year offset crosses closure", jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-12-30")}, Offset: 1}, []string{"2027-01-04"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := planRange(t, c, "2026-04-01", "2027-01-31", nil, jn("offset", tt.rule))
			if tt.rule.Kind == jobnet.RuleOpenDay {
				res = planRange(t, c, "2026-04-30", "2026-05-31", nil, jn("offset", tt.rule))
			}
			require.Equal(t, tt.want, runDates(res))
			if tt.explain != "" {
				require.Equal(t, tt.explain, res.Runs[0].Explanation)
			}
		})
	}
}

func TestBaseDay21(t *testing.T) {
	tests := []struct {
		name    string
		naming  calendar.MonthNaming
		rule    jobnet.Rule
		want    []string
		dropped []string
		explain string
	}{
		{"day 10, named by start", calendar.MonthNamingStart, jobnet.Rule{Kind: jobnet.RuleDay, Day: 10}, []string{"2026-04-30"}, []string{},
			"day 10 of business month 2026-04 (starts 04-21, named by its start month) → 2026-04-30; start 00:00 (base time)"},
		{"day 10, named by end", calendar.MonthNamingEnd, jobnet.Rule{Kind: jobnet.RuleDay, Day: 10}, []string{"2026-04-30"}, []string{},
			"day 10 of business month 2026-05 (starts 04-21, named by its end month) → 2026-04-30; start 00:00 (base time)"},
		// 03-21..04-20 has 31 days; 04-21..05-20 has 30.
		{"day 31", calendar.MonthNamingEnd, jobnet.Rule{Kind: jobnet.RuleDay, Day: 31}, []string{"2026-04-20"},
			[]string{"business month 2026-05 (starts 04-21, named by its end month) nonexistent"},
			"day 31 of business month 2026-04 (starts 03-21, named by its end month) → 2026-04-20; start 00:00 (base time)"},
		{"month end is the 20th", calendar.MonthNamingStart, jobnet.Rule{Kind: jobnet.RuleMonthEnd, Closed: jobnet.SubstituteBefore}, []string{"2026-04-20"}, []string{},
			"last day of business month 2026-03 (starts 03-21, named by its start month) → 2026-04-20; start 00:00 (base time)"},
		// Open days from 04-21: 21, 22, 23, 24, 27, 28, (29 Showa Day), 30.
		{"7th open day", calendar.MonthNamingStart, jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 7}, []string{"2026-04-30"}, []string{}, ""},
		{"last open day is before the 21st", calendar.MonthNamingStart, jobnet.Rule{Kind: jobnet.RuleOpenDayFromEnd, Day: 1}, []string{"2026-04-20"}, []string{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := jpCalendar(t, baseDay(21, tt.naming))
			res := planRange(t, c, "2026-04-01", "2026-04-30", nil, jn("close", tt.rule))
			require.Equal(t, tt.want, runDates(res))
			require.Equal(t, tt.dropped, dropList(res))
			if tt.explain != "" {
				require.Equal(t, tt.explain, res.Runs[0].Explanation)
			}
		})
	}
}

func TestStartTimes(t *testing.T) {
	c := jpCalendar(t, baseTime(5*time.Hour))
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, tokyo)
		require.NoError(t, err)
		return v
	}
	t.Run("25:30 is the next calendar day", func(t *testing.T) {
		res := planRange(t, c, "2026-08-14", "2026-08-14", nil, jn("night", jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("25:30"), ct("05:00")}}))
		require.Len(t, res.Runs, 2)
		require.Equal(t, at("2026-08-14 05:00"), res.Runs[0].Start)
		require.Equal(t, at("2026-08-15 01:30"), res.Runs[1].Start)
		require.Equal(t, d("2026-08-14"), res.Runs[1].BusinessDate)
		require.Equal(t, d("2026-08-14"), c.BusinessDate(res.Runs[1].Start))
	})
	t.Run("default is the base time", func(t *testing.T) {
		res := planRange(t, c, "2026-08-14", "2026-08-14", nil, jn("night", jobnet.Rule{Kind: jobnet.RuleDaily}))
		require.Equal(t, at("2026-08-14 05:00"), res.Runs[0].Start)
	})
	t.Run("repeat until", func(t *testing.T) {
		rule := jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("09:00")},
			Repeat: &jobnet.Repeat{Every: jobnet.Duration(2 * time.Hour), Until: ct("15:00")}}
		res := planRange(t, c, "2026-08-13", "2026-08-14", nil, jn("poll", rule))
		var got []string
		for _, r := range res.Runs {
			got = append(got, r.BusinessDate.String()+" "+r.StartClock.String())
		}
		require.Equal(t, []string{"2026-08-13 09:00", "2026-08-13 11:00", "2026-08-13 13:00", "2026-08-13 15:00",
			"2026-08-14 09:00", "2026-08-14 11:00", "2026-08-14 13:00", "2026-08-14 15:00"}, got)
		require.Contains(t, res.Runs[0].Explanation, "start 09:00, repeated every "+rule.Repeat.Every.String()+" until 15:00")
		rule.Repeat.Until = ct("14:59")
		res = planRange(t, c, "2026-08-13", "2026-08-13", nil, jn("poll", rule))
		require.Len(t, res.Runs, 3)
	})
	t.Run("repeat across midnight", func(t *testing.T) {
		rule := jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-08-14")}, Start: []calendar.ClockTime{ct("23:00")},
			Repeat: &jobnet.Repeat{Every: jobnet.Duration(90 * time.Minute), Until: ct("26:00")}}
		res := planRange(t, c, "2026-08-14", "2026-08-14", nil, jn("poll", rule))
		require.Len(t, res.Runs, 3)
		require.Equal(t, at("2026-08-15 02:00"), res.Runs[2].Start)
	})
	t.Run("outside the business day", func(t *testing.T) {
		for _, bad := range []string{"04:59", "29:00", "47:59"} {
			p, err := plan.NewPlanner(plan.Params{Calendar: c, From: d("2026-08-01"), To: d("2026-08-31")})
			require.NoError(t, err)
			_, err = p.Plan(jn("night", jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("06:00"), ct(bad)}}))
			require.ErrorIs(t, err, fault.ErrInvalid, bad)
			ps, ok := fault.AsProblems(err)
			require.True(t, ok)
			require.Equal(t, "schedule[0].start[1]", ps[0].Path)
		}
		ps := plan.ValidateOn(c, []jobnet.Rule{{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("28:59")}}})
		require.Empty(t, ps)
		ps = plan.ValidateOn(c, []jobnet.Rule{{Kind: jobnet.RuleDaily, Repeat: &jobnet.Repeat{Every: jobnet.Duration(time.Hour), Until: ct("30:00")}}})
		require.Len(t, ps, 1)
		require.Equal(t, "schedule[0].repeat.until", ps[0].Path)
	})
}

func TestExclusionsAndValidity(t *testing.T) {
	c := jpCalendar(t)
	other := jn("closing", jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-06-02")}})
	otherRes := planRange(t, c, "2026-06-01", "2026-06-30", nil, other)
	resolver := plan.RunsResolver(map[string][]plan.Run{other.Path(): otherRes.Runs})

	rule := jobnet.Rule{Kind: jobnet.RuleDaily, Exclude: []calendar.Date{d("2026-06-03")}, ExclusiveWith: []string{"closing"},
		ValidFrom: dp("2026-06-02"), ValidTo: dp("2026-06-04")}
	res := planRange(t, c, "2026-06-01", "2026-06-05", resolver, jn("batch", rule))
	require.Equal(t, []string{"2026-06-04"}, runDates(res))
	require.Equal(t, []string{"2026-06-01 outside_validity", "2026-06-02 exclusive_with", "2026-06-03 excluded", "2026-06-05 outside_validity"}, dropList(res))
	require.Equal(t, "every day → 2026-06-02; exclusive with acct/closing, planned on 2026-06-02", res.Dropped[1].Explanation)
	require.Equal(t, "every day → 2026-06-01; 2026-06-01 is outside the validity period 2026-06-02..2026-06-04", res.Dropped[0].Explanation)

	// Exclusions apply to the date after offset.
	shifted := jobnet.Rule{Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-06-02")}, Offset: 1, Exclude: []calendar.Date{d("2026-06-02")}}
	res = planRange(t, c, "2026-06-01", "2026-06-05", nil, jn("batch", shifted))
	require.Equal(t, []string{"2026-06-03"}, runDates(res))

	t.Run("no resolver", func(t *testing.T) {
		p, err := plan.NewPlanner(plan.Params{Calendar: c, From: d("2026-06-01"), To: d("2026-06-05")})
		require.NoError(t, err)
		_, err = p.Plan(jn("batch", rule))
		require.ErrorContains(t, err, `exclusive_with "acct/closing"`)
	})
	t.Run("unknown jobnet", func(t *testing.T) {
		p, err := plan.NewPlanner(plan.Params{Calendar: c, From: d("2026-06-01"), To: d("2026-06-05"), Resolver: plan.RunsResolver(nil)})
		require.NoError(t, err)
		_, err = p.Plan(jn("batch", rule))
		require.ErrorIs(t, err, fault.ErrNotFound)
	})
}

func TestDuplicatesCollapse(t *testing.T) {
	c := jpCalendar(t)
	res := planRange(t, c, "2026-08-01", "2026-08-31", nil, jn("pay",
		jobnet.Rule{Name: "payday", Kind: jobnet.RuleDay, Day: 15, Closed: jobnet.SubstituteBefore},
		jobnet.Rule{Name: "fridays", Kind: jobnet.RuleWeekdays, Weekdays: []calendar.Weekday{5}},
	))
	require.Equal(t, []string{"2026-08-07", "2026-08-14", "2026-08-21", "2026-08-28"}, runDates(res))
	require.Equal(t, "payday", res.Runs[1].Rule)
	require.Equal(t, "day 15 of month 2026-08 → 2026-08-15; 2026-08-15 is Saturday (closed) → before → 2026-08-14; start 00:00 (base time); also planned by rule fridays from 2026-08-14",
		res.Runs[1].Explanation)
	require.Equal(t, plan.StepDuplicate, res.Runs[1].Steps[len(res.Runs[1].Steps)-1].Kind)
	require.Equal(t, "fridays", res.Runs[0].Rule)

	// Within one rule: every day moved before collapses onto the Friday.
	res = planRange(t, c, "2026-07-13", "2026-07-21", nil, jn("daily", jobnet.Rule{Kind: jobnet.RuleDaily, Closed: jobnet.SubstituteBefore}))
	require.Equal(t, []string{"2026-07-13", "2026-07-14", "2026-07-15", "2026-07-16", "2026-07-17", "2026-07-21"}, runDates(res))
	require.Contains(t, res.Runs[4].Explanation, "also planned by rule rule1 from 2026-07-18; also planned by rule rule1 from 2026-07-19; also planned by rule rule1 from 2026-07-20")

	// Different start times do not collapse.
	res = planRange(t, c, "2026-08-14", "2026-08-14", nil, jn("two",
		jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("09:00")}},
		jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("10:00")}},
	))
	require.Len(t, res.Runs, 2)
}

func TestDST(t *testing.T) {
	tests := []struct {
		zone  string
		date  string
		start string
		want  string // UTC
	}{
		// New York springs forward at 02:00 on 2026-03-08: 02:30 does not exist.
		{"America/New_York", "2026-03-08", "02:30", "2026-03-08T07:00:00Z"},
		{"America/New_York", "2026-03-08", "03:30", "2026-03-08T07:30:00Z"},
		// and falls back at 02:00 on 2026-11-01: 01:30 happens twice.
		{"America/New_York", "2026-11-01", "01:30", "2026-11-01T05:30:00Z"},
		{"America/New_York", "2026-11-01", "02:30", "2026-11-01T07:30:00Z"},
		// London springs forward at 01:00 on 2026-03-29, falls back at 02:00 on 2026-10-25.
		{"Europe/London", "2026-03-29", "01:30", "2026-03-29T01:00:00Z"},
		{"Europe/London", "2026-10-25", "01:30", "2026-10-25T00:30:00Z"},
		// With base time 05:00, 25:30 of the 24th is 01:30 on the 25th.
		{"Europe/London", "2026-10-24", "25:30", "2026-10-25T00:30:00Z"},
		{"Europe/London", "2026-03-28", "25:30", "2026-03-29T01:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.zone+" "+tt.date+" "+tt.start, func(t *testing.T) {
			params := calendar.Params{Name: "dst", Location: mustZone(tt.zone)}
			if ct(tt.start) >= 24*60 {
				params.BaseTime = 5 * time.Hour
			}
			c, err := calendar.New(params)
			require.NoError(t, err)
			res := planRange(t, c, tt.date, tt.date, nil, jn("dst", jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct(tt.start)}}))
			require.Len(t, res.Runs, 1)
			require.Equal(t, tt.want, res.Runs[0].Start.UTC().Format(time.RFC3339))
		})
	}
}

func TestPlannerParams(t *testing.T) {
	c := jpCalendar(t)
	_, err := plan.NewPlanner(plan.Params{Calendar: c, From: d("2026-02-01"), To: d("2026-01-01")})
	require.ErrorIs(t, err, fault.ErrInvalid)
	_, err = plan.NewPlanner(plan.Params{From: d("2026-01-01"), To: d("2026-01-01")})
	require.ErrorIs(t, err, fault.ErrInvalid)
	_, err = plan.NewPlanner(plan.Params{Calendar: c, From: d("2026-01-01"), To: d("2046-01-01")})
	require.ErrorIs(t, err, fault.ErrInvalid)
	p, err := plan.NewPlanner(plan.Params{Calendar: c, From: d("2026-01-01"), To: d("2026-12-31")})
	require.NoError(t, err)
	_, err = p.Plan(jn("bad", jobnet.Rule{Kind: jobnet.RuleDay, Day: 32}))
	ps, ok := fault.AsProblems(err)
	require.True(t, ok)
	require.Equal(t, "schedule[0].day", ps[0].Path)
}

// TestDSTExplainedAndCollapsed: a start in the spring-forward gap says so,
// one in the fall-back overlap says which occurrence runs, and repeats that
// land on the same instant collapse into one run with the reason.
func TestDSTExplainedAndCollapsed(t *testing.T) {
	c, err := calendar.New(calendar.Params{Name: "ny", Location: mustZone("America/New_York")})
	require.NoError(t, err)
	res := planRange(t, c, "2026-03-08", "2026-03-08", nil, jn("dst", jobnet.Rule{Name: "half-hourly", Kind: jobnet.RuleDaily,
		Start: []calendar.ClockTime{ct("01:00")}, Repeat: &jobnet.Repeat{Every: jobnet.Duration(30 * time.Minute), Until: ct("03:30")}}))
	var got []string
	for _, r := range res.Runs {
		got = append(got, r.StartClock.String()+" "+r.Start.Format("15:04 MST"))
	}
	require.Equal(t, []string{"01:00 01:00 EST", "01:30 01:30 EST", "02:00 03:00 EDT", "03:30 03:30 EDT"}, got)
	require.Equal(t, "every day → 2026-03-08; start 01:00, repeated every 30m until 03:30"+
		"; 02:00 does not exist on 2026-03-08 in America/New_York → 03:00 EDT"+
		"; 02:30 (rule half-hourly) starts at the same instant 03:00 EDT: one run"+
		"; 03:00 (rule half-hourly) starts at the same instant 03:00 EDT: one run", res.Runs[2].Explanation)
	kinds := []plan.StepKind{}
	for _, s := range res.Runs[2].Steps {
		kinds = append(kinds, s.Kind)
	}
	require.Equal(t, []plan.StepKind{plan.StepCandidate, plan.StepDST, plan.StepSameInstant, plan.StepSameInstant}, kinds)
	require.Equal(t, "every day → 2026-03-08; start 01:00, repeated every 30m until 03:30", res.Runs[0].Explanation, "an ordinary start says nothing of DST")

	res = planRange(t, c, "2026-11-01", "2026-11-01", nil, jn("dst", jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{ct("01:30")}}))
	require.Len(t, res.Runs, 1)
	require.Equal(t, "every day → 2026-11-01; start 01:30; 01:30 occurs twice on 2026-11-01 in America/New_York → the first, 01:30 EDT (not 01:30 EST)", res.Runs[0].Explanation)
}
