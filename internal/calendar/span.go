package calendar

import (
	"fmt"
	"time"
)

// MaxSearchDays bounds every open-day search (NextOpen, PrevOpen,
// AddOpenDays) so that a calendar with no open days cannot loop for ever.
// It is ten years of calendar days.
const MaxSearchDays = 3660

// BusinessMonth returns the business month that contains d: from the base
// day of one calendar month up to the day before the base day of the next,
// and its label ("2026-03") according to the calendar's MonthNaming. With
// base day 1 a business month is the calendar month.
func (c *Calendar) BusinessMonth(d Date) (start, end Date, label string) {
	y, m, day := d.Civil()
	if day < c.baseDay {
		m--
		if m < time.January {
			m, y = time.December, y-1
		}
	}
	start = NewDate(y, m, c.baseDay)
	end = start.AddMonths(1) - 1
	ly, lm := y, m
	if c.monthNaming == MonthNamingEnd {
		ly, lm, _ = end.Civil()
	}
	return start, end, monthLabel(ly, lm)
}

// MonthStarting returns the first and last date of the business month that
// the calendar's MonthNaming calls y-m.
func (c *Calendar) MonthStarting(y int, m time.Month) (start, end Date) {
	start = NewDate(y, m, c.baseDay)
	if c.monthNaming == MonthNamingEnd && c.baseDay > 1 {
		start = start.AddMonths(-1)
	}
	return start, start.AddMonths(1) - 1
}

// MonthLabel returns the label of the business month containing d.
func (c *Calendar) MonthLabel(d Date) string {
	_, _, l := c.BusinessMonth(d)
	return l
}

func monthLabel(y int, m time.Month) string { return fmt.Sprintf("%04d-%02d", y, int(m)) }

// BusinessYear returns the business year that contains d and its number. A
// business year is the twelve business months labelled y-01 … y-12, so with
// MonthNamingStart it starts at the base day of January.
func (c *Calendar) BusinessYear(d Date) (start, end Date, year int) {
	ms, me, _ := c.BusinessMonth(d)
	y := ms.Year()
	if c.monthNaming == MonthNamingEnd {
		y = me.Year()
	}
	start, end = c.YearStarting(y)
	return start, end, y
}

// YearStarting returns the first and last date of business year y.
func (c *Calendar) YearStarting(y int) (start, end Date) {
	start, _ = c.MonthStarting(y, time.January)
	next, _ := c.MonthStarting(y+1, time.January)
	return start, next - 1
}

// BusinessWeek returns the Monday-to-Sunday week that contains d.
func (c *Calendar) BusinessWeek(d Date) (start, end Date) {
	start = d - Date((int(d.Weekday())+6)%7)
	return start, start + 6
}

// NextOpen returns the first open day after d (d itself is not considered)
// within maxDays calendar days (d+1 … d+maxDays). maxDays ≤ 0 means
// MaxSearchDays. ok is false when none is found.
func (c *Calendar) NextOpen(d Date, maxDays int) (Date, bool) {
	if maxDays <= 0 || maxDays > MaxSearchDays {
		maxDays = MaxSearchDays
	}
	for i := 1; i <= maxDays; i++ {
		if c.IsOpen(d + Date(i)) {
			return d + Date(i), true
		}
	}
	return 0, false
}

// PrevOpen returns the last open day before d (d itself is not considered)
// within maxDays calendar days (d-1 … d-maxDays). maxDays ≤ 0 means
// MaxSearchDays. ok is false when none is found.
func (c *Calendar) PrevOpen(d Date, maxDays int) (Date, bool) {
	if maxDays <= 0 || maxDays > MaxSearchDays {
		maxDays = MaxSearchDays
	}
	for i := 1; i <= maxDays; i++ {
		if c.IsOpen(d - Date(i)) {
			return d - Date(i), true
		}
	}
	return 0, false
}

// AddOpenDays returns the n-th open day after d (n > 0) or before d (n < 0),
// never counting d itself: +1 from a Friday before a Monday holiday is the
// Tuesday. n = 0 returns d unchanged, open or not. ok is false when a gap
// between open days exceeds MaxSearchDays.
func (c *Calendar) AddOpenDays(d Date, n int) (Date, bool) {
	for ; n > 0; n-- {
		var ok bool
		if d, ok = c.NextOpen(d, 0); !ok {
			return 0, false
		}
	}
	for ; n < 0; n++ {
		var ok bool
		if d, ok = c.PrevOpen(d, 0); !ok {
			return 0, false
		}
	}
	return d, true
}

// OpenDays returns the open days from start to end inclusive, in order.
func (c *Calendar) OpenDays(start, end Date) []Date {
	var out []Date
	for d := start; d <= end; d++ {
		if c.IsOpen(d) {
			out = append(out, d)
		}
	}
	return out
}
