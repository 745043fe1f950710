package calendar

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Holiday is one named closed day of a holiday set.
type Holiday struct {
	Date Date
	Name string
}

// HolidaySet yields the holidays of a year. Implementations must be safe for
// concurrent use and deterministic.
type HolidaySet interface {
	// ID is the short name used in definitions and reasons, e.g. "jp".
	ID() string
	// Holidays returns the holidays dated in year y, in date order. A
	// holiday observed on another year's date (New Year's Day observed on
	// the Friday before) belongs to the year of that date.
	Holidays(y int) []Holiday
}

// Override forces one date open or closed, with a note for the reason.
type Override struct {
	Date Date
	Open bool
	Note string
}

// MonthNaming says which calendar month names a business month that does not
// start on the 1st (base day > 1).
type MonthNaming string

const (
	// MonthNamingStart names a business month after the calendar month it
	// starts in: with base day 21, 2026-03-21..2026-04-20 is "2026-03".
	MonthNamingStart MonthNaming = "start"
	// MonthNamingEnd names it after the calendar month it ends in: with base
	// day 21, 2026-03-21..2026-04-20 is "2026-04".
	MonthNamingEnd MonthNaming = "end"
)

// Params configures a Calendar.
type Params struct {
	Name     string
	Location *time.Location // nil means UTC
	// BaseTime is the cut-over when a business day starts, 0..24h.
	BaseTime time.Duration
	// BaseDay is the day a business month starts, 1..28 (0 means 1).
	BaseDay     int
	MonthNaming MonthNaming
	// ClosedWeekdays lists the days of the week that are closed.
	ClosedWeekdays []time.Weekday
	HolidaySets    []HolidaySet
	Overrides      []Override
	// Parent, if set, supplies the base status of every date; this calendar's
	// weekly pattern and holiday sets close further days and its overrides win.
	Parent *Calendar
}

// Calendar is an operation calendar. It is immutable after New and safe for
// concurrent use. The status of every day is computed a year at a time on
// first use into immutable tables; lookups of cached days take no lock.
type Calendar struct {
	name        string
	loc         *time.Location
	baseTime    time.Duration
	baseDay     int
	monthNaming MonthNaming
	closedWeek  [7]bool
	sets        []HolidaySet
	overrides   map[Date]Override
	parent      *Calendar

	// table covers a contiguous range of whole years; it is replaced, never
	// changed, when a lookup falls outside it.
	table atomic.Pointer[dayTable]
	mu    sync.Mutex         // serialises table extension and far
	far   map[int]*yearTable // years too far from table to join it
}

// maxTableYears bounds the contiguous table; years further away are cached
// one by one.
const maxTableYears = 400

// Status is the open/closed state of one date with the reason a person reads.
type Status struct {
	Date   Date
	Open   bool
	Reason string
}

// dayTable is the contiguous cache: open flags for every day from first and
// the per-year tables holding the reasons.
type dayTable struct {
	first     Date
	firstYear int
	open      []bool
	years     []*yearTable
}

// yearTable holds the status of every day of one year.
type yearTable struct {
	first  Date
	open   []bool
	reason []string
}

// New validates p and returns the calendar.
func New(p Params) (*Calendar, error) {
	if p.Location == nil {
		p.Location = time.UTC
	}
	if p.BaseDay == 0 {
		p.BaseDay = 1
	}
	if p.MonthNaming == "" {
		p.MonthNaming = MonthNamingStart
	}
	var errs []error
	if p.BaseTime < 0 || p.BaseTime >= 24*time.Hour {
		errs = append(errs, fmt.Errorf("base time %v: must be within 00:00-23:59", p.BaseTime))
	}
	if p.BaseDay < 1 || p.BaseDay > 28 {
		errs = append(errs, fmt.Errorf("base day %d: must be 1-28", p.BaseDay))
	}
	if p.MonthNaming != MonthNamingStart && p.MonthNaming != MonthNamingEnd {
		errs = append(errs, fmt.Errorf("month naming %q: must be start or end", p.MonthNaming))
	}
	for _, w := range p.ClosedWeekdays {
		if w < time.Sunday || w > time.Saturday {
			errs = append(errs, fmt.Errorf("closed weekday %d: must be 0-6", int(w)))
		}
	}
	for i, s := range p.HolidaySets {
		if s == nil {
			errs = append(errs, fmt.Errorf("holiday set %d is nil", i))
		}
	}
	for c := p.Parent; c != nil; c = c.parent {
		if c.name == p.Name && p.Name != "" {
			errs = append(errs, fmt.Errorf("parent chain of %q contains itself", p.Name))
			break
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(p.Name, errs)
	}
	c := &Calendar{
		name: p.Name, loc: p.Location, baseTime: p.BaseTime, baseDay: p.BaseDay,
		monthNaming: p.MonthNaming, sets: append([]HolidaySet(nil), p.HolidaySets...), parent: p.Parent,
		overrides: make(map[Date]Override, len(p.Overrides)),
		far:       map[int]*yearTable{},
	}
	for _, w := range p.ClosedWeekdays {
		c.closedWeek[w] = true
	}
	for _, o := range p.Overrides {
		c.overrides[o.Date] = o
	}
	return c, nil
}

func joinErrors(name string, errs []error) error {
	msg := fmt.Sprintf("calendar %q:", name)
	for i, e := range errs {
		if i > 0 {
			msg += ";"
		}
		msg += " " + e.Error()
	}
	return fmt.Errorf("%s: %w", msg, ErrInvalid)
}

// Name returns the calendar's name.
func (c *Calendar) Name() string { return c.name }

// Location returns the calendar's time zone.
func (c *Calendar) Location() *time.Location { return c.loc }

// BaseTime returns the business-day cut-over.
func (c *Calendar) BaseTime() time.Duration { return c.baseTime }

// BaseDay returns the day business months start.
func (c *Calendar) BaseDay() int { return c.baseDay }

// MonthNaming returns which calendar month names a business month.
func (c *Calendar) MonthNaming() MonthNaming { return c.monthNaming }

// Parent returns the parent calendar or nil.
func (c *Calendar) Parent() *Calendar { return c.parent }

// ClosedWeekdays returns the weekly pattern's closed days, Sunday first.
func (c *Calendar) ClosedWeekdays() []time.Weekday {
	var out []time.Weekday
	for w, closed := range c.closedWeek {
		if closed {
			out = append(out, time.Weekday(w))
		}
	}
	return out
}

// HolidaySets returns the calendar's own holiday sets (not the parent's).
func (c *Calendar) HolidaySets() []HolidaySet { return append([]HolidaySet(nil), c.sets...) }

// Overrides returns the calendar's own overrides in date order.
func (c *Calendar) Overrides() []Override {
	out := make([]Override, 0, len(c.overrides))
	for _, o := range c.overrides {
		out = append(out, o)
	}
	slices.SortFunc(out, func(a, b Override) int { return int(a.Date - b.Date) })
	return out
}

// IsOpen reports whether d is an open (business) day.
func (c *Calendar) IsOpen(d Date) bool {
	if t := c.table.Load(); t != nil {
		if i := uint(d - t.first); i < uint(len(t.open)) {
			return t.open[i]
		}
	}
	t := c.year(d.Year())
	return t.open[d-t.first]
}

// Status returns whether d is open and why.
func (c *Calendar) Status(d Date) Status {
	t := c.year(d.Year())
	i := d - t.first
	return Status{Date: d, Open: t.open[i], Reason: t.reason[i]}
}

// year returns the table of year y, computing and caching it when needed.
func (c *Calendar) year(y int) *yearTable {
	if t := c.table.Load(); t != nil {
		if i := y - t.firstYear; i >= 0 && i < len(t.years) {
			return t.years[i]
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.table.Load()
	if old == nil {
		c.table.Store(c.newTable(y, y, nil))
		return c.table.Load().years[0]
	}
	lastYear := old.firstYear + len(old.years) - 1
	if y >= old.firstYear && y <= lastYear {
		return old.years[y-old.firstYear]
	}
	lo, hi := min(old.firstYear, y), max(lastYear, y)
	if hi-lo+1 > maxTableYears {
		if t := c.far[y]; t != nil {
			return t
		}
		t := c.computeYear(y)
		c.far[y] = t
		return t
	}
	nt := c.newTable(lo, hi, old)
	c.table.Store(nt)
	return nt.years[y-lo]
}

// newTable builds the contiguous table for years lo..hi, reusing the year
// tables of old.
func (c *Calendar) newTable(lo, hi int, old *dayTable) *dayTable {
	nt := &dayTable{first: NewDate(lo, time.January, 1), firstYear: lo, years: make([]*yearTable, hi-lo+1)}
	nt.open = make([]bool, 0, int(NewDate(hi+1, time.January, 1)-nt.first))
	for y := lo; y <= hi; y++ {
		var t *yearTable
		if old != nil && y >= old.firstYear && y < old.firstYear+len(old.years) {
			t = old.years[y-old.firstYear]
		} else if ft := c.far[y]; ft != nil {
			t = ft
			delete(c.far, y)
		} else {
			t = c.computeYear(y)
		}
		nt.years[y-lo] = t
		nt.open = append(nt.open, t.open...)
	}
	return nt
}

// dayKind records what last decided a day while a year is computed.
type dayKind uint8

const (
	kindBase dayKind = iota
	kindWeekly
	kindHoliday
)

func (c *Calendar) computeYear(y int) *yearTable {
	first := NewDate(y, time.January, 1)
	n := int(NewDate(y+1, time.January, 1) - first)
	t := &yearTable{first: first, open: make([]bool, n), reason: make([]string, n)}
	kind := make([]dayKind, n)
	if c.parent != nil {
		pt := c.parent.year(y)
		copy(t.open, pt.open)
		copy(t.reason, pt.reason)
		if c.parent.name != "" {
			suffix := " (from " + c.parent.name + ")"
			seen := map[string]string{} // reasons repeat; share the strings
			for i, r := range t.reason {
				s, ok := seen[r]
				if !ok {
					s = r + suffix
					seen[r] = s
				}
				t.reason[i] = s
			}
		}
	} else {
		for i := range t.open {
			t.open[i] = true
			t.reason[i] = openWeekday[(first + Date(i)).Weekday()]
		}
	}
	for i := range t.open {
		if wd := (first + Date(i)).Weekday(); c.closedWeek[wd] {
			t.open[i] = false
			t.reason[i] = closedWeekday[wd]
			kind[i] = kindWeekly
		}
	}
	for _, s := range c.sets {
		for _, h := range s.Holidays(y) {
			i := int(h.Date - first)
			if i < 0 || i >= n || kind[i] == kindHoliday {
				continue
			}
			t.open[i] = false
			t.reason[i] = "closed: " + h.Name + " (" + s.ID() + ")"
			kind[i] = kindHoliday
		}
	}
	for d, o := range c.overrides {
		i := int(d - first)
		if i < 0 || i >= n {
			continue
		}
		t.open[i] = o.Open
		t.reason[i] = overrideReason(o)
	}
	return t
}

var (
	openWeekday   = [7]string{"open: Sunday", "open: Monday", "open: Tuesday", "open: Wednesday", "open: Thursday", "open: Friday", "open: Saturday"}
	closedWeekday = [7]string{"closed: Sunday", "closed: Monday", "closed: Tuesday", "closed: Wednesday", "closed: Thursday", "closed: Friday", "closed: Saturday"}
)

func overrideReason(o Override) string {
	state := "closed"
	if o.Open {
		state = "open"
	}
	if o.Note == "" {
		return state + ": override"
	}
	return state + ": override '" + o.Note + "'"
}

// BusinessDate returns the business date whose business day contains t: the
// local date of t, or the day before when t is earlier than the base time.
func (c *Calendar) BusinessDate(t time.Time) Date {
	lt := t.In(c.loc)
	d := DateOf(lt)
	if c.baseTime > 0 && lt.Before(d.At(c.baseTime, c.loc)) {
		return d - 1
	}
	return d
}

// DayStart returns the instant business date d begins.
func (c *Calendar) DayStart(d Date) time.Time { return d.At(c.baseTime, c.loc) }

// DayEnd returns the instant business date d ends, which is the start of the
// next business date.
func (c *Calendar) DayEnd(d Date) time.Time { return c.DayStart(d + 1) }
