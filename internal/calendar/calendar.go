package calendar

import (
	"fmt"
	"sync"
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
	// Holidays returns the holidays of year y in date order.
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
// concurrent use; per-year closed-day tables are computed on first use.
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

	mu    sync.RWMutex
	years map[int]*yearTable
}

// Status is the open/closed state of one date with the reason a person reads.
type Status struct {
	Date   Date
	Open   bool
	Reason string
}

// yearTable caches the status of every day of one year.
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
		monthNaming: p.MonthNaming, sets: p.HolidaySets, parent: p.Parent,
		overrides: make(map[Date]Override, len(p.Overrides)),
		years:     map[int]*yearTable{},
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

// IsOpen reports whether d is an open (business) day.
func (c *Calendar) IsOpen(d Date) bool {
	t := c.year(d.Year())
	return t.open[d-t.first]
}

// Status returns whether d is open and why.
func (c *Calendar) Status(d Date) Status {
	t := c.year(d.Year())
	i := d - t.first
	return Status{Date: d, Open: t.open[i], Reason: t.reason[i]}
}

func (c *Calendar) year(y int) *yearTable {
	c.mu.RLock()
	t := c.years[y]
	c.mu.RUnlock()
	if t != nil {
		return t
	}
	t = c.computeYear(y)
	c.mu.Lock()
	if existing := c.years[y]; existing != nil {
		t = existing
	} else {
		c.years[y] = t
	}
	c.mu.Unlock()
	return t
}

func (c *Calendar) computeYear(y int) *yearTable {
	first := NewDate(y, time.January, 1)
	n := int(NewDate(y+1, time.January, 1) - first)
	t := &yearTable{first: first, open: make([]bool, n), reason: make([]string, n)}
	if c.parent != nil {
		pt := c.parent.year(y)
		copy(t.open, pt.open)
		for i := range t.reason {
			t.reason[i] = pt.reason[i]
			if t.reason[i] != "" {
				t.reason[i] += " (from " + c.parent.name + ")"
			}
		}
	} else {
		for i := range t.open {
			t.open[i] = true
			t.reason[i] = "open: " + (first + Date(i)).Weekday().String()
		}
	}
	for i := range t.open {
		if wd := (first + Date(i)).Weekday(); c.closedWeek[wd] {
			t.open[i] = false
			t.reason[i] = "closed: " + wd.String()
		}
	}
	for _, s := range c.sets {
		for _, h := range s.Holidays(y) {
			if h.Date < first || int(h.Date-first) >= n {
				continue
			}
			i := h.Date - first
			if t.open[i] || !isHolidayReason(t.reason[i]) {
				t.open[i] = false
				t.reason[i] = fmt.Sprintf("closed: %s (%s)", h.Name, s.ID())
			}
		}
	}
	for d, o := range c.overrides {
		if d < first || int(d-first) >= n {
			continue
		}
		i := d - first
		t.open[i] = o.Open
		state := "closed"
		if o.Open {
			state = "open"
		}
		if o.Note != "" {
			t.reason[i] = fmt.Sprintf("%s: override '%s'", state, o.Note)
		} else {
			t.reason[i] = state + ": override"
		}
	}
	return t
}

// isHolidayReason reports whether a reason already names a holiday, so that a
// second set closing the same day keeps the first set's name.
func isHolidayReason(r string) bool {
	return len(r) > 0 && r[len(r)-1] == ')'
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
