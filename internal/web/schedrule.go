package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
	"github.com/koyomi-dev/koyomi/views"
	"github.com/koyomi-dev/koyomi/views/components"
	"github.com/koyomi-dev/koyomi/views/pages"
)

var ruleKinds = []string{"day", "month_end", "open_day", "open_day_from_end", "weekday_of_month", "every", "dates", "daily", "weekdays"}

var rulePathRe = regexp.MustCompile(`^schedule\[(\d+)\](?:\.(.*))?$`)

func calJoinDates(ds []calendar.Date) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return strings.Join(s, ", ")
}

// ruleToForm writes a stored rule as form values.
func ruleToForm(i int, r jobnet.Rule) pages.RuleForm {
	f := pages.RuleForm{Index: i, Name: r.Name, Kind: string(r.Kind), Period: string(r.Period), Unit: string(r.Unit),
		Closed: string(r.Closed), Dates: calJoinDates(r.Dates), Exclude: calJoinDates(r.Exclude),
		ExclusiveWith: strings.Join(r.ExclusiveWith, ", "), Errors: map[string]string{}}
	itoa := func(n int) string {
		if n == 0 {
			return ""
		}
		return strconv.Itoa(n)
	}
	f.Day, f.Every, f.MaxShift, f.Offset, f.Nth = itoa(r.Day), itoa(r.Every), itoa(r.MaxShift), itoa(r.Offset), itoa(r.Nth)
	if r.Weekday != nil {
		f.Weekday = r.Weekday.String()
	}
	for _, w := range r.Weekdays {
		if w >= 0 && w <= 6 {
			f.Weekdays[(int(w)+6)%7] = true
		}
	}
	if r.Anchor != nil {
		f.Anchor = r.Anchor.String()
	}
	st := make([]string, len(r.Start))
	for k, s := range r.Start {
		st[k] = s.String()
	}
	f.Start = strings.Join(st, ", ")
	if r.Repeat != nil {
		f.RepeatEvery, f.RepeatUntil = time.Duration(r.Repeat.Every).String(), r.Repeat.Until.String()
	}
	if r.ValidFrom != nil {
		f.ValidFrom = r.ValidFrom.String()
	}
	if r.ValidTo != nil {
		f.ValidTo = r.ValidTo.String()
	}
	return f
}

func calSplitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' }) {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// readRules parses the rule forms (schedule[i].field) as typed. Parse
// problems carry the paths jobnet.ValidateRules uses.
func readRules(c echo.Context) ([]pages.RuleForm, []jobnet.Rule, fault.Problems) {
	form, _ := c.FormParams()
	n, _ := strconv.Atoi(form.Get("count"))
	n = min(max(n, 0), jobnet.MaxRules)
	var forms []pages.RuleForm
	var rules []jobnet.Rule
	var ps fault.Problems
	for i := range n {
		get := func(f string) string { return strings.TrimSpace(form.Get(fmt.Sprintf("schedule[%d].%s", i, f))) }
		path := func(f string) string { return fmt.Sprintf("schedule[%d].%s", i, f) }
		f := pages.RuleForm{Index: i, Name: get("name"), Kind: get("kind"), Period: get("period"), Day: get("day"), Nth: get("nth"),
			Weekday: get("weekday"), Every: get("every"), Unit: get("unit"), Anchor: get("anchor"), Dates: get("dates"),
			Closed: get("closed"), MaxShift: get("max_shift"), Offset: get("offset"), Exclude: get("exclude"),
			ExclusiveWith: get("exclusive_with"), Start: get("start"), RepeatEvery: get("repeat.every"),
			RepeatUntil: get("repeat.until"), ValidFrom: get("valid_from"), ValidTo: get("valid_to"), Errors: map[string]string{}}
		r := jobnet.Rule{Name: f.Name, Kind: jobnet.RuleKind(f.Kind), Closed: jobnet.Substitution(f.Closed)}
		num := func(field, v string, dst *int) {
			if v == "" {
				return
			}
			x, err := strconv.Atoi(v)
			if err != nil {
				ps.Add(path(field), "%q: not a whole number", v)
				return
			}
			*dst = x
		}
		date := func(field, v string) *calendar.Date {
			if v == "" {
				return nil
			}
			d, err := calendar.ParseDate(v)
			if err != nil {
				ps.Add(path(field), "%q: want YYYY-MM-DD", v)
				return nil
			}
			return &d
		}
		dates := func(field, v string) []calendar.Date {
			var out []calendar.Date
			for _, p := range calSplitList(v) {
				if d := date(field, p); d != nil {
					out = append(out, *d)
				}
			}
			return out
		}
		num("max_shift", f.MaxShift, &r.MaxShift)
		num("offset", f.Offset, &r.Offset)
		switch r.Kind {
		case jobnet.RuleDay, jobnet.RuleMonthEnd:
			num("day", f.Day, &r.Day)
		case jobnet.RuleOpenDay, jobnet.RuleOpenDayFromEnd:
			num("day", f.Day, &r.Day)
			if f.Period != "month" {
				r.Period = jobnet.Period(f.Period)
			}
		case jobnet.RuleWeekdayOfMonth:
			num("nth", f.Nth, &r.Nth)
			if w, err := calendar.ParseWeekday(f.Weekday); err == nil {
				r.Weekday = &w
			} else if f.Weekday != "" {
				ps.Add(path("weekday"), "%v", err)
			}
		case jobnet.RuleEvery:
			num("every", f.Every, &r.Every)
			r.Unit = jobnet.EveryUnit(f.Unit)
			r.Anchor = date("anchor", f.Anchor)
		case jobnet.RuleDates:
			r.Dates = dates("dates", f.Dates)
		case jobnet.RuleWeekdays:
			for k, code := range components.WeekdayCodes {
				if slices.Contains(form[path("weekdays")], code) {
					f.Weekdays[k] = true
					w, _ := calendar.ParseWeekday(code)
					r.Weekdays = append(r.Weekdays, w)
				}
			}
		}
		r.Exclude = dates("exclude", f.Exclude)
		for _, e := range calSplitList(f.ExclusiveWith) {
			r.ExclusiveWith = append(r.ExclusiveWith, e)
		}
		for _, st := range calSplitList(f.Start) {
			t, err := calendar.ParseClockTime(st)
			if err != nil {
				ps.Add(path("start"), "%v", err)
				continue
			}
			r.Start = append(r.Start, t)
		}
		if f.RepeatEvery != "" || f.RepeatUntil != "" {
			rep := &jobnet.Repeat{}
			if d, err := time.ParseDuration(f.RepeatEvery); err != nil {
				ps.Add(path("repeat.every"), "%q: want a duration such as 30m or 1h", f.RepeatEvery)
			} else {
				rep.Every = jobnet.Duration(d)
			}
			if t, err := calendar.ParseClockTime(f.RepeatUntil); err != nil {
				ps.Add(path("repeat.until"), "%v", err)
			} else {
				rep.Until = t
			}
			r.Repeat = rep
		}
		r.ValidFrom, r.ValidTo = date("valid_from", f.ValidFrom), date("valid_to", f.ValidTo)
		forms = append(forms, f)
		rules = append(rules, r)
	}
	return forms, rules, ps
}

// attachErrors puts problems on their rule fields; the rest are returned.
func attachErrors(forms []pages.RuleForm, ps fault.Problems) fault.Problems {
	var rest fault.Problems
	for _, p := range ps {
		m := rulePathRe.FindStringSubmatch(p.Path)
		if m == nil {
			rest = append(rest, p)
			continue
		}
		i, _ := strconv.Atoi(m[1])
		if i >= len(forms) {
			rest = append(rest, p)
			continue
		}
		f := calProblemField(m[2], "")
		if prev, ok := forms[i].Errors[f]; ok {
			forms[i].Errors[f] = prev + "; " + p.Message
		} else {
			forms[i].Errors[f] = p.Message
		}
	}
	return rest
}

func (s *Server) scheduleYear(c echo.Context) int {
	y, err := strconv.Atoi(c.FormValue("year"))
	if err != nil || y < 1900 || y > 2200 {
		return s.p.Now().Year()
	}
	return y
}

// schedulePreview plans the rules over the year and builds the grid.
func (s *Server) schedulePreview(c echo.Context, folder, name string, rules []jobnet.Rule, parsed fault.Problems, y int) (pages.SchedulePreviewView, fault.Problems) {
	pv := pages.SchedulePreviewView{Year: y}
	from, to := calendar.NewDate(y, 1, 1), calendar.NewDate(y, 12, 31)
	var probs fault.Problems
	var res plan.Result
	var cal *calendar.Calendar
	if len(parsed) > 0 {
		probs = parsed
		if p, err := s.p.Ops.PreviewSchedule(c.Request().Context(), folder, name, nil, from, to); err == nil {
			cal = p.Calendar
		} else {
			pv.Error = err.Error()
		}
	} else {
		p, err := s.p.Ops.PreviewSchedule(c.Request().Context(), folder, name, rules, from, to)
		cal, res = p.Calendar, p.Result
		if err != nil {
			if ps, ok := fault.AsProblems(err); ok {
				probs = ps
			} else {
				pv.Error = err.Error()
			}
		}
	}
	for _, p := range probs {
		pv.Problems = append(pv.Problems, pages.ProblemRow{Field: p.Path, Message: p.Message})
	}
	runs := runsByDay(res.Runs)
	pv.Runs, pv.Days = len(res.Runs), len(runs)
	var today calendar.Date
	if cal != nil {
		today = calendar.DateOf(s.p.Now().In(cal.Location()))
	}
	lctx := s.langCtx(c)
	pv.Grid = calYearGrid(views.WithPage(c.Request().Context(), s.pageContext(c)), "sched-year", y, func(d calendar.Date, cell *components.CalDay) {
		cell.Today = d == today
		if cal != nil {
			st := cal.Status(d)
			cell.Class, cell.Title = calDayClass(st), st.Reason
		}
		if day := runs[d]; day != nil {
			cell.Runs = day.count
			cell.Explain = day.explain(lctx, d)
			cell.Title = cell.Explain
		}
	})
	pv.Grid.Legend = "schedule"
	for _, d := range res.Dropped {
		pv.Dropped = append(pv.Dropped, pages.DroppedRow{Date: d.Date.String(), Rule: d.Rule, Reason: string(d.Reason), Explanation: d.Explanation})
	}
	return pv, probs
}

func (s *Server) scheduleView(c echo.Context, forms []pages.RuleForm) (pages.ScheduleView, error) {
	ctx := c.Request().Context()
	folder, name := c.Param("folder"), c.Param("name")
	cur, err := s.p.Ops.JobnetSchedule(ctx, folder, name)
	if err != nil {
		return pages.ScheduleView{}, err
	}
	v := pages.ScheduleView{Folder: folder, Name: name, Version: cur.Version, Rules: forms, Kinds: ruleKinds}
	if cat, err := s.p.Ops.Catalog(ctx); err == nil {
		if j, ok := cat.Jobnet(cur.Jobnet.Path()); ok {
			v.Calendar = cat.CalendarName(j)
		}
		for _, j := range cat.Jobnets() {
			if j.Path() != cur.Jobnet.Path() {
				v.Jobnets = append(v.Jobnets, j.Path())
			}
		}
	}
	return v, nil
}

func (s *Server) schedulePage(c echo.Context) error {
	folder, name := c.Param("folder"), c.Param("name")
	cur, err := s.p.Ops.JobnetSchedule(c.Request().Context(), folder, name)
	if err != nil {
		return err
	}
	var forms []pages.RuleForm
	for i, r := range cur.Jobnet.Rules {
		forms = append(forms, ruleToForm(i, r))
	}
	v, err := s.scheduleView(c, forms)
	if err != nil {
		return err
	}
	v.Year = s.p.Now().Year()
	if q := c.QueryParam("year"); q != "" {
		if y, err := strconv.Atoi(q); err == nil && y >= 1900 && y <= 2200 {
			v.Year = y
		}
	}
	var probs fault.Problems
	v.Preview, probs = s.schedulePreview(c, folder, name, cur.Jobnet.Rules, nil, v.Year)
	attachErrors(v.Rules, probs)
	return s.render(c, http.StatusOK, pages.CalendarSchedule(v))
}

// schedulePreviewPost answers the form's htmx preview: the grid alone.
func (s *Server) schedulePreviewPost(c echo.Context) error {
	forms, rules, parsed := readRules(c)
	_ = forms
	pv, _ := s.schedulePreview(c, c.Param("folder"), c.Param("name"), rules, parsed, s.scheduleYear(c))
	return s.render(c, http.StatusOK, pages.SchedulePreview(pv))
}

// scheduleSubmit handles save, add rule and remove rule.
func (s *Server) scheduleSubmit(c echo.Context) error {
	folder, name := c.Param("folder"), c.Param("name")
	forms, rules, parsed := readRules(c)
	op := c.FormValue("op")
	status := http.StatusOK
	var errText string
	switch {
	case op == "add":
		forms = append(forms, pages.RuleForm{Index: len(forms), Kind: "day", Day: "1", Closed: "before", Errors: map[string]string{}})
		rules = append(rules, jobnet.Rule{Kind: jobnet.RuleDay, Day: 1, Closed: jobnet.SubstituteBefore})
	case strings.HasPrefix(op, "remove:"):
		i, err := strconv.Atoi(strings.TrimPrefix(op, "remove:"))
		if err == nil && i >= 0 && i < len(forms) {
			forms, rules = slices.Delete(forms, i, i+1), slices.Delete(rules, i, i+1)
			for k := range forms {
				forms[k].Index = k
			}
			parsed = nil // paths shifted; the preview validates again
		}
	default:
		if len(parsed) == 0 {
			v, err := s.p.Ops.SaveSchedule(c.Request().Context(), actor(c), folder, name, rules)
			if err == nil {
				flash(c, "success", s.calT(c, "sched.saved", v))
				return redirect(c, fmt.Sprintf("/jobnets/%s/%s/schedule?year=%d", url.PathEscape(folder), url.PathEscape(name), s.scheduleYear(c)))
			}
			if !errors.Is(err, fault.ErrInvalid) {
				return err
			}
			ps, _ := fault.AsProblems(err)
			parsed = ps
		}
		status, errText = http.StatusUnprocessableEntity, s.calT(c, "sched.errors")
	}
	v, err := s.scheduleView(c, forms)
	if err != nil {
		return err
	}
	v.Year, v.Error = s.scheduleYear(c), errText
	var probs fault.Problems
	v.Preview, probs = s.schedulePreview(c, folder, name, rules, parsed, v.Year)
	if len(parsed) > 0 {
		probs = parsed
	}
	if rest := attachErrors(v.Rules, probs); len(rest) > 0 && v.Error != "" {
		v.Error += " " + rest.Error()
	}
	return s.render(c, status, pages.CalendarSchedule(v))
}

// runGroup is the runs of one day that one rule planned for one reason:
// the repetitions of a start time ("every minute 05:00–28:59") collapse
// into one line.
type runGroup struct {
	rule, explanation string
	first, last       calendar.ClockTime
	count             int
}

// dayRuns is what the year preview shows of one day: how many runs, and
// why, grouped.
type dayRuns struct {
	count  int
	groups []runGroup
}

// runsByDay groups a plan's runs by business date, in one pass and without
// copying them (a rule repeated every minute plans half a million runs a
// year).
func runsByDay(rs []plan.Run) map[calendar.Date]*dayRuns {
	out := map[calendar.Date]*dayRuns{}
	for i := range rs {
		r := &rs[i]
		day := out[r.BusinessDate]
		if day == nil {
			day = &dayRuns{}
			out[r.BusinessDate] = day
		}
		day.count++
		k := -1
		for j := range day.groups {
			if g := &day.groups[j]; g.rule == r.Rule && g.explanation == r.Explanation {
				k = j
				break
			}
		}
		if k < 0 {
			day.groups = append(day.groups, runGroup{rule: r.Rule, explanation: r.Explanation, first: r.StartClock, last: r.StartClock})
			k = len(day.groups) - 1
		}
		g := &day.groups[k]
		g.count++
		g.first, g.last = min(g.first, r.StartClock), max(g.last, r.StartClock)
	}
	return out
}

// explain says why the day has runs, one line per rule and reason.
func (day *dayRuns) explain(ctx context.Context, d calendar.Date) string {
	date := d.String()
	var b strings.Builder
	for i, g := range day.groups {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(date)
		b.WriteByte(' ')
		if g.count == 1 {
			b.WriteString(g.first.String())
		} else {
			b.WriteString(views.T(ctx, "sched.repeated", g.count, g.first.String(), g.last.String()))
		}
		b.WriteString(" [")
		b.WriteString(g.rule)
		b.WriteString("]: ")
		b.WriteString(g.explanation)
	}
	return b.String()
}
