package jp1

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
)

// calInfo is a Koyomi calendar made from JP1 calendar information, with
// the base values the schedule mapping needs.
type calInfo struct {
	def      calendar.Definition
	baseDay  int // 1-28; 0 when the JP1 base day has no Koyomi equivalent
	baseTime int // minutes
	naming   calendar.MonthNaming
}

var weekdays = map[string]time.Weekday{"su": time.Sunday, "mo": time.Monday, "tu": time.Tuesday,
	"we": time.Wednesday, "th": time.Thursday, "fr": time.Friday, "sa": time.Saturday}

// parseJP1Date reads yyyy/mm/dd.
func parseJP1Date(s string) (calendar.Date, bool) {
	f := strings.Split(s, "/")
	if len(f) != 3 {
		return 0, false
	}
	y, e1 := strconv.Atoi(f[0])
	mo, e2 := strconv.Atoi(f[1])
	d, e3 := strconv.Atoi(f[2])
	if e1 != nil || e2 != nil || e3 != nil || len(f[0]) != 4 || !calendar.ValidDate(y, time.Month(mo), d) {
		return 0, false
	}
	return calendar.NewDate(y, time.Month(mo), d), true
}

// parseHHMM reads hh:mm with 0-47 hours.
func parseHHMM(s string) (int, bool) {
	h, mm, ok := strings.Cut(s, ":")
	hh, e1 := strconv.Atoi(h)
	mi, e2 := strconv.Atoi(mm)
	if !ok || e1 != nil || e2 != nil || len(mm) != 2 || len(h) < 1 || len(h) > 2 || hh < 0 || hh > 47 || mi < 0 || mi > 59 {
		return 0, false
	}
	return hh*60 + mi, true
}

// walkGroups maps job groups to folders and their calendar information to
// calendars, top-down.
func (m *mapper) walkGroups(ns []*node) {
	for _, n := range ns {
		if n.kind != kindGroup {
			continue
		}
		desc := "JP1 job group " + n.path
		for _, u := range n.units() {
			for i := range u.Params {
				p := &u.Params[i]
				switch p.Key {
				case "ty":
					if p.Value == "mg" {
						m.note(Approximated, u, n.path, p, "manager job group: imported as the folder %s; the manager's remote units are not", n.folder)
					} else {
						m.note(Mapped, u, n.path, p, "job group → folder %s", n.folder)
					}
				case "cm":
					desc = Unquote(p.Value) + " (JP1 job group " + n.path + ")"
					m.note(Mapped, u, n.path, p, "→ folder description")
				case "gty":
					if p.Value == "p" {
						m.note(Approximated, u, n.path, p, "planning group: imported as an ordinary folder; Koyomi does not switch between its jobnets by date")
					} else {
						m.note(Mapped, u, n.path, p, "job group")
					}
				case "op", "cl", "sdd", "md", "stt":
					m.calendarParam(u, n, p)
				}
			}
		}
		f := m.ensureFolder(n.folder, desc)
		f.Description = desc
		f.Calendar = m.calendarOf(n).def.Name
		m.walkGroups(n.children)
	}
}

// calendarParam checks one calendar parameter of a job group.
func (m *mapper) calendarParam(u *Unit, n *node, p *Param) {
	v := p.Value
	switch p.Key {
	case "op", "cl":
		if _, ok := weekdays[v]; ok {
			m.note(Mapped, u, n.path, p, "weekly pattern of calendar %s", n.folder)
			return
		}
		if _, ok := parseJP1Date(v); !ok {
			m.fail(u, p, "want yyyy/mm/dd or su, mo, tu, we, th, fr, sa")
			return
		}
		m.note(Mapped, u, n.path, p, "override of calendar %s", n.folder)
	case "sdd":
		d, err := strconv.Atoi(v)
		switch {
		case err == nil && d >= 1 && d <= 28:
			m.note(Mapped, u, n.path, p, "base day of calendar %s", n.folder)
		case err == nil && d >= 29 && d <= 31:
			m.note(Unmapped, u, n.path, p, "Koyomi base days are 1-28; calendar %s keeps base day 1 and rules counted from it are not carried over", n.folder)
		case strings.Contains(v, ":"):
			m.note(Unmapped, u, n.path, p, "a base day given as a weekday has no Koyomi equivalent; calendar %s keeps base day 1 and rules counted from it are not carried over", n.folder)
		default:
			m.fail(u, p, "want a day 1-31 or weekday:n")
		}
	case "md":
		if v != "th" && v != "ne" {
			m.fail(u, p, "want th or ne")
			return
		}
		m.note(Mapped, u, n.path, p, "month naming of calendar %s", n.folder)
	case "stt":
		t, ok := parseHHMM(v)
		if !ok || t >= 24*60 {
			m.fail(u, p, "want hh:mm between 00:00 and 23:59")
			return
		}
		m.note(Mapped, u, n.path, p, "base time of calendar %s", n.folder)
	}
}

func hasCalendarInfo(n *node) bool {
	for _, u := range n.units() {
		for _, k := range []string{"op", "cl", "sdd", "md", "stt"} {
			if param(u, k) != nil {
				return true
			}
		}
	}
	return false
}

// calendarOf returns the calendar a group's jobnets plan on: the group's
// own when it has calendar information, its nearest ancestor's otherwise,
// and an all-open one named after the top group when no group has any.
func (m *mapper) calendarOf(n *node) *calInfo {
	if n == nil {
		return m.defaultCalendar(m.opt.Into)
	}
	if c := m.groupCal[n]; c != nil {
		return c
	}
	var c *calInfo
	switch {
	case hasCalendarInfo(n):
		c = m.buildCalendar(n)
	case n.parent != nil:
		c = m.calendarOf(n.parent)
	default:
		c = m.defaultCalendar(n.folder)
	}
	m.groupCal[n] = c
	return c
}

func (m *mapper) defaultCalendar(name string) *calInfo {
	if c := m.cals[name]; c != nil {
		return c
	}
	c := &calInfo{baseDay: 1, def: calendar.Definition{Name: name, TimeZone: m.opt.TimeZone,
		Description: "JP1 default calendar: every day open, base time 00:00, base day 1"}}
	m.cals[name] = c
	return c
}

// buildCalendar flattens the calendar information of a group and its
// ancestors: for each date the nearest group that names the date decides;
// otherwise the nearest group that names its weekday; otherwise it is open.
// Base day, base time and month naming come from the nearest group that
// sets them.
func (m *mapper) buildCalendar(n *node) *calInfo {
	var chain []*node
	for g := n; g != nil; g = g.parent {
		chain = append([]*node{g}, chain...)
	}
	weekly := map[time.Weekday]bool{} // weekday → open
	dates := map[calendar.Date]bool{}
	c := &calInfo{baseDay: 1, naming: calendar.MonthNamingStart}
	for _, g := range chain {
		for _, u := range g.units() {
			for _, p := range u.Params {
				switch p.Key {
				case "op", "cl":
					if wd, ok := weekdays[p.Value]; ok {
						weekly[wd] = p.Key == "op"
					} else if d, ok := parseJP1Date(p.Value); ok {
						dates[d] = p.Key == "op"
					}
				case "sdd":
					if d, err := strconv.Atoi(p.Value); err == nil && d >= 1 && d <= 28 {
						c.baseDay = d
					} else {
						c.baseDay = 0
					}
				case "md":
					if p.Value == "ne" {
						c.naming = calendar.MonthNamingEnd
					} else {
						c.naming = calendar.MonthNamingStart
					}
				case "stt":
					if t, ok := parseHHMM(p.Value); ok && t < 24*60 {
						c.baseTime = t
					}
				}
			}
		}
	}
	def := calendar.Definition{Name: n.folder, TimeZone: m.opt.TimeZone, Description: "JP1 calendar of job group " + n.path,
		BaseTime: calendar.ClockTime(c.baseTime)}
	if c.baseDay > 1 {
		def.BaseDay = c.baseDay
	}
	if c.naming == calendar.MonthNamingEnd {
		def.MonthNaming = c.naming
	}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		if open, ok := weekly[wd]; ok && !open {
			def.ClosedWeekdays = append(def.ClosedWeekdays, calendar.Weekday(wd))
		}
	}
	ds := make([]calendar.Date, 0, len(dates))
	for d := range dates {
		ds = append(ds, d)
	}
	sortDates(ds)
	for _, d := range ds {
		def.Overrides = append(def.Overrides, calendar.OverrideDef{Date: d, Open: dates[d], Note: "JP1"})
	}
	c.def = def
	m.cals[def.Name] = c
	return c
}

func sortDates(ds []calendar.Date) {
	sort.Slice(ds, func(i, k int) bool { return ds[i] < ds[k] })
}
