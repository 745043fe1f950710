package web

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/views"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// Generation page: graph, units, log viewer, explanation, variables, audit
// and the operator actions.

const (
	nodeW = 160
	nodeH = 48
	// pageLogLimit bounds the log text the page embeds; the download has all.
	pageLogLimit = 1 << 20
	// downloadLogLimit bounds a downloaded log.
	downloadLogLimit = 64 << 20
)

var genRerunModes = []string{string(jobrun.RerunFromAbnormal), string(jobrun.RerunAfterAbnormal), string(jobrun.RerunFromTop), string(jobrun.RerunWarningOnly)}
var unitRerunModes = []string{string(jobrun.RerunUnitAlone), string(jobrun.RerunUnitWithSuccessors), string(jobrun.RerunSuccessorsOnly)}

// consoleURL links an execution handle to its console: the AWS console task
// page for an ECS task ARN (arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID).
func consoleURL(h *dispatch.Handle) string {
	if h == nil || h.Executor != string(jobnet.JobECS) {
		return ""
	}
	parts := strings.Split(h.ID, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return ""
	}
	region := parts[3]
	res := strings.Split(parts[5], "/")
	if len(res) != 3 || res[0] != "task" || region == "" || res[1] == "" || res[2] == "" {
		return ""
	}
	return fmt.Sprintf("https://%s.console.aws.amazon.com/ecs/v2/clusters/%s/tasks/%s", url.PathEscape(region), url.PathEscape(res[1]), url.PathEscape(res[2]))
}

// fitLabel shortens s with an ellipsis to about px pixels of the graph's
// label font (a wide character such as 給 counts twice a narrow one).
func fitLabel(s string, px int) string {
	const narrow = 7 // px of a narrow character, bold 12px
	width := func(r rune) int {
		if unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) || r >= 0xFF00 && r <= 0xFFEF {
			return 2 * narrow
		}
		return narrow
	}
	total := 0
	for _, r := range s {
		total += width(r)
	}
	if total <= px {
		return s
	}
	budget := px - 2*narrow // room for the ellipsis
	for i, r := range s {
		if budget -= width(r); budget < 0 {
			return s[:i] + "…"
		}
	}
	return s
}

// runGraphs draws the pinned jobnet's nets (the root net, then each nested
// jobnet) with the units' states.
func runGraphs(j *jobnet.Jobnet, units map[string]store.UnitRun, selected string) []pages.GraphView {
	var out []pages.GraphView
	var walk func(net *jobnet.Net, prefix string)
	walk = func(net *jobnet.Net, prefix string) {
		ops.LayoutNet(net)
		g := pages.GraphView{Title: strings.TrimSuffix(prefix, "/")}
		pos := map[string]jobnet.Position{}
		for _, u := range net.Units {
			p := jobnet.Position{X: ops.LayoutLeft, Y: ops.LayoutTop}
			if u.Position != nil {
				p = *u.Position
			}
			pos[u.Name] = p
			path := prefix + u.Name
			state := string(jobrun.StateWaiting)
			n := pages.GraphNode{X: p.X, Y: p.Y, W: nodeW, H: nodeH, Path: path, Label: fitLabel(u.DisplayName(), nodeW-20), Tip: path,
				Kind: string(u.Kind), Selected: path == selected}
			if u.Title != "" {
				n.Tip = path + " — " + u.Title
			}
			if ur, ok := units[path]; ok {
				state = string(ur.State)
				n.Held, n.Delayed = ur.Held, ur.StartDelayed || ur.EndDelayed
			}
			n.State = state
			g.Nodes = append(g.Nodes, n)
			g.Width = max(g.Width, p.X+nodeW+ops.LayoutLeft)
			g.Height = max(g.Height, p.Y+nodeH+ops.LayoutTop/2)
		}
		for _, e := range net.Edges {
			a, ok1 := pos[e.From]
			b, ok2 := pos[e.To]
			if !ok1 || !ok2 {
				continue
			}
			g.Edges = append(g.Edges, pages.GraphEdge{X1: a.X + nodeW, Y1: a.Y + nodeH/2, X2: b.X - 2, Y2: b.Y + nodeH/2, Kind: string(e.EffectiveKind())})
		}
		out = append(out, g)
		for _, u := range net.Units {
			if u.Net != nil {
				walk(u.Net, prefix+u.Name+"/")
			}
		}
	}
	walk(&j.Net, "")
	return out
}

// runView builds the generation page for a generation and a selected unit.
func (s *Server) runView(c echo.Context, id, unit string, withLog bool) (pages.RunView, error) {
	ctx := c.Request().Context()
	d, err := s.p.Ops.GenerationDetail(ctx, id)
	if err != nil {
		return pages.RunView{}, err
	}
	g := d.Generation
	loc := time.UTC
	if d.Jobnet.Jobnet != nil {
		if _, cal, _, err := s.p.Ops.MainCalendar(ctx, ""); err == nil && cal != nil {
			loc = cal.Location()
		}
		if cat, err := s.p.Ops.Catalog(ctx); err == nil {
			if cal, err := cat.CalendarOf(d.Jobnet.Jobnet); err == nil {
				loc = cal.Location()
			}
		}
	}
	loc = s.zoneOf(c, loc)
	now := s.p.Now()
	can := views.Can(views.WithPage(ctx, s.pageContext(c)), "operator")
	v := pages.RunView{ID: g.ID, Jobnet: g.Jobnet, Folder: g.Folder, Name: strings.TrimPrefix(g.Jobnet, g.Folder+"/"), Version: g.JobnetVersion,
		State: string(g.State), Held: g.Held, StartDelayed: g.StartDelayed, EndDelayed: g.EndDelayed, BusinessDate: g.BusinessDate.String(),
		Rule: g.Rule, StartClock: g.StartClock.String(), Scheduled: clock(&g.ScheduledAt, loc, g.BusinessDate),
		Started: clock(g.StartedAt, loc, g.BusinessDate), Ended: clock(g.EndedAt, loc, g.BusinessDate), Duration: duration(g.StartedAt, g.EndedAt, now),
		Explanation: g.Explanation, Reason: g.Reason, Zone: loc.String(), Live: !g.State.IsTerminal(), CanOperate: can,
		Updated: calendar.Stamp(now, loc, calendar.StampSeconds), SelectedUnit: unit, RerunModes: genRerunModes, UnitRerunMods: unitRerunModes,
		RetimeValue: g.StartClock.String()}
	if d.Jobnet.Jobnet != nil {
		v.Title = d.Jobnet.Jobnet.Title
	}
	if v.Explanation == "" {
		v.Explanation = "—"
	}
	v.CanHold = can && jobrun.CanTransitionGen(g.State, jobrun.GenHeld, jobrun.CauseHold)
	v.CanRelease = can && g.State == jobrun.GenHeld
	// Kill is for work that has started; a generation that has not (held
	// before its start) is cancelled instead.
	v.CanKill = can && g.StartedAt != nil && jobrun.CanTransitionGen(g.State, jobrun.GenKilled, jobrun.CauseKill)
	v.CanCancel = can && jobrun.CanTransitionGen(g.State, jobrun.GenNotExecuted, jobrun.CauseCancel)
	v.CanRetime = can && g.State.IsPending()
	v.CanRerun = can && g.State.IsTerminal() && g.State.Ran()
	v.Vars = []pages.KV{{K: "KOYOMI_BUSINESS_DATE", V: g.BusinessDate.String()}, {K: "KOYOMI_JOBNET", V: g.Jobnet}, {K: "KOYOMI_RUN_ID", V: g.ID}}
	keys := make([]string, 0, len(g.Params))
	for k := range g.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v.Params = append(v.Params, pages.KV{K: k, V: g.Params[k]})
	}
	titles := map[string]string{}
	if d.Jobnet.Jobnet != nil {
		titles = jobnet.Titles(&d.Jobnet.Jobnet.Net)
	}
	byPath := map[string]store.UnitRun{}
	for _, u := range d.Units {
		byPath[u.Path] = u
		st := u.State
		row := pages.UnitRow{Path: u.Path, Title: titles[u.Path], Depth: strings.Count(u.Path, "/"), Kind: string(u.Kind), State: string(st), Held: u.Held,
			StartDelayed: u.StartDelayed, EndDelayed: u.EndDelayed, KillRequested: u.KillRequested, Attempts: u.Attempt,
			Started: clock(u.StartedAt, loc, g.BusinessDate), Ended: clock(u.EndedAt, loc, g.BusinessDate), Reason: u.Reason}
		if u.StartedAt != nil {
			row.Duration = duration(u.StartedAt, u.EndedAt, now)
		}
		if u.ExitCode != nil {
			row.Exit = strconv.Itoa(*u.ExitCode)
		}
		if u.Handle != nil {
			row.Executor, row.HandleID, row.HandleURL = u.Handle.Executor, u.Handle.ID, consoleURL(u.Handle)
		} else if u.JobType != "" {
			row.Executor = string(u.JobType)
		}
		if can {
			row.CanHold = jobrun.CanTransition(st, jobrun.StateHeld, jobrun.CauseHold)
			row.CanRelease = st == jobrun.StateHeld
			row.CanKill = jobrun.CanTransition(st, jobrun.StateKilled, jobrun.CauseKill) && !u.KillRequested
			row.CanRerun = g.State.IsTerminal() && g.State.Ran() && jobrun.CanTransition(st, jobrun.StateWaiting, jobrun.CauseRerun)
			row.CanMark = jobrun.CanTransition(st, jobrun.StateEndedNormal, jobrun.CauseMark) || jobrun.CanTransition(st, jobrun.StateBypassed, jobrun.CauseMark)
		}
		v.Units = append(v.Units, row)
	}
	if d.Jobnet.Jobnet != nil {
		v.Graphs = runGraphs(d.Jobnet.Jobnet, byPath, unit)
		order := flowOrder(d.Jobnet.Jobnet)
		sort.SliceStable(v.Units, func(i, j int) bool {
			a, okA := order[v.Units[i].Path]
			b, okB := order[v.Units[j].Path]
			if okA != okB {
				return okA
			}
			return a < b
		})
	}
	s.addRunForecast(ctx, g.BusinessDate, loc, &v)
	for _, a := range d.Audit {
		v.Audit = append(v.Audit, pages.AuditRow{At: calendar.Stamp(a.At, loc, calendar.StampFull), Actor: a.Actor, Action: a.Action, Target: a.Target, Detail: a.Detail})
	}
	if unit != "" && withLog {
		u, ok := byPath[unit]
		if !ok {
			return v, fmt.Errorf("unit %q of generation %s: %w", unit, id, fault.ErrNotFound)
		}
		n, err := attemptParam(c)
		if err != nil {
			return v, err
		}
		v.Log = s.logView(c, id, u, n, loc, g.BusinessDate)
	}
	return v, nil
}

func unitLive(u store.UnitRun) bool {
	return u.State == jobrun.StateQueued || u.State == jobrun.StateStarting || u.State == jobrun.StateRunning
}

// readLog reads the log of attempt n of a unit (0: the latest) from cursor
// while more is available, up to limit bytes.
func (s *Server) readLog(c echo.Context, id, unit string, n int, cursor string, limit int) ([]byte, string, error) {
	var buf bytes.Buffer
	for i := 0; i < 100000; i++ {
		ch, err := s.p.Ops.AttemptLogs(c.Request().Context(), id, unit, n, cursor)
		if err != nil {
			return buf.Bytes(), cursor, err
		}
		buf.Write(ch.Data)
		if ch.Next != "" {
			cursor = ch.Next
		}
		if !ch.More || len(ch.Data) == 0 || buf.Len() >= limit {
			break
		}
	}
	return buf.Bytes(), cursor, nil
}

// logView shows the end of attempt n (0: the latest) of a unit's log, at
// most pageLogLimit bytes, with the attempts to choose from.
func (s *Server) logView(c echo.Context, id string, u store.UnitRun, n int, loc *time.Location, date calendar.Date) pages.LogView {
	lv := pages.LogView{Unit: u.Path}
	if u.Kind != jobnet.UnitJob || u.Attempt == 0 && u.Handle == nil && u.DispatchKey == "" {
		lv.Empty = true
		return lv
	}
	as, err := s.p.Ops.UnitAttempts(c.Request().Context(), id, u.Path)
	if err != nil {
		lv.Error = err.Error()
		return lv
	}
	// By default the latest attempt that started (a unit a rerun reset
	// shows the log of the run before it until it starts again).
	for i := len(as) - 1; n == 0 && i >= 0; i-- {
		if as[i].Handle != nil || i == 0 {
			n = as[i].N
		}
	}
	lv.Attempt = n
	for _, a := range as {
		la := pages.LogAttempt{N: a.N, State: a.State, Started: clock(a.StartedAt, loc, date), Selected: a.N == n, Current: a.Current}
		if a.ExitCode != nil {
			la.Exit = strconv.Itoa(*a.ExitCode)
		}
		lv.Attempts = append(lv.Attempts, la)
		if a.N == n && a.Current {
			lv.Live = unitLive(u)
		}
	}
	ch, err := s.p.Ops.AttemptLogTail(c.Request().Context(), id, u.Path, n, "", pageLogLimit)
	lv.Text, lv.Cursor, lv.Skipped = string(ch.Data), ch.Next, ch.Skipped
	if err != nil {
		lv.Error = err.Error()
	}
	lv.Empty = len(ch.Data) == 0
	return lv
}

func (s *Server) runPage(c echo.Context) error {
	v, err := s.runView(c, c.Param("id"), c.QueryParam("unit"), true)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.Run(v))
}

func (s *Server) runLive(c echo.Context) error {
	v, err := s.runView(c, c.Param("id"), c.QueryParam("unit"), false)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.RunLive(v))
}

// runLogTail answers the log poller: the text after cursor and the next
// poller. A poller more than a page behind skips to the end of the log and
// says how much it left out.
func (s *Server) runLogTail(c echo.Context) error {
	id, unit := c.Param("id"), c.QueryParam("unit")
	n, err := attemptParam(c)
	if err != nil {
		return err
	}
	d, err := s.p.Ops.GenerationDetail(c.Request().Context(), id)
	if err != nil {
		return err
	}
	var u *store.UnitRun
	for i := range d.Units {
		if d.Units[i].Path == unit {
			u = &d.Units[i]
		}
	}
	if u == nil {
		return fmt.Errorf("unit %q of generation %s: %w", unit, id, fault.ErrNotFound)
	}
	live := unitLive(*u) && (n == 0 || n == u.Attempt)
	ch, err := s.p.Ops.AttemptLogTail(c.Request().Context(), id, unit, n, c.QueryParam("cursor"), pageLogLimit)
	if err != nil && len(ch.Data) == 0 {
		// The executor may not have the log yet; poll again.
		return s.render(c, http.StatusOK, pages.LogTail(id, unit, n, c.QueryParam("cursor"), "", live))
	}
	text := string(ch.Data)
	if ch.Skipped > 0 {
		text = views.T(views.WithPage(c.Request().Context(), s.pageContext(c)), "ops.log.skipped", pages.Bytes(ch.Skipped)) + "\n" + text
	}
	return s.render(c, http.StatusOK, pages.LogTail(id, unit, n, ch.Next, text, live))
}

// runLogDownload sends the whole log of an attempt of a unit (the latest
// unless ?attempt=N) as a text attachment.
func (s *Server) runLogDownload(c echo.Context) error {
	id, unit := c.Param("id"), c.QueryParam("unit")
	if unit == "" {
		return fmt.Errorf("unit: required: %w", fault.ErrInvalid)
	}
	n, err := attemptParam(c)
	if err != nil {
		return err
	}
	data, _, err := s.readLog(c, id, unit, n, "", downloadLogLimit)
	if err != nil && len(data) == 0 {
		return err
	}
	name := id + "_" + unit
	if n > 0 {
		name += "_attempt" + strconv.Itoa(n)
	}
	name = strings.NewReplacer("/", "_", "\"", "_").Replace(name + ".log")
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", data)
}

// opsFail answers a failed operator action: errors an operator can act on
// (conflict, invalid) go back to the generation page with the message
// (post/redirect/get: reloading that page repeats nothing); others, and a
// generation that does not exist, go to the error handler.
func (s *Server) opsFail(c echo.Context, id string, err error) error {
	code := statusOf(err)
	if code >= 500 || code == http.StatusForbidden || code == http.StatusUnauthorized {
		return err
	}
	if _, gerr := s.p.Ops.GenerationDetail(c.Request().Context(), id); gerr != nil {
		if errors.Is(gerr, fault.ErrNotFound) {
			return err
		}
		return gerr
	}
	flash(c, "error", err.Error())
	back := "/runs/" + url.PathEscape(id)
	if u := c.QueryParam("unit"); u != "" {
		back += "?unit=" + url.QueryEscape(u)
	}
	return redirect(c, back)
}

func (s *Server) opsDone(c echo.Context, id, msg string) error {
	flash(c, "success", msg)
	back := c.FormValue("back")
	if back != "/" && !strings.HasPrefix(back, "/?") {
		back = "/runs/" + url.PathEscape(id)
	}
	return redirect(c, back)
}

func unitOf(c echo.Context) (string, error) {
	u := strings.TrimSpace(c.QueryParam("unit"))
	if u == "" {
		u = strings.TrimSpace(c.FormValue("unit"))
	}
	if u == "" {
		return "", fmt.Errorf("unit: required: %w", fault.ErrInvalid)
	}
	return u, nil
}

// runAction handles POST /runs/:id/:action and /runs/:id/units/:action.
func (s *Server) runAction(unitLevel bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		id, action := c.Param("id"), c.Param("action")
		unit := ""
		if unitLevel {
			u, err := unitOf(c)
			if err != nil {
				return s.opsFail(c, id, err)
			}
			unit = u
		}
		msg, err := s.doAction(c, id, unit, action, func(k string) string { return c.FormValue(k) })
		if err != nil {
			return s.opsFail(c, id, err)
		}
		return s.opsDone(c, id, msg)
	}
}

// doAction performs one operator action through ops; form reads its
// parameters (mode, at, reason, as). It returns the success message.
func (s *Server) doAction(c echo.Context, id, unit, action string, form func(string) string) (string, error) {
	ctx, a := c.Request().Context(), actor(c)
	what := "generation " + id
	if unit != "" {
		what = fmt.Sprintf("unit %q", unit)
	}
	switch action {
	case "hold":
		return "Held " + what + ".", s.p.Ops.Hold(ctx, a, id, unit)
	case "release":
		return "Released " + what + ".", s.p.Ops.Release(ctx, a, id, unit)
	case "kill":
		return "Kill requested for " + what + ".", s.p.Ops.Kill(ctx, a, id, unit)
	case "rerun":
		mode := jobrun.RerunMode(strings.TrimSpace(form("mode")))
		if unit != "" {
			switch mode {
			case "", "alone":
				mode = jobrun.RerunUnitAlone
			case "with_successors":
				mode = jobrun.RerunUnitWithSuccessors
			}
		}
		if !validRerun(mode, unit != "") {
			return "", fmt.Errorf("mode %q: want one of %s: %w", mode, strings.Join(rerunChoices(unit != ""), ", "), fault.ErrInvalid)
		}
		p, err := s.p.Ops.Rerun(ctx, a, id, ops.RerunRequest{Mode: mode, Unit: unit})
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Rerun (%s) of %s: %d unit(s) reset.", mode, what, len(p.Reset)), nil
	case "mark":
		if unit == "" {
			return "", fmt.Errorf("mark: unit: required: %w", fault.ErrInvalid)
		}
		to := jobrun.JobState(form("as"))
		if to != jobrun.StateBypassed && to != jobrun.StateEndedNormal {
			return "", fmt.Errorf("as %q: want bypassed or ended_normal: %w", to, fault.ErrInvalid)
		}
		return fmt.Sprintf("Marked %s %s.", what, to), s.p.Ops.Mark(ctx, a, id, unit, to)
	case "cancel":
		if unit != "" {
			break
		}
		return "Cancelled " + what + ".", s.p.Ops.Cancel(ctx, a, id, strings.TrimSpace(form("reason")))
	case "retime":
		if unit != "" {
			break
		}
		at, err := calendar.ParseClockTime(strings.TrimSpace(form("at")))
		if err != nil {
			return "", fmt.Errorf("at %q: want HH:MM between 00:00 and 47:59: %w", form("at"), fault.ErrInvalid)
		}
		t, err := s.p.Ops.Retime(ctx, a, id, at)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("Start of %s changed to %s.", what, t.Format(time.RFC3339)), nil
	}
	return "", echo.NewHTTPError(http.StatusNotFound, fmt.Sprintf("no action %q", action))
}

func rerunChoices(unit bool) []string {
	if unit {
		return unitRerunModes
	}
	return genRerunModes
}

func validRerun(m jobrun.RerunMode, unit bool) bool {
	for _, x := range rerunChoices(unit) {
		if string(m) == x {
			return true
		}
	}
	return false
}

// flowOrder numbers the unit paths of a jobnet in the order its units run:
// each net in topological order of its edges, units ready together by their
// place on the graph (left to right, then top to bottom, then definition
// order), a nested jobnet's units right after it. A net with a cycle keeps
// the definition order.
func flowOrder(j *jobnet.Jobnet) map[string]int {
	out := map[string]int{}
	var walk func(net *jobnet.Net, prefix string)
	walk = func(net *jobnet.Net, prefix string) {
		for _, i := range topoByPosition(net) {
			u := &net.Units[i]
			out[prefix+u.Name] = len(out)
			if u.Net != nil {
				walk(u.Net, prefix+u.Name+"/")
			}
		}
	}
	walk(&j.Net, "")
	return out
}

// topoByPosition orders a net's unit indexes topologically, breaking ties
// by position (x, then y; a unit without one comes after those with one)
// and then by definition order.
func topoByPosition(net *jobnet.Net) []int {
	n := len(net.Units)
	index := make(map[string]int, n)
	for i, u := range net.Units {
		if _, dup := index[u.Name]; !dup {
			index[u.Name] = i
		}
	}
	succ := make([][]int, n)
	indeg := make([]int, n)
	for _, e := range net.Edges {
		f, okf := index[e.From]
		t, okt := index[e.To]
		if okf && okt && f != t {
			succ[f] = append(succ[f], t)
			indeg[t]++
		}
	}
	less := func(a, b int) bool {
		pa, pb := net.Units[a].Position, net.Units[b].Position
		switch {
		case pa != nil && pb == nil:
			return true
		case pa == nil && pb != nil:
			return false
		case pa != nil && pb != nil && pa.X != pb.X:
			return pa.X < pb.X
		case pa != nil && pb != nil && pa.Y != pb.Y:
			return pa.Y < pb.Y
		}
		return a < b
	}
	var ready []int
	for i := 0; i < n; i++ {
		if indeg[i] == 0 && index[net.Units[i].Name] == i {
			ready = append(ready, i)
		}
	}
	order := make([]int, 0, n)
	for len(ready) > 0 {
		best := 0
		for k := 1; k < len(ready); k++ {
			if less(ready[k], ready[best]) {
				best = k
			}
		}
		cur := ready[best]
		ready = append(ready[:best], ready[best+1:]...)
		order = append(order, cur)
		for _, t := range succ[cur] {
			if indeg[t]--; indeg[t] == 0 {
				ready = append(ready, t)
			}
		}
	}
	if len(order) != len(index) {
		order = order[:0]
		for i := 0; i < n; i++ {
			if index[net.Units[i].Name] == i {
				order = append(order, i)
			}
		}
	}
	return order
}
