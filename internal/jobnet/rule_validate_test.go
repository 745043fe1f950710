package jobnet_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func TestValidateRule(t *testing.T) {
	mon := calendar.Weekday(time.Monday)
	bad := calendar.Weekday(9)
	anchor := calendar.MustParseDate("2026-01-05")
	from, to := calendar.MustParseDate("2026-06-01"), calendar.MustParseDate("2026-05-31")
	tests := []struct {
		name  string
		rule  jobnet.Rule
		paths []string
	}{
		{"day ok", jobnet.Rule{Kind: jobnet.RuleDay, Day: 31}, nil},
		{"day 0", jobnet.Rule{Kind: jobnet.RuleDay}, []string{"day"}},
		{"day 32", jobnet.Rule{Kind: jobnet.RuleDay, Day: 32}, []string{"day"}},
		{"month end 0", jobnet.Rule{Kind: jobnet.RuleMonthEnd}, nil},
		{"month end 31", jobnet.Rule{Kind: jobnet.RuleMonthEnd, Day: 31}, []string{"day"}},
		{"month end negative", jobnet.Rule{Kind: jobnet.RuleMonthEnd, Day: -1}, []string{"day"}},
		{"open day 0", jobnet.Rule{Kind: jobnet.RuleOpenDay}, []string{"day"}},
		{"open day week 8", jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 8, Period: jobnet.PeriodWeek}, []string{"day"}},
		{"open day year 200", jobnet.Rule{Kind: jobnet.RuleOpenDayFromEnd, Day: 200, Period: jobnet.PeriodYear}, nil},
		{"open day bad period", jobnet.Rule{Kind: jobnet.RuleOpenDay, Day: 1, Period: "quarter"}, []string{"period"}},
		{"period on day rule", jobnet.Rule{Kind: jobnet.RuleDay, Day: 1, Period: jobnet.PeriodWeek}, []string{"period"}},
		{"last monday", jobnet.Rule{Kind: jobnet.RuleWeekdayOfMonth, Nth: -1, Weekday: &mon}, nil},
		{"6th monday", jobnet.Rule{Kind: jobnet.RuleWeekdayOfMonth, Nth: 6, Weekday: &mon}, []string{"nth"}},
		{"0th, no weekday", jobnet.Rule{Kind: jobnet.RuleWeekdayOfMonth}, []string{"nth", "weekday"}},
		{"bad weekday", jobnet.Rule{Kind: jobnet.RuleWeekdayOfMonth, Nth: 1, Weekday: &bad}, []string{"weekday"}},
		{"every ok", jobnet.Rule{Kind: jobnet.RuleEvery, Every: 2, Unit: jobnet.EveryWeeks, Anchor: &anchor}, nil},
		{"every nothing", jobnet.Rule{Kind: jobnet.RuleEvery}, []string{"anchor", "every", "unit"}},
		{"every bad unit", jobnet.Rule{Kind: jobnet.RuleEvery, Every: 1, Unit: "decades", Anchor: &anchor}, []string{"unit"}},
		{"every years", jobnet.Rule{Kind: jobnet.RuleEvery, Every: 2, Unit: jobnet.EveryYears, Anchor: &anchor}, nil},
		{"dates empty", jobnet.Rule{Kind: jobnet.RuleDates}, []string{"dates"}},
		{"weekdays empty", jobnet.Rule{Kind: jobnet.RuleWeekdays}, []string{"weekdays"}},
		{"weekdays bad", jobnet.Rule{Kind: jobnet.RuleWeekdays, Weekdays: []calendar.Weekday{1, 7}}, []string{"weekdays[1]"}},
		{"no kind", jobnet.Rule{}, []string{"kind"}},
		{"unknown kind", jobnet.Rule{Kind: "hourly"}, []string{"kind"}},
		{"closed bad", jobnet.Rule{Kind: jobnet.RuleDaily, Closed: "nearest"}, []string{"closed"}},
		{"max shift", jobnet.Rule{Kind: jobnet.RuleDaily, MaxShift: 367}, []string{"max_shift"}},
		{"max shift 366", jobnet.Rule{Kind: jobnet.RuleDaily, MaxShift: 366}, nil},
		{"offset", jobnet.Rule{Kind: jobnet.RuleDaily, Offset: -1001}, []string{"offset"}},
		{"offset beyond a month", jobnet.Rule{Kind: jobnet.RuleDaily, Offset: -45}, nil},
		{"offset 31", jobnet.Rule{Kind: jobnet.RuleDaily, Offset: 31}, nil},
		{"start range", jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{60, calendar.MaxClockTime + 1}}, []string{"start[1]"}},
		{"repeat too often", jobnet.Rule{Kind: jobnet.RuleDaily, Repeat: &jobnet.Repeat{Every: jobnet.Duration(30 * time.Second), Until: 600}}, []string{"repeat.every"}},
		{"repeat not whole minutes", jobnet.Rule{Kind: jobnet.RuleDaily, Repeat: &jobnet.Repeat{Every: jobnet.Duration(90 * time.Second), Until: 600}}, []string{"repeat.every"}},
		{"repeat until before start", jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{600, 540},
			Repeat: &jobnet.Repeat{Every: jobnet.Duration(time.Minute), Until: 500}}, []string{"repeat.until"}},
		{"repeat until at first start", jobnet.Rule{Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{600, 540},
			Repeat: &jobnet.Repeat{Every: jobnet.Duration(time.Minute), Until: 540}}, nil},
		{"validity reversed", jobnet.Rule{Kind: jobnet.RuleDaily, ValidFrom: &from, ValidTo: &to}, []string{"valid_to"}},
		{"empty exclusive", jobnet.Rule{Kind: jobnet.RuleDaily, ExclusiveWith: []string{"a", ""}}, []string{"exclusive_with[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, p := range jobnet.ValidateRule(tt.rule).Sorted() {
				got = append(got, p.Path)
			}
			require.Equal(t, tt.paths, got)
		})
	}
}

func TestValidateRules(t *testing.T) {
	ok := jobnet.Rule{Kind: jobnet.RuleDaily}
	ps := jobnet.ValidateRules([]jobnet.Rule{ok, {Name: "rule1", Kind: jobnet.RuleDaily}, {Kind: jobnet.RuleDay, Day: 40}, {Name: "x", Kind: jobnet.RuleDaily}, {Name: "x", Kind: jobnet.RuleDaily}})
	require.Equal(t, []string{
		`schedule[1].name: duplicate rule name "rule1" (also schedule[0])`,
		`schedule[2].day: 40: must be 1-31`,
		`schedule[4].name: duplicate rule name "x" (also schedule[3])`,
	}, ruleProblemStrings(ps))
	require.ErrorIs(t, ps.Err(), fault.ErrInvalid)

	many := make([]jobnet.Rule, jobnet.MaxRules+1)
	for i := range many {
		many[i] = ok
	}
	require.Equal(t, []string{"schedule: 145 rules: at most 144 are allowed"}, ruleProblemStrings(jobnet.ValidateRules(many)))
	require.Empty(t, jobnet.ValidateRules(many[:jobnet.MaxRules]))
	require.Equal(t, "rule3", jobnet.EffectiveRuleName(ok, 2))
}

func ruleProblemStrings(ps fault.Problems) []string {
	out := []string{}
	for _, p := range ps.Sorted() {
		out = append(out, p.String())
	}
	return out
}
