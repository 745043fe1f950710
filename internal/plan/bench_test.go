package plan_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
)

// benchJobnets returns n jobnets cycling through ten typical schedules.
func benchJobnets(n int) []*jobnet.Jobnet {
	anchor := d("2026-01-05")
	st := func(s ...string) []calendar.ClockTime {
		out := make([]calendar.ClockTime, len(s))
		for i, v := range s {
			out[i] = ct(v)
		}
		return out
	}
	templates := [][]jobnet.Rule{
		{{Name: "payday", Kind: jobnet.RuleDay, Day: 15, Closed: jobnet.SubstituteBefore, Start: st("09:00")},
			{Name: "calc", Kind: jobnet.RuleDay, Day: 15, Closed: jobnet.SubstituteBefore, Offset: -2, Start: st("21:00")}},
		{{Kind: jobnet.RuleDaily, Start: st("25:30")}},
		{{Kind: jobnet.RuleMonthEnd, Closed: jobnet.SubstituteBefore, Start: st("20:00")}},
		{{Kind: jobnet.RuleOpenDay, Day: 3, Start: st("08:00")}, {Kind: jobnet.RuleOpenDayFromEnd, Day: 1, Start: st("19:00")}},
		{{Kind: jobnet.RuleWeekdays, Weekdays: []calendar.Weekday{1, 3, 5}, Closed: jobnet.SubstituteAfter, Start: st("07:00")}},
		{{Kind: jobnet.RuleWeekdayOfMonth, Nth: 2, Weekday: wd(time.Tuesday), Offset: 1, Start: st("22:00")}},
		{{Kind: jobnet.RuleEvery, Every: 2, Unit: jobnet.EveryWeeks, Anchor: &anchor, Closed: jobnet.SubstituteAfter, Start: st("06:00", "18:00")}},
		{{Kind: jobnet.RuleOpenDay, Day: 1, Period: jobnet.PeriodWeek, Start: st("06:30")}},
		{{Kind: jobnet.RuleDaily, Closed: jobnet.SubstituteSkip, Start: st("06:00"),
			Repeat: &jobnet.Repeat{Every: jobnet.Duration(4 * time.Hour), Until: ct("22:00")}}},
		{{Kind: jobnet.RuleDay, Day: 31, Closed: jobnet.SubstituteRun}, {Kind: jobnet.RuleDates, Dates: []calendar.Date{d("2026-03-31"), d("2026-09-30")}, Offset: 1},
			{Kind: jobnet.RuleEvery, Every: 1, Unit: jobnet.EveryMonths, Anchor: &anchor, Closed: jobnet.SubstituteBefore, ValidTo: dp("2026-10-31")}},
	}
	out := make([]*jobnet.Jobnet, n)
	for i := range out {
		out[i] = &jobnet.Jobnet{Folder: fmt.Sprintf("f%d", i%50), Name: fmt.Sprintf("jn%05d", i), Rules: templates[i%len(templates)]}
	}
	return out
}

// BenchmarkPlanYear10k plans 2026 for 10,000 jobnets on one shared
// calendar; one op is the whole set, including building the Planner.
func BenchmarkPlanYear10k(b *testing.B) {
	c := jpCalendar(b, baseTime(5*time.Hour))
	jobnets := benchJobnets(10000)
	runs := 0
	for b.Loop() {
		p, err := plan.NewPlanner(plan.Params{Calendar: c, From: d("2026-01-01"), To: d("2026-12-31")})
		if err != nil {
			b.Fatal(err)
		}
		runs = 0
		for _, j := range jobnets {
			res, err := p.Plan(j)
			if err != nil {
				b.Fatal(err)
			}
			runs += len(res.Runs)
		}
	}
	b.ReportMetric(float64(runs), "runs/op")
}

// BenchmarkNext is the scheduler seam: the next start of a payroll jobnet.
func BenchmarkNext(b *testing.B) {
	c := jpCalendar(b, baseTime(5*time.Hour))
	s, err := plan.NewSchedule(benchJobnets(1)[0], c, nil)
	if err != nil {
		b.Fatal(err)
	}
	after := time.Date(2026, 8, 16, 0, 0, 0, 0, tokyo)
	for b.Loop() {
		if s.Next(after).IsZero() {
			b.Fatal("no next run")
		}
	}
}

// BenchmarkPlanYear10kParallel is BenchmarkPlanYear10k through PlanAll.
func BenchmarkPlanYear10kParallel(b *testing.B) {
	c := jpCalendar(b, baseTime(5*time.Hour))
	jobnets := benchJobnets(10000)
	runs := 0
	for b.Loop() {
		p, err := plan.NewPlanner(plan.Params{Calendar: c, From: d("2026-01-01"), To: d("2026-12-31")})
		if err != nil {
			b.Fatal(err)
		}
		res, err := p.PlanAll(jobnets, 0)
		if err != nil {
			b.Fatal(err)
		}
		runs = 0
		for _, r := range res {
			runs += len(r.Runs)
		}
	}
	b.ReportMetric(float64(runs), "runs/op")
}

// BenchmarkNextCold is Next on a fresh Schedule: one 92-day plan.
func BenchmarkNextCold(b *testing.B) {
	c := jpCalendar(b, baseTime(5*time.Hour))
	j := benchJobnets(1)[0]
	after := time.Date(2026, 8, 16, 0, 0, 0, 0, tokyo)
	for b.Loop() {
		s, err := plan.NewSchedule(j, c, nil)
		if err != nil {
			b.Fatal(err)
		}
		if s.Next(after).IsZero() {
			b.Fatal("no next run")
		}
	}
}

// BenchmarkPlanYear10kDistinct is BenchmarkPlanYear10k with no two jobnets
// sharing a schedule (each excludes its own date, far outside the range),
// so every jobnet is evaluated from scratch.
func BenchmarkPlanYear10kDistinct(b *testing.B) {
	c := jpCalendar(b, baseTime(5*time.Hour))
	jobnets := benchJobnets(10000)
	for i, j := range jobnets {
		rules := append([]jobnet.Rule(nil), j.Rules...)
		rules[0].Exclude = []calendar.Date{d("2040-01-01") + calendar.Date(i)}
		j.Rules = rules
	}
	runs := 0
	for b.Loop() {
		p, err := plan.NewPlanner(plan.Params{Calendar: c, From: d("2026-01-01"), To: d("2026-12-31")})
		if err != nil {
			b.Fatal(err)
		}
		runs = 0
		for _, j := range jobnets {
			res, err := p.Plan(j)
			if err != nil {
				b.Fatal(err)
			}
			runs += len(res.Runs)
		}
	}
	b.ReportMetric(float64(runs), "runs/op")
}
