package web

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// genStates is the order of generation states in counts and filters.
var genStates = []jobrun.GenState{jobrun.GenEndedAbnormal, jobrun.GenKilled, jobrun.GenHeld, jobrun.GenRunning, jobrun.GenWaiting,
	jobrun.GenPlanned, jobrun.GenEndedWarning, jobrun.GenEndedNormal, jobrun.GenSkipped, jobrun.GenNotExecuted}

// queryDate reads an optional YYYY-MM-DD parameter.
func queryDate(c echo.Context, name string) (*calendar.Date, error) {
	s := strings.TrimSpace(c.QueryParam(name))
	if s == "" {
		return nil, nil
	}
	d, err := calendar.ParseDate(s)
	if err != nil {
		return nil, fmt.Errorf("%s %q: want YYYY-MM-DD: %w", name, s, fault.ErrInvalid)
	}
	return &d, nil
}

func parseStates(s string) ([]jobrun.GenState, error) {
	if s == "" {
		return nil, nil
	}
	var out []jobrun.GenState
	for _, p := range strings.Split(s, ",") {
		st := jobrun.GenState(strings.TrimSpace(p))
		if !st.Valid() {
			return nil, fmt.Errorf("state %q: not a generation state: %w", p, fault.ErrInvalid)
		}
		out = append(out, st)
	}
	return out, nil
}

// clock formats an instant on the page's clock with its zone: the time
// when on the reference day, else with the date.
func clock(t *time.Time, loc *time.Location, ref calendar.Date) string {
	if t == nil || t.IsZero() {
		return ""
	}
	lt := t.In(loc)
	if calendar.DateOf(lt) == ref || calendar.DateOf(lt) == ref.AddDays(1) && lt.Hour() < 12 {
		return calendar.Stamp(lt, loc, calendar.StampSeconds)
	}
	return calendar.Stamp(lt, loc, calendar.StampDateTime)
}

func duration(from, to *time.Time, now time.Time) string {
	if from == nil {
		return ""
	}
	end := now
	if to != nil {
		end = *to
	}
	d := end.Sub(*from).Round(time.Second)
	if d < 0 {
		d = 0
	}
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%dh%02dm%02ds", h, m, s)
	}
	if m > 0 {
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

func (s *Server) genRow(g store.Generation, loc *time.Location, units []store.UnitRun) pages.OpsGenRow {
	now := s.p.Now()
	r := pages.OpsGenRow{ID: g.ID, Jobnet: g.Jobnet, Folder: g.Folder, Rule: g.Rule, State: string(g.State), Held: g.Held,
		StartDelayed: g.StartDelayed, EndDelayed: g.EndDelayed, Scheduled: clock(&g.ScheduledAt, loc, g.BusinessDate),
		Started: clock(g.StartedAt, loc, g.BusinessDate), Ended: clock(g.EndedAt, loc, g.BusinessDate), Reason: g.Reason}
	if g.StartedAt != nil {
		r.Duration = duration(g.StartedAt, g.EndedAt, now)
	}
	for _, u := range units {
		r.Units = append(r.Units, pages.OpsUnitNote{Path: u.Path, State: string(u.State), Held: u.Held, Delay: u.StartDelayed || u.EndDelayed, Reason: u.Reason})
	}
	r.CanHold = jobrun.CanTransitionGen(g.State, jobrun.GenHeld, jobrun.CauseHold)
	r.CanRelease = g.State == jobrun.GenHeld
	r.CanKill = jobrun.CanKillGen(g.State, g.StartedAt != nil)
	r.CanRerun = g.State == jobrun.GenEndedAbnormal || g.State == jobrun.GenKilled
	return r
}

// todayView reads the Today page for the request's filters.
func (s *Server) todayView(c echo.Context) (pages.TodayView, error) {
	ctx := c.Request().Context()
	date, err := queryDate(c, "date")
	if err != nil {
		return pages.TodayView{}, err
	}
	states, err := parseStates(c.QueryParam("state"))
	if err != nil {
		return pages.TodayView{}, err
	}
	offset, _ := strconv.Atoi(c.QueryParam("offset"))
	q := ops.TodayQuery{Date: date, Calendar: c.QueryParam("calendar"),
		Filter: ops.DayFilter{Folder: c.QueryParam("folder"), States: states, Text: c.QueryParam("q")}, Offset: offset}
	t, err := s.p.Ops.Today(ctx, q)
	if err != nil {
		return pages.TodayView{}, err
	}
	t.Location = s.zoneOf(c, t.Location)
	v := pages.TodayView{Date: t.Date.String(), Current: t.Current.String(), Prev: t.Date.AddDays(-1).String(), Next: t.Date.AddDays(1).String(),
		Calendar: t.Calendar, Calendars: t.Calendars, Zone: t.Location.String(), Folder: q.Filter.Folder, State: c.QueryParam("state"),
		Text: q.Filter.Text, Total: t.Total, Matched: t.Matched, Offset: t.Offset, PrevOffset: -1, NextOffset: -1,
		Updated: calendar.Stamp(s.p.Now(), t.Location, calendar.StampSeconds)}
	if c.QueryParam("calendar") == "" {
		v.Calendar = t.Calendar
	}
	for _, st := range genStates {
		v.States = append(v.States, string(st))
		if n := t.Counts[st]; n > 0 {
			v.Counts = append(v.Counts, pages.OpsCount{State: string(st), N: n, Href: string(v.TodayHref("state", string(st), "offset", ""))})
		}
	}
	titles, err := s.p.Ops.JobnetTitles(ctx)
	if err != nil {
		return pages.TodayView{}, err
	}
	for _, a := range t.Attention {
		r := s.genRow(a.Generation, t.Location, a.Units)
		r.Title = titles[r.Jobnet]
		v.Attention = append(v.Attention, r)
	}
	for _, g := range t.Generations {
		r := s.genRow(g, t.Location, nil)
		r.Title = titles[r.Jobnet]
		v.Rows = append(v.Rows, r)
	}
	s.addTodayForecast(ctx, t, &v)
	if t.Offset > 0 {
		v.PrevOffset = max(0, t.Offset-t.Limit)
	}
	if t.Offset+len(t.Generations) < t.Matched {
		v.NextOffset = t.Offset + t.Limit
	}
	qs := url.Values{}
	for _, k := range []string{"date", "calendar", "folder", "state", "q", "offset"} {
		if val := c.QueryParam(k); val != "" {
			qs.Set(k, val)
		}
	}
	if qs.Get("date") == "" {
		qs.Set("date", v.Date)
	}
	v.Query = qs.Encode()
	folders, err := s.p.Ops.DesignFolders(ctx)
	if err != nil {
		return v, err
	}
	for _, f := range folders {
		v.Folders = append(v.Folders, f.Name)
	}
	js, err := s.p.Ops.DesignJobnets(ctx, "")
	if err != nil {
		return v, err
	}
	for _, j := range js {
		v.Jobnets = append(v.Jobnets, j.Path())
	}
	sort.Strings(v.Jobnets)
	return v, nil
}

func (s *Server) todayPage(c echo.Context) error {
	v, err := s.todayView(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.Today(v))
}

func (s *Server) todayLive(c echo.Context) error {
	v, err := s.todayView(c)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.TodayLive(v))
}

// runNowSubmit starts a generation from the run-now form.
func (s *Server) runNowSubmit(c echo.Context) error {
	form := pages.RunNowForm{Jobnet: strings.TrimSpace(c.FormValue("jobnet")), Date: strings.TrimSpace(c.FormValue("date")),
		Params: c.FormValue("params"), Errors: map[string]string{}}
	req := ops.RunNowRequest{Jobnet: form.Jobnet}
	if form.Date != "" {
		d, err := calendar.ParseDate(form.Date)
		if err != nil {
			form.Errors["business_date"] = "want YYYY-MM-DD"
		} else {
			req.BusinessDate = &d
		}
	}
	params, perr := parseParams(form.Params)
	if perr != nil {
		form.Errors["params"] = perr.Error()
	}
	req.Params = params
	if len(form.Errors) == 0 {
		g, err := s.p.Ops.RunNow(c.Request().Context(), actor(c), req)
		if err == nil {
			flash(c, "success", fmt.Sprintf("Started %s for %s.", g.Jobnet, g.BusinessDate))
			return redirect(c, "/runs/"+url.PathEscape(g.ID))
		}
		ps, ok := fault.AsProblems(err)
		if !ok {
			if statusOf(err) >= 500 {
				return err
			}
			form.Error = err.Error()
		}
		for _, p := range ps {
			form.Errors[p.Path] = p.Message
		}
		if ok {
			form.Error = err.Error()
		}
	}
	v, err := s.todayView(c)
	if err != nil {
		return err
	}
	v.RunNow = form
	return s.render(c, http.StatusUnprocessableEntity, pages.Today(v))
}

// parseParams reads KEY=value lines (or comma-free pairs separated by
// newlines) into a map.
func parseParams(text string) (map[string]string, error) {
	out := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("line %d: %q: want KEY=value", i+1, line)
		}
		out[k] = v
	}
	return out, nil
}
