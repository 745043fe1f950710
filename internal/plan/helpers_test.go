package plan_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
)

// jpHolidays is the Japanese national holidays of 2026 and 2027 as the
// Cabinet Office lists them.
type jpHolidays struct{}

var jpList = map[string]string{
	"2026-01-01": "New Year's Day", "2026-01-12": "Coming of Age Day", "2026-02-11": "National Foundation Day",
	"2026-02-23": "Emperor's Birthday", "2026-03-20": "Vernal Equinox Day", "2026-04-29": "Showa Day",
	"2026-05-03": "Constitution Memorial Day", "2026-05-04": "Greenery Day", "2026-05-05": "Children's Day",
	"2026-05-06": "Substitute Holiday", "2026-07-20": "Marine Day", "2026-08-11": "Mountain Day",
	"2026-09-21": "Respect for the Aged Day", "2026-09-22": "National Holiday", "2026-09-23": "Autumnal Equinox Day",
	"2026-10-12": "Sports Day", "2026-11-03": "Culture Day", "2026-11-23": "Labour Thanksgiving Day",
	"2027-01-01": "New Year's Day", "2027-01-11": "Coming of Age Day", "2027-02-11": "National Foundation Day",
	"2027-02-23": "Emperor's Birthday", "2027-03-21": "Vernal Equinox Day", "2027-03-22": "Substitute Holiday",
	"2027-04-29": "Showa Day", "2027-05-03": "Constitution Memorial Day", "2027-05-04": "Greenery Day",
	"2027-05-05": "Children's Day", "2027-07-19": "Marine Day", "2027-08-11": "Mountain Day",
	"2027-09-20": "Respect for the Aged Day", "2027-09-23": "Autumnal Equinox Day", "2027-10-11": "Sports Day",
	"2027-11-03": "Culture Day", "2027-11-23": "Labour Thanksgiving Day",
}

func (jpHolidays) ID() string { return "jp" }

func (jpHolidays) Holidays(y int) []calendar.Holiday {
	var out []calendar.Holiday
	for d := calendar.NewDate(y, time.January, 1); d.Year() == y; d++ {
		if name, ok := jpList[d.String()]; ok {
			out = append(out, calendar.Holiday{Date: d, Name: name})
		}
	}
	return out
}

var tokyo = mustZone("Asia/Tokyo")

func mustZone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

type calOpt func(*calendar.Params)

func baseTime(d time.Duration) calOpt { return func(p *calendar.Params) { p.BaseTime = d } }
func baseDay(n int, naming calendar.MonthNaming) calOpt {
	return func(p *calendar.Params) { p.BaseDay, p.MonthNaming = n, naming }
}
func extraClosed(dates ...string) calOpt {
	return func(p *calendar.Params) {
		for _, d := range dates {
			p.Overrides = append(p.Overrides, calendar.Override{Date: calendar.MustParseDate(d), Note: "extra closure"})
		}
	}
}

// jpCalendar is a Japanese company calendar: Sat/Sun closed, national
// holidays, and 12/31-1/3 closed.
func jpCalendar(t testing.TB, opts ...calOpt) *calendar.Calendar {
	t.Helper()
	p := calendar.Params{
		Name: "jp-company", Location: tokyo,
		ClosedWeekdays: []time.Weekday{time.Saturday, time.Sunday},
		HolidaySets:    []calendar.HolidaySet{jpHolidays{}},
	}
	for y := 2025; y <= 2028; y++ {
		for _, d := range []calendar.Date{calendar.NewDate(y, 12, 31), calendar.NewDate(y+1, 1, 1), calendar.NewDate(y+1, 1, 2), calendar.NewDate(y+1, 1, 3)} {
			p.Overrides = append(p.Overrides, calendar.Override{Date: d, Note: "year-end closure"})
		}
	}
	for _, o := range opts {
		o(&p)
	}
	c, err := calendar.New(p)
	require.NoError(t, err)
	return c
}

func d(s string) calendar.Date { return calendar.MustParseDate(s) }
func dp(s string) *calendar.Date {
	v := d(s)
	return &v
}
func ct(s string) calendar.ClockTime {
	v, err := calendar.ParseClockTime(s)
	if err != nil {
		panic(err)
	}
	return v
}
func wd(w time.Weekday) *calendar.Weekday {
	v := calendar.Weekday(w)
	return &v
}

func jn(name string, rules ...jobnet.Rule) *jobnet.Jobnet {
	return &jobnet.Jobnet{Folder: "acct", Name: name, Rules: rules}
}

func planRange(t testing.TB, c *calendar.Calendar, from, to string, r plan.Resolver, j *jobnet.Jobnet) plan.Result {
	t.Helper()
	p, err := plan.NewPlanner(plan.Params{Calendar: c, From: d(from), To: d(to), Resolver: r})
	require.NoError(t, err)
	res, err := p.Plan(j)
	require.NoError(t, err)
	for _, run := range res.Runs {
		require.GreaterOrEqual(t, run.BusinessDate, d(from))
		require.LessOrEqual(t, run.BusinessDate, d(to))
	}
	return res
}

func runDates(res plan.Result) []string {
	out := []string{}
	for _, r := range res.Runs {
		out = append(out, r.BusinessDate.String())
	}
	return out
}

func dropList(res plan.Result) []string {
	out := []string{}
	for _, dr := range res.Dropped {
		key := dr.Period
		if dr.Date != 0 {
			key = dr.Date.String()
		}
		out = append(out, key+" "+string(dr.Reason))
	}
	return out
}
