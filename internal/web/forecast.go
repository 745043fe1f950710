package web

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/deadline"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// forecastCell is a generation's predicted end against its deadline, on
// the calendar's clock.
func forecastCell(g deadline.Generation, loc *time.Location, date calendar.Date) *pages.ForecastCell {
	end := g.End
	f := &pages.ForecastCell{End: clock(&end, loc, date), Ended: g.Ended, Risk: string(g.Risk), CriticalPath: g.CriticalPath}
	if g.Deadline != nil {
		f.Deadline, f.DeadlineText = clock(g.Deadline, loc, date), g.DeadlineText
		if g.Slack != nil {
			sl := time.Duration(*g.Slack) * time.Second
			f.Slack = sl.String()
			if sl > 0 {
				f.Slack = "+" + f.Slack
			}
		}
	}
	return f
}

// dayForecast reads the forecast of a date for a page; a failure is logged
// and the page shows no forecast rather than failing.
func (s *Server) dayForecast(ctx context.Context, date calendar.Date) (deadline.Report, bool) {
	r, ok, err := s.forecast(ctx, date)
	if err != nil {
		s.p.Logger.Warn("forecast", "date", date, "err", err)
		return r, false
	}
	return r, ok
}

// addTodayForecast puts the predicted ends on the Today rows and the
// generations whose deadline is at risk (or missed) into Needs attention.
func (s *Server) addTodayForecast(ctx context.Context, t ops.TodayView, v *pages.TodayView) {
	r, ok := s.dayForecast(ctx, t.Date)
	if !ok {
		return
	}
	by := map[string]deadline.Generation{}
	for _, g := range r.Generations {
		by[g.ID] = g
	}
	for i := range v.Rows {
		if g, ok := by[v.Rows[i].ID]; ok {
			v.Rows[i].Forecast = forecastCell(g, t.Location, t.Date)
		}
	}
	listed := map[string]bool{}
	for i := range v.Attention {
		listed[v.Attention[i].ID] = true
		if g, ok := by[v.Attention[i].ID]; ok {
			v.Attention[i].Forecast = forecastCell(g, t.Location, t.Date)
		}
	}
	for _, g := range r.Generations {
		if !g.AtRisk() || listed[g.ID] || !s.inTodayFilter(g, v) {
			continue
		}
		row := pages.OpsGenRow{ID: g.ID, Jobnet: g.Jobnet, Folder: g.Folder, Rule: g.Rule, State: string(g.State),
			Scheduled: clock(&g.ScheduledAt, t.Location, t.Date), Forecast: forecastCell(g, t.Location, t.Date)}
		v.Attention = append(v.Attention, row)
	}
}

// inTodayFilter applies the Today page's folder filter to a forecast row.
func (s *Server) inTodayFilter(g deadline.Generation, v *pages.TodayView) bool {
	return v.Folder == "" || g.Folder == v.Folder || len(g.Folder) > len(v.Folder) && g.Folder[:len(v.Folder)+1] == v.Folder+"/"
}

// addScheduleForecast draws the predicted remainder and the deadline on
// the day Gantt chart.
func (s *Server) addScheduleForecast(ctx context.Context, d ops.ScheduleDayView, v *pages.ScheduleDayView) {
	r, ok := s.dayForecast(ctx, d.Date)
	if !ok {
		return
	}
	span := d.End.Sub(d.Start)
	if span <= 0 {
		span = 24 * time.Hour
	}
	at := func(t time.Time) float64 {
		return min(max(float64(t.Sub(d.Start))/float64(span)*100, 0), 100)
	}
	for i := range v.Bars {
		b := &v.Bars[i]
		g, ok := r.Find(b.ID)
		if b.ID == "" || !ok {
			continue
		}
		b.Forecast = forecastCell(g, d.Location, d.Date)
		if !g.Ended {
			from := r.Now
			if g.ScheduledAt.After(from) {
				from = g.ScheduledAt
			}
			b.HasPred, b.PredLeft = true, at(from)
			b.PredWidth = max(at(g.End)-b.PredLeft, 0.3)
		}
		if g.Deadline != nil {
			b.HasDeadline, b.DeadlineLeft = true, at(*g.Deadline)
		}
	}
}

// addRunForecast puts the forecast on the generation page and marks the
// critical path on its graph.
func (s *Server) addRunForecast(ctx context.Context, date calendar.Date, loc *time.Location, v *pages.RunView) {
	r, ok := s.dayForecast(ctx, date)
	if !ok {
		return
	}
	g, ok := r.Find(v.ID)
	if !ok {
		return
	}
	v.Forecast = forecastCell(g, loc, date)
	critical := map[string]bool{}
	for _, p := range g.CriticalPath {
		critical[p] = true
	}
	for i := range v.Graphs {
		for j := range v.Graphs[i].Nodes {
			v.Graphs[i].Nodes[j].Critical = critical[v.Graphs[i].Nodes[j].Path]
		}
	}
}

// durationsPage: GET /jobnets/:folder/:name/durations — each unit's
// successful run durations as a small chart with the expected p90.
func (s *Server) durationsPage(c echo.Context) error {
	if s.p.Forecast == nil {
		return fmt.Errorf("run durations: not available on this server: %w", fault.ErrNotFound)
	}
	folder, name := c.Param("folder"), c.Param("name")
	hs, err := s.p.Forecast.Durations(c.Request().Context(), folder+"/"+name)
	if err != nil {
		return err
	}
	v := pages.DurationsView{Jobnet: folder + "/" + name, Folder: folder, Name: name, Days: s.p.Forecast.HistoryDays()}
	const maxBars = 40
	for _, h := range hs {
		ch := pages.DurationChart{Path: h.Path, Expect: int64(h.Estimate.Duration / time.Second), Basis: string(h.Estimate.Basis)}
		runs := h.Runs
		if len(runs) > maxBars {
			runs = runs[len(runs)-maxBars:]
		}
		for _, r := range runs {
			d := r.Duration().Round(time.Second)
			ch.Bars = append(ch.Bars, pages.DurationBar{Seconds: int64(d / time.Second), Label: r.BusinessDate.String() + " " + d.String(), RunID: r.GenerationID})
		}
		v.Charts = append(v.Charts, ch)
	}
	return s.render(c, http.StatusOK, pages.Durations(v))
}
