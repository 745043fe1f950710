package ops_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

const todayDefs = `kind: Calendar
name: company
time_zone: Asia/Tokyo
base_time: "05:00"
closed_weekdays: [sat, sun]
---
kind: Calendar
name: other
time_zone: UTC
---
kind: Folder
name: f
calendar: company
---
kind: Jobnet
name: daily
folder: f
units:
  - {name: a, kind: job, job: {type: local, local: {command: "true"}}}
schedule:
  - {name: weekdays, kind: weekdays, weekdays: [mon, tue, wed, thu, fri], start: ["09:00"]}
---
kind: Jobnet
name: solo
folder: f
calendar: other
units:
  - {name: a, kind: job, job: {type: local, local: {command: "true"}}}
`

func TestTodayCountsAttentionAndSchedule(t *testing.T) {
	// 2026-04-01 (Wed) 04:00 in Tokyo: before the base time, so the current
	// business date of "company" is still 2026-03-31.
	now := time.Date(2026, 3, 31, 19, 0, 0, 0, time.UTC)
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			st := storetest.Open(t, d, func() time.Time { return now })
			svc := ops.New(ops.Params{Store: st, Now: func() time.Time { return now }})
			b, err := jobnet.ParseFile("defs.yaml", []byte(todayDefs))
			require.NoError(t, err)
			_, err = svc.Apply(ctx, ops.System, b, false)
			require.NoError(t, err)

			name, _, names, err := svc.MainCalendar(ctx, "")
			require.NoError(t, err)
			require.Equal(t, "company", name, "the calendar most jobnets use")
			require.Equal(t, []string{"company", "other"}, names)
			_, _, _, err = svc.MainCalendar(ctx, "nope")
			require.Error(t, err)

			day := calendar.MustParseDate("2026-03-31")
			jv, err := st.JobnetByPath(ctx, "f", "daily", 0)
			require.NoError(t, err)
			loc, _ := time.LoadLocation("Asia/Tokyo")
			mk := func(clock int, state jobrun.GenState, held, delayed bool) store.Generation {
				return store.Generation{JobnetID: jv.JobnetID, JobnetVersion: jv.Version, Jobnet: "f/daily", Folder: "f", BusinessDate: day,
					Rule: "weekdays", StartClock: calendar.ClockTime(clock), ScheduledAt: day.At(time.Duration(clock)*time.Minute, loc),
					State: state, Held: held, StartDelayed: delayed}
			}
			_, err = st.InsertGenerations(ctx, []store.Generation{
				mk(540, jobrun.GenEndedNormal, false, false),
				mk(541, jobrun.GenEndedAbnormal, false, false),
				mk(542, jobrun.GenHeld, true, false),
				mk(543, jobrun.GenRunning, false, true),
				mk(544, jobrun.GenWaiting, false, false),
			})
			require.NoError(t, err)

			v, err := svc.Today(ctx, ops.TodayQuery{})
			require.NoError(t, err)
			require.Equal(t, day, v.Date)
			require.Equal(t, 5, v.Total)
			require.Equal(t, map[jobrun.GenState]int{jobrun.GenEndedNormal: 1, jobrun.GenEndedAbnormal: 1, jobrun.GenHeld: 1,
				jobrun.GenRunning: 1, jobrun.GenWaiting: 1}, v.Counts)
			var att []string
			for _, a := range v.Attention {
				att = append(att, a.Generation.StartClock.String())
			}
			require.Equal(t, []string{"09:01", "09:02", "09:03"}, att, "abnormal, held, delayed")
			require.Len(t, v.Generations, 5)

			// Filters and paging.
			v, err = svc.Today(ctx, ops.TodayQuery{Filter: ops.DayFilter{States: []jobrun.GenState{jobrun.GenWaiting}}})
			require.NoError(t, err)
			require.Equal(t, 1, v.Matched)
			require.Equal(t, 5, v.Total, "counts ignore the state filter")
			v, err = svc.Today(ctx, ops.TodayQuery{Filter: ops.DayFilter{Text: "DAILY"}, Offset: 3, Limit: 2})
			require.NoError(t, err)
			require.Equal(t, 5, v.Matched)
			require.Len(t, v.Generations, 2)
			require.Equal(t, "09:03", v.Generations[0].StartClock.String())
			v, err = svc.Today(ctx, ops.TodayQuery{Filter: ops.DayFilter{Text: "100%_"}})
			require.NoError(t, err)
			require.Zero(t, v.Matched, "LIKE wildcards in the text are literal")
			v, err = svc.Today(ctx, ops.TodayQuery{Filter: ops.DayFilter{Folder: "g"}})
			require.NoError(t, err)
			require.Zero(t, v.Total)

			// Month: 2026-03-31 from the generations, April's weekdays from the plan.
			m, err := svc.ScheduleMonth(ctx, "", &day)
			require.NoError(t, err)
			require.Len(t, m.Days, 31)
			last := m.Days[30]
			require.Equal(t, day, last.Date)
			require.Equal(t, ops.MonthDay{Date: day, Open: true, Planned: 5, Done: 1, Failed: 1, Running: 1}, last)
			apr := calendar.MustParseDate("2026-04-01")
			m, err = svc.ScheduleMonth(ctx, "", &apr)
			require.NoError(t, err)
			require.Equal(t, ops.MonthDay{Date: apr, Open: true, Planned: 1, FromPlan: true}, m.Days[0])
			require.Equal(t, ops.MonthDay{Date: apr.AddDays(3), Open: false}, m.Days[3], "Saturday: closed, nothing planned")
			// The month of another calendar counts its own jobnets only.
			m, err = svc.ScheduleMonth(ctx, "other", &day)
			require.NoError(t, err)
			require.Equal(t, ops.MonthDay{Date: day, Open: true}, m.Days[30], "f/daily plans on company, not on other")
			m, err = svc.ScheduleMonth(ctx, "other", &apr)
			require.NoError(t, err)
			require.Equal(t, ops.MonthDay{Date: apr, Open: true}, m.Days[0])
			dv0, err := svc.ScheduleDay(ctx, "other", &day)
			require.NoError(t, err)
			require.Empty(t, dv0.Items)

			// Day: generations plus the planned run without one.
			dv, err := svc.ScheduleDay(ctx, "", &apr)
			require.NoError(t, err)
			require.Len(t, dv.Items, 1)
			require.Nil(t, dv.Items[0].Generation)
			require.Equal(t, "09:00", dv.Items[0].StartClock.String())
			require.Equal(t, time.Date(2026, 4, 1, 5, 0, 0, 0, loc), dv.Start.In(loc))
			dv, err = svc.ScheduleDay(ctx, "", &day)
			require.NoError(t, err)
			require.Len(t, dv.Items, 5, "09:00 is generated: not listed twice")

			rows, err := svc.PlanRows(ctx, apr, apr.AddDays(6), "f/daily")
			require.NoError(t, err)
			require.Len(t, rows, 5)
			_, err = svc.PlanRows(ctx, apr, apr, "f/missing")
			require.Error(t, err)
		})
	}
}
