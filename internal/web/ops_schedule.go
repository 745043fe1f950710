package web

import (
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

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
	v := dayView(d)
	s.addScheduleForecast(c.Request().Context(), d, &v)
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
		Current: d.Current.String(), Calendar: d.Calendar, Calendars: d.Calendars, Zone: d.Location.String(), Truncated: d.Truncated}
	span := d.End.Sub(d.Start)
	if span <= 0 {
		span = 24 * time.Hour
	}
	at := func(t time.Time) float64 {
		f := float64(t.Sub(d.Start)) / float64(span) * 100
		return min(max(f, 0), 100)
	}
	for h := time.Duration(0); h < span; h += 2 * time.Hour {
		t := d.Start.Add(h)
		v.Ticks = append(v.Ticks, pages.HourTick{Label: t.In(d.Location).Format("15:04"), Left: at(t)})
	}
	if d.Now.After(d.Start) && d.Now.Before(d.End) {
		v.ShowNow, v.NowLeft = true, at(d.Now)
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
				b.Started = g.StartedAt.In(d.Location).Format("15:04:05")
				b.Ended = end.In(d.Location).Format("15:04:05")
			}
		}
		v.Bars = append(v.Bars, b)
	}
	return v
}
