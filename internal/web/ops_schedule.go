package web

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// scheduleOps serves /schedule: the day view (Gantt of the business
// day) or the month view (per-day counts).
func (s *Server) scheduleOps(c echo.Context) error {
	date, err := queryDate(c, "date")
	if err != nil {
		return err
	}
	cal := c.QueryParam("calendar")
	if c.QueryParam("view") == "month" {
		m, err := s.p.Ops.ScheduleMonth(c.Request().Context(), cal, date)
		if err != nil {
			return err
		}
		return s.render(c, http.StatusOK, pages.ScheduleMonth(monthView(m)))
	}
	d, err := s.p.Ops.ScheduleDay(c.Request().Context(), cal, date)
	if err != nil {
		return err
	}
	d.Location = s.zoneOf(c, d.Location)
	v := dayView(d)
	titles, err := s.p.Ops.JobnetTitles(c.Request().Context())
	if err != nil {
		return err
	}
	for i := range v.Bars {
		v.Bars[i].Title = titles[v.Bars[i].Jobnet]
	}
	s.addScheduleForecast(c.Request().Context(), d, &v)
	groupDay(&v)
	return s.render(c, http.StatusOK, pages.ScheduleDay(v))
}

func monthView(m ops.ScheduleMonthView) pages.ScheduleMonthView {
	v := pages.ScheduleMonthView{Month: fmt.Sprintf("%04d-%02d", m.Month.Year(), m.Month.Month()), Calendar: m.Calendar, Calendars: m.Calendars,
		Prev: m.Month.AddMonths(-1).String(), Next: m.Month.AddMonths(1).String()}
	v.Title = v.Month
	var week []pages.MonthCell
	for i := 0; i < int(m.Month.Weekday()); i++ {
		week = append(week, pages.MonthCell{})
	}
	for _, d := range m.Days {
		week = append(week, pages.MonthCell{Date: d.Date.String(), Day: d.Date.Day(), Open: d.Open, Today: d.Date == m.Current,
			Planned: d.Planned, FromPlan: d.FromPlan, Done: d.Done, Failed: d.Failed, Running: d.Running})
		if len(week) == 7 {
			v.Weeks = append(v.Weeks, week)
			week = nil
		}
	}
	if len(week) > 0 {
		for len(week) < 7 {
			week = append(week, pages.MonthCell{})
		}
		v.Weeks = append(v.Weeks, week)
	}
	return v
}

func dayView(d ops.ScheduleDayView) pages.ScheduleDayView {
	v := pages.ScheduleDayView{Date: d.Date.String(), Prev: d.Date.AddDays(-1).String(), Next: d.Date.AddDays(1).String(),
		Current: d.Current.String(), Calendar: d.Calendar, Calendars: d.Calendars, Zone: d.Location.String(), Truncated: d.Truncated,
		Limit: ops.ScheduleDayLimit}
	span := d.End.Sub(d.Start)
	if span <= 0 {
		span = 24 * time.Hour
	}
	v.TrackWidth = int(span.Hours() * pages.GanttHourWidth)
	at := func(t time.Time) float64 {
		f := float64(t.Sub(d.Start)) / float64(span) * 100
		return min(max(f, 0), 100)
	}
	for h := time.Duration(0); h < span; h += time.Hour {
		t := d.Start.Add(h)
		v.Ticks = append(v.Ticks, pages.HourTick{Label: t.In(d.Location).Format("15:04"), Left: at(t)})
	}
	if d.Now.After(d.Start) && d.Now.Before(d.End) {
		v.ShowNow, v.NowLeft = true, at(d.Now)
		v.NowLabel = calendar.Stamp(d.Now, d.Location, calendar.StampClock)
	}
	for _, it := range d.Items {
		b := pages.ScheduleBar{Jobnet: it.Jobnet, Rule: it.Rule, State: string(jobrun.GenPlanned), Planned: it.Generation == nil,
			Scheduled: it.Scheduled.In(d.Location).Format("15:04"), PlanLeft: at(it.Scheduled), Explanation: it.Explanation}
		if g := it.Generation; g != nil {
			b.ID, b.State, b.Delayed = g.ID, string(g.State), g.StartDelayed || g.EndDelayed
			if g.StartedAt != nil {
				end := d.Now
				if g.EndedAt != nil {
					end = *g.EndedAt
				}
				b.HasActual = true
				b.ActLeft = at(*g.StartedAt)
				b.ActWidth = max(at(end)-b.ActLeft, 0.3)
				b.Started = calendar.Stamp(*g.StartedAt, d.Location, calendar.StampSeconds)
				b.Ended = calendar.Stamp(end, d.Location, calendar.StampSeconds)
			}
		}
		v.Bars = append(v.Bars, b)
	}
	return v
}

// Focus and grouping of the day Gantt.
const (
	// The focus lists at most this many failed, running and next
	// generations (each has its own share, so none crowds out the others).
	ganttFailedLimit  = 30
	ganttRunningLimit = 20
	ganttNextLimit    = 10
	// ganttOpenLimit: a jobnet with at most this many lines is shown unfolded.
	ganttOpenLimit = 20
)

type ganttClass int

const (
	ganttFailed ganttClass = iota
	ganttRunning
	ganttPending
	ganttDone
)

func classOf(state string) ganttClass {
	switch st := jobrun.GenState(state); {
	case st == jobrun.GenEndedAbnormal || st == jobrun.GenKilled:
		return ganttFailed
	case st == jobrun.GenRunning:
		return ganttRunning
	case st.IsPending():
		return ganttPending
	}
	return ganttDone
}

// groupDay arranges the day's bars (by scheduled start) for people who
// look for trouble first: the focus lists what failed (latest first), what runs and what
// starts next (from now on, for today); the groups are the jobnets, those
// with failures first, then those running, then by their next start, then
// the finished ones, each in time order. Long groups start folded.
func groupDay(v *pages.ScheduleDayView) {
	var failed, running, next []pages.ScheduleBar
	idx := map[string]int{}
	nextLeft := map[string]float64{}
	for _, b := range v.Bars {
		i, ok := idx[b.Jobnet]
		if !ok {
			i = len(v.Groups)
			idx[b.Jobnet] = i
			v.Groups = append(v.Groups, pages.ScheduleGroup{Jobnet: b.Jobnet, Title: b.Title})
		}
		g := &v.Groups[i]
		g.Bars = append(g.Bars, b)
		switch classOf(b.State) {
		case ganttFailed:
			g.Failed++
			failed = append(failed, b)
		case ganttRunning:
			g.Running++
			running = append(running, b)
		case ganttPending:
			g.Pending++
			upcoming := !v.ShowNow || b.PlanLeft >= v.NowLeft
			if g.Next == "" && upcoming {
				g.Next, nextLeft[b.Jobnet] = b.Scheduled, b.PlanLeft
			}
			if upcoming && len(next) < ganttNextLimit {
				next = append(next, b)
			}
		default:
			g.Done++
		}
	}
	// The latest failures first: they are the ones still being dealt with.
	slices.Reverse(failed)
	if len(failed) > ganttFailedLimit {
		v.FocusMore += len(failed) - ganttFailedLimit
		failed = failed[:ganttFailedLimit]
	}
	if len(running) > ganttRunningLimit {
		v.FocusMore += len(running) - ganttRunningLimit
		running = running[:ganttRunningLimit]
	}
	v.Focus = append(append(failed, running...), next...)
	rank := func(g pages.ScheduleGroup) int {
		switch {
		case g.Failed > 0:
			return 0
		case g.Running > 0:
			return 1
		case g.Next != "":
			return 2
		case g.Pending > 0:
			return 3
		}
		return 4
	}
	sort.SliceStable(v.Groups, func(i, j int) bool {
		a, b := v.Groups[i], v.Groups[j]
		if ra, rb := rank(a), rank(b); ra != rb {
			return ra < rb
		}
		if rank(a) == 2 && nextLeft[a.Jobnet] != nextLeft[b.Jobnet] {
			return nextLeft[a.Jobnet] < nextLeft[b.Jobnet]
		}
		return a.Jobnet < b.Jobnet
	})
	for i := range v.Groups {
		g := &v.Groups[i]
		g.Open = g.Failed > 0 || g.Running > 0 || len(g.Bars) <= ganttOpenLimit
	}
}
