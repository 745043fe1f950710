package web

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/views"
	"github.com/koyomi-dev/koyomi/views/components"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// calZones feed the time zone datalist; any IANA zone is accepted.
var calZones = []string{"UTC", "Asia/Tokyo", "Asia/Seoul", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Singapore",
	"Asia/Kolkata", "Australia/Sydney", "Europe/London", "Europe/Paris", "Europe/Berlin", "America/New_York",
	"America/Chicago", "America/Denver", "America/Los_Angeles", "America/Toronto", "America/Sao_Paulo"}

var calendarNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}$`)

// t translates for the request.
func (s *Server) calT(c echo.Context, key string, args ...any) string {
	ctx := views.WithPage(c.Request().Context(), s.pageContext(c))
	return views.T(ctx, key, args...)
}

// problemField turns a problem path into a form field name:
// `calendars[x].holiday_sets[1]` → `holiday_sets`.
func calProblemField(path, strip string) string {
	path = strings.TrimPrefix(path, strip)
	path = strings.TrimPrefix(path, ".")
	for strings.HasSuffix(path, "]") {
		i := strings.LastIndex(path, "[")
		if i <= 0 {
			break
		}
		path = path[:i]
	}
	return path
}

// fieldErrors maps an error to per-field messages ("" = general).
func calFieldErrors(err error, strip string) map[string]string {
	out := map[string]string{}
	ps, ok := fault.AsProblems(err)
	if !ok {
		out[""] = err.Error()
		return out
	}
	for _, p := range ps {
		f := calProblemField(p.Path, strip)
		if prev, dup := out[f]; dup {
			out[f] = prev + "; " + p.Message
		} else {
			out[f] = p.Message
		}
	}
	return out
}

func (s *Server) settingsForm(c echo.Context, def calendar.Definition, isNew bool) (components.CalSettings, error) {
	f := components.CalSettings{New: isNew, Name: def.Name, Description: def.Description, TimeZone: def.TimeZone,
		MonthNaming: string(def.MonthNaming), Parent: def.Parent, Zones: calZones, Errors: map[string]string{}}
	if isNew {
		f.Action = "/calendars"
	} else {
		f.Action = "/calendars/" + def.Name + "/settings"
	}
	if def.BaseTime != 0 {
		f.BaseTime = def.BaseTime.String()
	}
	if def.BaseDay != 0 {
		f.BaseDay = strconv.Itoa(def.BaseDay)
	}
	for _, w := range def.ClosedWeekdays {
		if w >= 0 && w <= 6 {
			f.Closed[(int(w)+6)%7] = true
		}
	}
	for _, si := range calendar.BuiltinSetInfos() {
		f.Sets = append(f.Sets, components.CalSetOption{ID: si.ID, Description: s.setDescription(c, si), Checked: slices.Contains(def.HolidaySets, si.ID)})
	}
	cals, err := s.p.Ops.CalendarList(c.Request().Context())
	if err != nil {
		return f, err
	}
	for _, cs := range cals {
		if cs.Def.Name != def.Name {
			f.Parents = append(f.Parents, cs.Def.Name)
		}
	}
	return f, nil
}

// readSettings parses the settings form into def (keeping name and
// overrides); field errors name the form fields.
func readSettings(c echo.Context, def calendar.Definition) (calendar.Definition, map[string]string) {
	errs := map[string]string{}
	def.Description = strings.TrimSpace(c.FormValue("description"))
	def.TimeZone = strings.TrimSpace(c.FormValue("time_zone"))
	def.BaseTime, def.BaseDay = 0, 0
	if v := strings.TrimSpace(c.FormValue("base_time")); v != "" {
		t, err := calendar.ParseClockTime(v)
		if err != nil {
			errs["base_time"] = err.Error()
		} else {
			def.BaseTime = t
		}
	}
	if v := strings.TrimSpace(c.FormValue("base_day")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			errs["base_day"] = fmt.Sprintf("%q: must be a number 1-28", v)
		} else {
			def.BaseDay = n
		}
	}
	def.MonthNaming = calendar.MonthNaming(c.FormValue("month_naming"))
	if def.MonthNaming == calendar.MonthNamingStart {
		def.MonthNaming = ""
	}
	def.Parent = strings.TrimSpace(c.FormValue("parent"))
	form, _ := c.FormParams()
	def.ClosedWeekdays = nil
	for _, code := range components.WeekdayCodes {
		if slices.Contains(form["closed_weekdays"], code) {
			w, _ := calendar.ParseWeekday(code)
			def.ClosedWeekdays = append(def.ClosedWeekdays, w)
		}
	}
	def.HolidaySets = nil
	for _, id := range form["holiday_sets"] {
		if !slices.Contains(def.HolidaySets, id) {
			def.HolidaySets = append(def.HolidaySets, id)
		}
	}
	return def, errs
}

func (s *Server) calendarList(c echo.Context) error {
	v, err := s.calendarListView(c, calendar.Definition{ClosedWeekdays: []calendar.Weekday{calendar.Weekday(6), calendar.Weekday(0)}})
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.CalendarList(v))
}

func (s *Server) calendarListView(c echo.Context, newDef calendar.Definition) (pages.CalendarListView, error) {
	var v pages.CalendarListView
	cals, err := s.p.Ops.CalendarList(c.Request().Context())
	if err != nil {
		return v, err
	}
	for _, cs := range cals {
		d := cs.Def
		row := pages.CalendarRow{Name: d.Name, TimeZone: calOr(d.TimeZone, "UTC"), BaseTime: d.BaseTime.String(), Parent: d.Parent,
			Description: d.Description, BaseDay: max(d.BaseDay, 1), Overrides: len(d.Overrides), Version: cs.Version, Sets: d.HolidaySets}
		var wd []string
		for _, w := range d.ClosedWeekdays {
			wd = append(wd, s.calT(c, "cal.wd."+w.String()))
		}
		row.Weekly = strings.Join(wd, " ")
		v.Calendars = append(v.Calendars, row)
	}
	for _, si := range calendar.BuiltinSetInfos() {
		v.Sets = append(v.Sets, pages.HolidaySetRow{ID: si.ID, Description: s.setDescription(c, si), Source: si.Source})
	}
	v.New, err = s.settingsForm(c, newDef, true)
	return v, err
}

// setDescription is a built-in holiday set's description in the page's
// language (the set's own English one when none is translated).
func (s *Server) setDescription(c echo.Context, si calendar.SetInfo) string {
	key := "cal.set." + si.ID
	if d := s.calT(c, key); d != key {
		return d
	}
	return si.Description
}

func calOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (s *Server) calendarCreate(c echo.Context) error {
	name := strings.TrimSpace(c.FormValue("name"))
	def, errs := readSettings(c, calendar.Definition{Name: name})
	if !calendarNameRe.MatchString(name) {
		errs["name"] = fmt.Sprintf("%q: use letters, digits, '.', '_' and '-' (at most 100), starting with a letter or digit", name)
	} else if _, _, err := s.p.Ops.CalendarDef(c.Request().Context(), name); err == nil {
		errs["name"] = fmt.Sprintf("calendar %q already exists", name)
	}
	if len(errs) == 0 {
		if _, err := s.p.Ops.SaveCalendar(c.Request().Context(), actor(c), def); err != nil {
			if !errors.Is(err, fault.ErrInvalid) {
				return err
			}
			errs = calFieldErrors(err, "")
		}
	}
	if len(errs) > 0 {
		v, err := s.calendarListView(c, def)
		if err != nil {
			return err
		}
		v.New.Errors, v.ShowNew = errs, true
		return s.render(c, http.StatusUnprocessableEntity, pages.CalendarList(v))
	}
	flash(c, "success", s.calT(c, "cal.created", name))
	return redirect(c, "/calendars/"+url.PathEscape(name))
}

func (s *Server) yearParam(c echo.Context, cal *calendar.Calendar) (int, error) {
	if v := c.QueryParam("year"); v != "" {
		y, err := strconv.Atoi(v)
		if err != nil || y < 1900 || y > 2200 {
			return 0, fmt.Errorf("%s: %w", s.calT(c, "cal.bad.year", v), fault.ErrInvalid)
		}
		return y, nil
	}
	return s.p.Now().In(cal.Location()).Year(), nil
}

// calendarGrid builds the editor grid of one year.
func (s *Server) calendarGrid(c echo.Context, name string, cal *calendar.Calendar, y int) (components.CalYear, int, int) {
	today := calendar.DateOf(s.p.Now().In(cal.Location()))
	designer := views.Can(views.WithPage(c.Request().Context(), s.pageContext(c)), "designer")
	open, closed := 0, 0
	g := calYearGrid(views.WithPage(c.Request().Context(), s.pageContext(c)), "cal-year", y, func(d calendar.Date, cell *components.CalDay) {
		st := cal.Status(d)
		cell.Class, cell.Title, cell.Today = calDayClass(st), st.Reason, d == today
		if st.Open {
			open++
		} else {
			closed++
		}
		if designer {
			cell.Href = "/calendars/" + name + "/day/" + d.String()
		}
	})
	g.Target, g.Legend = "#day-panel", "calendar"
	return g, open, closed
}

func (s *Server) calendarEdit(c echo.Context) error {
	return s.renderCalendarEdit(c, nil, nil, http.StatusOK)
}

// renderCalendarEdit renders the editor; typed and errs, when set, are the
// settings form as submitted with its errors.
func (s *Server) renderCalendarEdit(c echo.Context, typed *calendar.Definition, errs map[string]string, status int) error {
	ctx := c.Request().Context()
	name := c.Param("name")
	def, version, err := s.p.Ops.CalendarDef(ctx, name)
	if err != nil {
		return err
	}
	cal, err := s.p.Ops.BuildCalendar(ctx, name)
	if err != nil {
		return err
	}
	y, err := s.yearParam(c, cal)
	if err != nil {
		return err
	}
	v := pages.CalendarEditView{Name: name, Version: version, Year: y}
	v.Grid, v.Open, v.Closed = s.calendarGrid(c, name, cal, y)
	formDef := def
	if typed != nil {
		formDef = *typed
	}
	if v.Settings, err = s.settingsForm(c, formDef, false); err != nil {
		return err
	}
	if typed != nil {
		// Keep what was typed for fields that did not parse.
		v.Settings.TimeZone = c.FormValue("time_zone")
		v.Settings.BaseTime = c.FormValue("base_time")
		v.Settings.BaseDay = c.FormValue("base_day")
	}
	if errs != nil {
		v.Settings.Errors = errs
	}
	if cat, err := s.p.Ops.Catalog(ctx); err == nil {
		for _, j := range cat.Jobnets() {
			if len(j.Rules) > 0 && cat.UsesCalendar(j, name) {
				v.Users = append(v.Users, j.Path())
			}
		}
	}
	return s.render(c, status, pages.CalendarEdit(v))
}

func (s *Server) calendarSettings(c echo.Context) error {
	ctx := c.Request().Context()
	name := c.Param("name")
	def, version, err := s.p.Ops.CalendarDef(ctx, name)
	if err != nil {
		return err
	}
	next, errs := readSettings(c, def)
	if len(errs) == 0 {
		v, err := s.p.Ops.SaveCalendar(ctx, actor(c), next)
		switch {
		case err == nil:
			if v == version {
				flash(c, "info", s.calT(c, "cal.unchanged"))
			} else {
				flash(c, "success", s.calT(c, "cal.saved", v))
			}
			return redirect(c, "/calendars/"+url.PathEscape(name))
		case errors.Is(err, fault.ErrInvalid):
			errs = calFieldErrors(err, "")
		default:
			return err
		}
	}
	if _, ok := errs[""]; !ok {
		errs[""] = s.calT(c, "cal.errors")
	}
	return s.renderCalendarEdit(c, &next, errs, http.StatusUnprocessableEntity)
}

func (s *Server) dayParam(c echo.Context) (calendar.Date, error) {
	d, err := calendar.ParseDate(c.Param("date"))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.calT(c, "cal.bad.date", c.Param("date")), fault.ErrInvalid)
	}
	return d, nil
}

func (s *Server) calendarDayForm(c echo.Context) error {
	name := c.Param("name")
	d, err := s.dayParam(c)
	if err != nil {
		return err
	}
	cal, err := s.p.Ops.BuildCalendar(c.Request().Context(), name)
	if err != nil {
		return err
	}
	st := cal.Status(d)
	return s.render(c, http.StatusOK, components.CalendarDayForm(components.CalDayForm{
		Calendar: name, Date: d.String(), Status: st.Reason, Open: st.Open, Action: "/calendars/" + name + "/day/" + d.String()}))
}

func (s *Server) calendarDayToggle(c echo.Context) error {
	ctx := c.Request().Context()
	name := c.Param("name")
	d, err := s.dayParam(c)
	if err != nil {
		return err
	}
	note := strings.TrimSpace(c.FormValue("note"))
	note = cutText(note, noteMaxBytes)
	v, st, err := s.p.Ops.ToggleDay(ctx, actor(c), name, d, note)
	if err != nil {
		return err
	}
	state := s.calT(c, "cal.state.closed")
	if st.Open {
		state = s.calT(c, "cal.state.open")
	}
	msg := s.calT(c, "cal.day.saved", d.String(), state, v)
	if c.Request().Header.Get("HX-Request") == "" {
		flash(c, "success", msg)
		return redirect(c, fmt.Sprintf("/calendars/%s?year=%d", url.PathEscape(name), d.Year()))
	}
	cal, err := s.p.Ops.BuildCalendar(ctx, name)
	if err != nil {
		return err
	}
	g, _, _ := s.calendarGrid(c, name, cal, d.Year())
	return s.render(c, http.StatusOK, pages.CalendarGridSwap(g, msg))
}

func (s *Server) calendarExport(ext string) echo.HandlerFunc {
	return func(c echo.Context) error {
		name := c.Param("name")
		cal, err := s.p.Ops.BuildCalendar(c.Request().Context(), name)
		if err != nil {
			return err
		}
		y, err := s.yearParam(c, cal)
		if err != nil {
			return err
		}
		from, to := calendar.NewDate(y, 1, 1), calendar.NewDate(y, 12, 31)
		file := fmt.Sprintf("%s-%d.%s", name, y, ext)
		c.Response().Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, file))
		if ext == "ics" {
			return c.Blob(http.StatusOK, "text/calendar; charset=utf-8", cal.ExportICS(from, to, s.p.Now()))
		}
		return c.Blob(http.StatusOK, "text/csv; charset=utf-8", cal.ExportCSV(from, to))
	}
}
