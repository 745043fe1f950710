package web

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// REST API of the operations side (/api/v1): JSON in and out, bearer
// tokens, errors as {"error", "problems"} through the shared error handler.
// openapi.yaml documents every route; a test keeps the two in step.

// APIGeneration is a generation as the API returns it.
type APIGeneration struct {
	ID     string `json:"id"`
	Jobnet string `json:"jobnet"`
	// Title is the jobnet's display name, when it has one (給与計算).
	Title         string            `json:"title,omitempty"`
	Folder        string            `json:"folder"`
	JobnetVersion int               `json:"jobnet_version"`
	BusinessDate  string            `json:"business_date"`
	Rule          string            `json:"rule"`
	StartClock    string            `json:"start_clock"`
	ScheduledAt   time.Time         `json:"scheduled_at"`
	State         string            `json:"state"`
	Held          bool              `json:"held"`
	Retimed       bool              `json:"retimed"`
	StartDelayed  bool              `json:"start_delayed"`
	EndDelayed    bool              `json:"end_delayed"`
	StartedAt     *time.Time        `json:"started_at,omitempty"`
	EndedAt       *time.Time        `json:"ended_at,omitempty"`
	Params        map[string]string `json:"params,omitempty"`
	Explanation   string            `json:"explanation,omitempty"`
	Reason        string            `json:"reason,omitempty"`
	Units         []APIUnit         `json:"units,omitempty"`
}

// APIUnit is a unit of a generation as the API returns it.
type APIUnit struct {
	Path string `json:"path"`
	// Title is the unit's display name in the pinned version, when it has one.
	Title         string           `json:"title,omitempty"`
	Kind          string           `json:"kind"`
	JobType       string           `json:"job_type,omitempty"`
	State         string           `json:"state"`
	Held          bool             `json:"held"`
	Attempt       int              `json:"attempt"`
	ExitCode      *int             `json:"exit_code,omitempty"`
	Reason        string           `json:"reason,omitempty"`
	StartDelayed  bool             `json:"start_delayed"`
	EndDelayed    bool             `json:"end_delayed"`
	StartedAt     *time.Time       `json:"started_at,omitempty"`
	EndedAt       *time.Time       `json:"ended_at,omitempty"`
	Handle        *dispatch.Handle `json:"handle,omitempty"`
	KillRequested bool             `json:"kill_requested,omitempty"`
}

// NewAPIGeneration converts a generation and its units to the API form.
func NewAPIGeneration(g store.Generation, units []store.UnitRun) APIGeneration {
	out := APIGeneration{ID: g.ID, Jobnet: g.Jobnet, Folder: g.Folder, JobnetVersion: g.JobnetVersion, BusinessDate: g.BusinessDate.String(),
		Rule: g.Rule, StartClock: g.StartClock.String(), ScheduledAt: g.ScheduledAt, State: string(g.State), Held: g.Held, Retimed: g.Retimed,
		StartDelayed: g.StartDelayed, EndDelayed: g.EndDelayed, StartedAt: g.StartedAt, EndedAt: g.EndedAt, Params: g.Params,
		Explanation: g.Explanation, Reason: g.Reason}
	for _, u := range units {
		out.Units = append(out.Units, APIUnit{Path: u.Path, Kind: string(u.Kind), JobType: string(u.JobType), State: string(u.State), Held: u.Held,
			Attempt: u.Attempt, ExitCode: u.ExitCode, Reason: u.Reason, StartDelayed: u.StartDelayed, EndDelayed: u.EndDelayed,
			StartedAt: u.StartedAt, EndedAt: u.EndedAt, Handle: u.Handle, KillRequested: u.KillRequested})
	}
	return out
}

// NewAPIGenerationOf is NewAPIGeneration with the titles of the jobnet and
// its units in the generation's pinned version.
func NewAPIGenerationOf(d ops.GenerationDetail) APIGeneration {
	out := NewAPIGeneration(d.Generation, d.Units)
	if j := d.Jobnet.Jobnet; j != nil {
		out.Title = j.Title
		titles := jobnet.Titles(&j.Net)
		for i := range out.Units {
			out.Units[i].Title = titles[out.Units[i].Path]
		}
	}
	return out
}

// apiGenerationsLimit bounds a generations listing.
const apiGenerationsLimit = 5000

func (s *Server) apiGenerations(c echo.Context) error {
	q := store.GenerationQuery{Jobnet: c.QueryParam("jobnet"), Folder: c.QueryParam("folder"), Limit: 1000}
	var err error
	if strings.TrimSpace(c.QueryParam("date")) == "current" {
		// The current business date of the jobnet's calendar (else the
		// main calendar's), as the answer's business_date says.
		d, err := s.p.Ops.CurrentBusinessDate(c.Request().Context(), q.Jobnet)
		if err != nil {
			return err
		}
		q.BusinessDate = &d
	} else if q.BusinessDate, err = queryDate(c, "date"); err != nil {
		return fmt.Errorf("date %q: want YYYY-MM-DD, or current for the business date it is now: %w", c.QueryParam("date"), fault.ErrInvalid)
	}
	if q.From, err = queryDate(c, "from"); err != nil {
		return err
	}
	if q.To, err = queryDate(c, "to"); err != nil {
		return err
	}
	if q.States, err = parseStates(c.QueryParam("state")); err != nil {
		return err
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > apiGenerationsLimit {
			return fmt.Errorf("limit %q: want 1-%d: %w", l, apiGenerationsLimit, fault.ErrInvalid)
		}
		q.Limit = n
	}
	gs, err := s.p.Ops.Generations(c.Request().Context(), q)
	if err != nil {
		return err
	}
	titles, err := s.p.Ops.JobnetTitles(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]APIGeneration, 0, len(gs))
	for _, g := range gs {
		a := NewAPIGeneration(g, nil)
		a.Title = titles[g.Jobnet]
		out = append(out, a)
	}
	body := map[string]any{"generations": out}
	if q.BusinessDate != nil {
		body["business_date"] = q.BusinessDate.String()
	}
	return c.JSON(http.StatusOK, body)
}

func (s *Server) apiGeneration(c echo.Context) error {
	d, err := s.p.Ops.GenerationDetail(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, NewAPIGenerationOf(d))
}

// APILogChunk is a piece of a unit's log.
type APILogChunk struct {
	Unit  string `json:"unit"`
	State string `json:"state"`
	Data  string `json:"data"`
	Next  string `json:"next"`
	More  bool   `json:"more"`
	// Attempt is the attempt whose log this is; Attempts lists the unit's
	// attempts, oldest first.
	Attempt  int   `json:"attempt"`
	Attempts []int `json:"attempts"`
}

// apiUnitRoute serves GET /api/v1/generations/:id/units/<path>/logs.
func (s *Server) apiUnitRoute(c echo.Context) error {
	rest := c.Param("*")
	unit, ok := strings.CutSuffix(rest, "/logs")
	if !ok || unit == "" {
		return echo.NewHTTPError(http.StatusNotFound, "want /api/v1/generations/{id}/units/{path}/logs")
	}
	return s.apiLogsOf(c, c.Param("id"), unit)
}

// apiLogs serves GET /api/v1/generations/:id/logs?unit=PATH&cursor=.
func (s *Server) apiLogs(c echo.Context) error {
	unit := c.QueryParam("unit")
	if unit == "" {
		return fmt.Errorf("unit: required: %w", fault.ErrInvalid)
	}
	return s.apiLogsOf(c, c.Param("id"), unit)
}

func (s *Server) apiLogsOf(c echo.Context, id, unit string) error {
	d, err := s.p.Ops.GenerationDetail(c.Request().Context(), id)
	if err != nil {
		return err
	}
	state := ""
	for _, u := range d.Units {
		if u.Path == unit {
			state = string(u.State)
		}
	}
	if state == "" {
		return fmt.Errorf("unit %q of generation %s: %w", unit, id, fault.ErrNotFound)
	}
	n, err := attemptParam(c)
	if err != nil {
		return err
	}
	as, err := s.p.Ops.UnitAttempts(c.Request().Context(), id, unit)
	if err != nil {
		return err
	}
	out := APILogChunk{Unit: unit, State: state, Attempt: n, Attempts: []int{}}
	for _, a := range as {
		out.Attempts = append(out.Attempts, a.N)
		if n == 0 && a.Current {
			out.Attempt = a.N
		}
	}
	ch, err := s.p.Ops.AttemptLogs(c.Request().Context(), id, unit, n, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	out.Data, out.Next, out.More = string(ch.Data), ch.Next, ch.More
	return c.JSON(http.StatusOK, out)
}

// APIAction is the body of an operator action.
type APIAction struct {
	Unit   string `json:"unit,omitempty"`
	Mode   string `json:"mode,omitempty"`
	At     string `json:"at,omitempty"`
	Reason string `json:"reason,omitempty"`
	As     string `json:"as,omitempty"`
}

func bindJSON(c echo.Context, v any) error {
	body, err := io.ReadAll(io.LimitReader(c.Request().Body, 1<<20))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("body: %v: %w", err, fault.ErrInvalid)
	}
	return nil
}

// apiAction serves POST /api/v1/generations/:id/{action} and
// /api/v1/generations/:id/units/<path>/{action} (the unit may also come in
// the body).
func (s *Server) apiAction(unitLevel bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var body APIAction
		if err := bindJSON(c, &body); err != nil {
			return err
		}
		id, action, unit := c.Param("id"), c.Param("action"), ""
		if unitLevel {
			rest := c.Param("*")
			i := strings.LastIndex(rest, "/")
			if i <= 0 {
				return echo.NewHTTPError(http.StatusNotFound, "want /api/v1/generations/{id}/units/{path}/{action}")
			}
			unit, action = rest[:i], rest[i+1:]
		}
		msg, err := s.doAction(c, id, unit, action, func(k string) string {
			switch k {
			case "mode":
				return body.Mode
			case "at":
				return body.At
			case "reason":
				return body.Reason
			case "as":
				return body.As
			}
			return ""
		})
		if err != nil {
			return err
		}
		d, err := s.p.Ops.GenerationDetail(c.Request().Context(), id)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"message": msg, "generation": NewAPIGenerationOf(d)})
	}
}

// APIRunNow is the body of a run-now request.
type APIRunNow struct {
	BusinessDate string            `json:"business_date,omitempty"`
	Params       map[string]string `json:"params,omitempty"`
}

func (s *Server) apiRunNow(c echo.Context) error {
	var body APIRunNow
	if err := bindJSON(c, &body); err != nil {
		return err
	}
	req := ops.RunNowRequest{Jobnet: c.Param("folder") + "/" + c.Param("name"), Params: body.Params}
	if body.BusinessDate != "" {
		d, err := calendar.ParseDate(body.BusinessDate)
		if err != nil {
			return fault.Problems{{Path: "business_date", Message: fmt.Sprintf("%q: want YYYY-MM-DD", body.BusinessDate)}}
		}
		req.BusinessDate = &d
	}
	g, err := s.p.Ops.RunNow(c.Request().Context(), actor(c), req)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, NewAPIGeneration(g, nil))
}

// APIJobnet is a jobnet in the API's list.
type APIJobnet struct {
	Folder    string    `json:"folder"`
	Name      string    `json:"name"`
	Version   int       `json:"version"`
	Calendar  string    `json:"calendar,omitempty"`
	Schedule  string    `json:"schedule,omitempty"`
	Units     int       `json:"units"`
	ChangedBy string    `json:"changed_by,omitempty"`
	ChangedAt time.Time `json:"changed_at"`
}

func (s *Server) apiJobnets(c echo.Context) error {
	js, err := s.p.Ops.DesignJobnets(c.Request().Context(), c.QueryParam("folder"))
	if err != nil {
		return err
	}
	out := make([]APIJobnet, 0, len(js))
	for _, j := range js {
		out = append(out, APIJobnet{Folder: j.Folder, Name: j.Name, Version: j.Version, Calendar: j.Calendar, Schedule: j.Rules, Units: j.Units,
			ChangedBy: j.ChangedBy, ChangedAt: j.ChangedAt})
	}
	return c.JSON(http.StatusOK, map[string]any{"jobnets": out})
}

func (s *Server) apiJobnet(c echo.Context) error {
	version := 0
	if v := c.QueryParam("version"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("version %q: want a positive number: %w", v, fault.ErrInvalid)
		}
		version = n
	}
	jv, err := s.p.Ops.JobnetVersion(c.Request().Context(), c.Param("folder"), c.Param("name"), version)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"version": jv.Version, "hash": jv.Hash, "created_by": jv.CreatedBy, "created_at": jv.CreatedAt,
		"definition": jv.Jobnet})
}

// APIApplied is one line of an apply result.
type APIApplied struct {
	Kind    string `json:"kind"`
	Name    string `json:"name"`
	Change  string `json:"change"`
	Version int    `json:"version,omitempty"`
}

// apiApply applies definitions: a YAML body (any content type but JSON) or
// a JSON bundle; ?dry_run=true only validates.
func (s *Server) apiApply(c echo.Context) error {
	dry := false
	if v := c.QueryParam("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("dry_run %q: want true or false: %w", v, fault.ErrInvalid)
		}
		dry = b
	}
	data, err := io.ReadAll(io.LimitReader(c.Request().Body, 8<<20+1))
	if err != nil {
		return fmt.Errorf("read body: %w", err)
	}
	if len(data) > 8<<20 {
		return echo.NewHTTPError(http.StatusRequestEntityTooLarge, "definitions larger than 8 MiB")
	}
	var b *jobnet.Bundle
	mt, _, _ := mime.ParseMediaType(c.Request().Header.Get("Content-Type"))
	if mt == "application/json" {
		b = &jobnet.Bundle{}
		if err := json.Unmarshal(data, b); err != nil {
			return fmt.Errorf("bundle: %v: %w", err, fault.ErrInvalid)
		}
	} else if b, err = jobnet.ParseFile("body", data); err != nil {
		return err
	}
	res, err := s.p.Ops.Apply(c.Request().Context(), actor(c), b, dry)
	if err != nil {
		return err
	}
	out := make([]APIApplied, 0, len(res.Objects))
	for _, o := range res.Objects {
		out = append(out, APIApplied{Kind: o.Kind, Name: o.Name, Change: string(o.Change), Version: o.Version})
	}
	return c.JSON(http.StatusOK, map[string]any{"dry_run": res.DryRun, "objects": out})
}

func (s *Server) apiCalendars(c echo.Context) error {
	cs, err := s.p.Ops.CalendarList(c.Request().Context())
	if err != nil {
		return err
	}
	type cal struct {
		Version    int `json:"version"`
		Definition any `json:"definition"`
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].Def.Name < cs[j].Def.Name })
	out := make([]cal, 0, len(cs))
	for _, x := range cs {
		out = append(out, cal{Version: x.Version, Definition: x.Def})
	}
	return c.JSON(http.StatusOK, map[string]any{"calendars": out})
}

// APIDay is one date of a calendar.
type APIDay struct {
	Date   string `json:"date"`
	Open   bool   `json:"open"`
	Reason string `json:"reason,omitempty"`
}

// apiRange reads from/to (default: this month of the clock, at most three years).
func (s *Server) apiRange(c echo.Context) (calendar.Date, calendar.Date, error) {
	from, err := queryDate(c, "from")
	if err != nil {
		return 0, 0, err
	}
	to, err := queryDate(c, "to")
	if err != nil {
		return 0, 0, err
	}
	today := calendar.DateOf(s.p.Now().UTC())
	f, t := today.FirstOfMonth(), today.FirstOfMonth().AddMonths(1).AddDays(-1)
	if from != nil {
		f = *from
	}
	if to != nil {
		t = *to
	} else if from != nil {
		t = f.AddMonths(1).AddDays(-1)
	}
	if t < f {
		return 0, 0, fmt.Errorf("to %s is before from %s: %w", t, f, fault.ErrInvalid)
	}
	if t-f > 3*366 {
		return 0, 0, fmt.Errorf("from %s to %s: at most three years: %w", f, t, fault.ErrInvalid)
	}
	return f, t, nil
}

func (s *Server) apiCalendarDays(c echo.Context) error {
	f, t, err := s.apiRange(c)
	if err != nil {
		return err
	}
	cal, err := s.p.Ops.BuildCalendar(c.Request().Context(), c.Param("name"))
	if err != nil {
		return err
	}
	out := make([]APIDay, 0, t-f+1)
	for d := f; d <= t; d++ {
		st := cal.Status(d)
		out = append(out, APIDay{Date: d.String(), Open: st.Open, Reason: st.Reason})
	}
	bd := cal.BusinessDate(s.p.Now())
	return c.JSON(http.StatusOK, map[string]any{"calendar": cal.Name(), "business_date": bd.String(), "days": out})
}

// APIPlanRun is one planned run: the same fields as `koyomi plan -o json`.
type APIPlanRun struct {
	Jobnet       string `json:"jobnet"`
	Rule         string `json:"rule"`
	BusinessDate string `json:"business_date"`
	Start        string `json:"start"`
	Explanation  string `json:"explanation"`
}

func (s *Server) apiPlan(c echo.Context) error {
	f, t, err := s.apiRange(c)
	if err != nil {
		return err
	}
	runs, err := s.p.Ops.PlanRows(c.Request().Context(), f, t, c.QueryParam("jobnet"))
	if err != nil {
		return err
	}
	out := make([]APIPlanRun, 0, len(runs))
	for _, r := range runs {
		out = append(out, APIPlanRun{Jobnet: r.Jobnet, Rule: r.Rule, BusinessDate: r.BusinessDate.String(), Start: r.Start.Format(time.RFC3339), Explanation: r.Explanation})
	}
	return c.JSON(http.StatusOK, out)
}

// attemptParam reads ?attempt=N (0 when absent: the latest attempt).
func attemptParam(c echo.Context) (int, error) {
	v := strings.TrimSpace(c.QueryParam("attempt"))
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("attempt %q: want a number from 1: %w", v, fault.ErrInvalid)
	}
	return n, nil
}
