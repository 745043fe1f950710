package jp1

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
)

// load parses and maps a testdata file and checks the result validates.
func load(t *testing.T, file string, opt Options) (*jobnet.Bundle, *Report) {
	t.Helper()
	data, err := os.ReadFile("testdata/" + file)
	require.NoError(t, err)
	units, err := Parse(file, data)
	require.NoError(t, err)
	b, rep, err := Map(units, opt)
	require.NoError(t, err)
	require.Empty(t, jobnet.Validate(b, jobnet.Known{}))
	return b, rep
}

// planned returns the business dates (and starts) Koyomi plans for a jobnet.
func planned(t *testing.T, b *jobnet.Bundle, path, from, to string) []string {
	t.Helper()
	cat := plan.CatalogFromBundle(b)
	res, err := cat.Plan(calendar.MustParseDate(from), calendar.MustParseDate(to), func(j *jobnet.Jobnet) bool { return j.Path() == path })
	require.NoError(t, err)
	var out []string
	for _, r := range res[path].Runs {
		out = append(out, r.BusinessDate.String()+" "+r.Start.Format("15:04"))
	}
	return out
}

func TestPayrollWorkedExample(t *testing.T) {
	b, rep := load(t, "payroll.jp1", Options{})
	got := planned(t, b, "hr/payroll", "2026-08-01", "2026-08-31")
	require.Equal(t, []string{"2026-08-12 21:00"}, got, strings.Join(got, ","))
	require.Zero(t, rep.Count(Unmapped), rep.Of(Unmapped))
}

// The dates below are worked out by hand from the manual's definitions of
// sd, st, cy, sh, shd and cftd and the calendar above each file's rules.
func TestScheduleCorpus(t *testing.T) {
	b, rep := load(t, "schedules.jp1", Options{})
	cases := []struct {
		jobnet, from, to string
		want             []string
	}{
		// *b: the last open day of each month; 03:00 is before the base time
		// 05:00, so it is 03:00 of the next calendar day (Koyomi 27:00).
		{"ops.batch/month-end", "2026-04-01", "2026-06-30", []string{"2026-04-30 03:00", "2026-05-29 03:00", "2026-06-30 03:00"}},
		// tu:2 with a monthly cycle: the second Tuesday; 25:30 is 01:30 the next day.
		{"ops.batch/second-tuesday", "2026-03-01", "2026-05-31", []string{"2026-03-10 01:30", "2026-04-14 01:30", "2026-05-12 01:30"}},
		// every day from 2026-04-01, closed days cancelled (sh=ca).
		{"ops.batch/business-days", "2026-05-01", "2026-05-11", []string{"2026-05-01 08:00", "2026-05-07 08:00", "2026-05-08 08:00", "2026-05-11 08:00"}},
		// one date, 2026-05-03 (Sunday) shifted after: 05-04..06 are closed
		// too and shd defaults to 2 days, so the run is cancelled.
		{"ops.batch/golden-week", "2026-05-01", "2026-05-31", nil},
		// rule 1: third open day; rule 2: last day of the month, shifted before.
		{"ops.batch/third-open-day", "2026-05-01", "2026-05-31", []string{"2026-05-08 10:00", "2026-05-29 10:00"}},
		// every Friday, but not on golden-week's dates (none planned in May).
		{"ops.batch/fridays", "2026-05-01", "2026-05-15", []string{"2026-05-01 18:00", "2026-05-08 18:00", "2026-05-15 18:00"}},
	}
	for _, c := range cases {
		t.Run(c.jobnet, func(t *testing.T) {
			require.Equal(t, c.want, planned(t, b, c.jobnet, c.from, c.to))
		})
	}
	require.Zero(t, rep.Count(Unmapped), rep.Of(Unmapped))
}

func TestShiftWithinLimit(t *testing.T) {
	// The same golden-week rule with shd=4 finds 2026-05-07.
	data, err := os.ReadFile("testdata/schedules.jp1")
	require.NoError(t, err)
	src := strings.Replace(string(data), "sh=1,af;", "sh=1,af;\n\t\tshd=1,4;", 1)
	units, err := Parse("x.jp1", []byte(src))
	require.NoError(t, err)
	b, _, err := Map(units, Options{})
	require.NoError(t, err)
	require.Equal(t, []string{"2026-05-07 09:00"}, planned(t, b, "ops.batch/golden-week", "2026-05-01", "2026-05-31"))
}

func TestUnitsCorpus(t *testing.T) {
	b, rep := load(t, "units.jp1", Options{})
	require.Equal(t, 21, b.Calendars[0].BaseDay)
	require.Equal(t, calendar.MonthNamingEnd, b.Calendars[0].MonthNaming)

	// +b: the last day of the business month (the 20th), shifted before a
	// closed day; +1: its first day (the 21st), shifted after.
	require.Equal(t, []string{"2026-05-20 18:00", "2026-05-21 06:00", "2026-06-19 18:00", "2026-06-22 06:00"},
		planned(t, b, "shop/closing", "2026-05-01", "2026-06-30"))

	var closing, upload *jobnet.Jobnet
	for i := range b.Jobnets {
		switch b.Jobnets[i].Name {
		case "closing":
			closing = &b.Jobnets[i]
		case "upload":
			upload = &b.Jobnets[i]
		}
	}
	require.Equal(t, "monthly closing", closing.Description)
	require.Equal(t, jobnet.OverlapSkip, closing.Overlap)
	require.Equal(t, "18:30", closing.Delay.Start.At.String())
	require.Equal(t, "1h", closing.Delay.End.After.String())
	require.ElementsMatch(t, []jobnet.Edge{
		{From: "extract", To: "judge"},
		{From: "judge", To: "report", Kind: jobnet.EdgeTrue},
		{From: "extract", To: "recover", Kind: jobnet.EdgeRecovery},
	}, closing.Edges)
	units := map[string]jobnet.Unit{}
	for _, u := range closing.Units {
		units[u.Name] = u
	}
	require.Equal(t, "{ extract.sh\n} >> /var/log/extract.log", units["extract"].Job.Local.Command)
	require.Equal(t, "30m", units["extract"].Job.Timeout.After.String())
	require.Equal(t, jobnet.Judgment{Kind: jobnet.JudgeExitCode, Op: "ge", Value: "4"}, *units["judge"].Judgment)
	require.Equal(t, "'/opt/report/run report.sh'", units["report"].Job.Local.Command)
	require.True(t, units["report"].Hold)
	require.Equal(t, "cleanup", units["recover"].Net.Units[0].Name)
	require.Equal(t, &jobnet.Position{X: 400, Y: 48}, units["report"].Position)

	// the wait condition becomes a wait unit before the jobnet's first unit
	var wait *jobnet.Unit
	for i := range upload.Units {
		if upload.Units[i].Kind == jobnet.UnitWait {
			wait = &upload.Units[i]
		}
	}
	require.NotNil(t, wait)
	require.Equal(t, jobnet.Wait{Jobnet: "shop/closing", Unit: "report"}, *wait.Wait)
	require.Contains(t, upload.Edges, jobnet.Edge{From: wait.Name, To: "arrive"})
	require.Equal(t, "until [ -e /data/in/ready.flg ]; do sleep 30; done", upload.Units[0].Job.Local.Command)
	require.Equal(t, "sleep 300", upload.Units[1].Job.Local.Command)

	require.Zero(t, rep.Count(Unmapped), rep.Of(Unmapped))
	require.Len(t, rep.Of(Approximated), 2, rep.Of(Approximated)) // flwj and tmwj
}

func TestCycleCorpus(t *testing.T) {
	b, rep := load(t, "cycles.jp1", Options{})
	cases := []struct {
		jobnet, from, to string
		want             []string
	}{
		// *1 without year/month, monthly: the first open day of every month.
		{"cycles/first-open", "2026-07-01", "2026-09-30", []string{"2026-07-01 07:00", "2026-08-03 07:00", "2026-09-01 07:00"}},
		// b: the last day of the month, before a closed day (shd 2 reaches Friday).
		{"cycles/month-end", "2026-01-01", "2026-05-31", []string{"2026-01-30 20:00", "2026-02-27 20:00", "2026-03-31 20:00", "2026-04-30 20:00", "2026-05-29 20:00"}},
		// the first Monday of July 2026, weekly; Marine Day shifts to Tuesday (sh defaults to af).
		{"cycles/mondays", "2026-06-01", "2026-07-31", []string{"2026-07-06 09:00", "2026-07-13 09:00", "2026-07-21 09:00", "2026-07-27 09:00"}},
		// every three months from 2026-01-10; closed days cancelled.
		{"cycles/quarterly", "2026-01-01", "2026-12-31", []string{"2026-04-10 09:00", "2026-07-10 09:00"}},
		// one open day after the 17th: Friday 07-17 → Tuesday 07-21 over Marine Day.
		{"cycles/day-after", "2026-07-01", "2026-08-31", []string{"2026-07-21 10:00", "2026-08-18 10:00"}},
		{"cycles/by-hand", "2026-01-01", "2026-12-31", nil},
		// no cycle: once; no st: 00:00.
		{"cycles/once", "2026-01-01", "2026-12-31", []string{"2026-07-01 00:00"}},
		// b of March, yearly: the 31st every March (2029-03-31 is a Saturday → the 30th).
		{"cycles/fiscal-year-end", "2026-01-01", "2029-12-31", []string{"2026-03-31 23:00", "2027-03-31 23:00", "2028-03-31 23:00", "2029-03-30 23:00"}},
	}
	for _, c := range cases {
		t.Run(c.jobnet, func(t *testing.T) {
			require.Equal(t, c.want, planned(t, b, c.jobnet, c.from, c.to))
		})
	}
	require.Zero(t, rep.Count(Unmapped), rep.Of(Unmapped))
}
