package plan

import (
	"fmt"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
)

// table is the open-day index of a span of dates: ord[i] counts the open
// days in [lo, lo+i), so the n-th open day after any date is one lookup.
// Lookups outside the span fall back to the calendar.
type table struct {
	cal    *calendar.Calendar
	lo, hi calendar.Date
	open   []bool
	ord    []int32 // len(open)+1
	opens  []calendar.Date
	text   [][10]byte // YYYY-MM-DD of every date
	reason []string   // why a closed date is closed
}

func newTable(c *calendar.Calendar, lo, hi calendar.Date) table {
	n := int(hi-lo) + 1
	t := table{cal: c, lo: lo, hi: hi, open: make([]bool, n), ord: make([]int32, n+1), text: make([][10]byte, n), reason: make([]string, n)}
	for i := 0; i < n; i++ {
		d := lo + calendar.Date(i)
		appendDate(t.text[i][:0], d)
		t.ord[i] = int32(len(t.opens))
		if st := c.Status(d); st.Open {
			t.open[i] = true
			t.opens = append(t.opens, d)
		} else {
			t.reason[i] = st.Reason
		}
	}
	t.ord[n] = int32(len(t.opens))
	return t
}

// appendDate appends d as YYYY-MM-DD.
func (t *table) appendDate(b []byte, d calendar.Date) []byte {
	if t.in(d) {
		return append(b, t.text[d-t.lo][:]...)
	}
	return appendDate(b, d)
}

// closedReason returns why d is closed, as the calendar says it.
func (t *table) closedReason(d calendar.Date) string {
	if t.in(d) {
		return t.reason[d-t.lo]
	}
	return t.cal.Status(d).Reason
}

func (t *table) in(d calendar.Date) bool { return d >= t.lo && d <= t.hi }

func (t *table) isOpen(d calendar.Date) bool {
	if t.in(d) {
		return t.open[d-t.lo]
	}
	return t.cal.IsOpen(d)
}

// prevOpen returns the nearest open day before d within max calendar days.
func (t *table) prevOpen(d calendar.Date, max int) (calendar.Date, bool) {
	if t.in(d) {
		if k := t.ord[d-t.lo]; k > 0 {
			p := t.opens[k-1]
			return p, int(d-p) <= max
		}
	}
	return t.cal.PrevOpen(d, max)
}

// nextOpen returns the nearest open day after d within max calendar days.
func (t *table) nextOpen(d calendar.Date, max int) (calendar.Date, bool) {
	if t.in(d) {
		if k := int(t.ord[d-t.lo+1]); k < len(t.opens) {
			n := t.opens[k]
			return n, int(n-d) <= max
		}
	}
	return t.cal.NextOpen(d, max)
}

// addOpen moves d by n open days, never counting d itself.
func (t *table) addOpen(d calendar.Date, n int) (calendar.Date, bool) {
	if n == 0 {
		return d, true
	}
	if t.in(d) {
		var k int
		if n > 0 {
			k = int(t.ord[d-t.lo+1]) + n - 1
		} else {
			k = int(t.ord[d-t.lo]) + n
		}
		if k >= 0 && k < len(t.opens) {
			return t.opens[k], true
		}
	}
	return t.cal.AddOpenDays(d, n)
}

// openRange returns the index in opens of the first open day in [a, b] and
// how many there are; a and b must be inside the table.
func (t *table) openRange(a, b calendar.Date) (first, count int) {
	k0 := int(t.ord[a-t.lo])
	k1 := int(t.ord[b-t.lo+1])
	return k0, k1 - k0
}

// period is a business month, week or year with the label explanations use.
type period struct {
	start, end calendar.Date
	label      string
}

func monthPeriods(c *calendar.Calendar, lo, hi calendar.Date) []period {
	var out []period
	for d := lo; d <= hi; {
		s, e, label := c.BusinessMonth(d)
		out = append(out, period{start: s, end: e, label: monthText(c, s, label)})
		d = e + 1
	}
	return out
}

// monthText names a business month, with its start and the naming
// convention when the base day is not the 1st.
func monthText(c *calendar.Calendar, start calendar.Date, label string) string {
	if c.BaseDay() == 1 {
		return "month " + label
	}
	naming := "its start month"
	if c.MonthNaming() == calendar.MonthNamingEnd {
		naming = "its end month"
	}
	return fmt.Sprintf("business month %s (starts %02d-%02d, named by %s)", label, int(start.Month()), start.Day(), naming)
}

func weekPeriods(c *calendar.Calendar, lo, hi calendar.Date) []period {
	var out []period
	for d := lo; d <= hi; {
		s, e := c.BusinessWeek(d)
		b := make([]byte, 0, 30)
		b = append(b, "the week "...)
		b = appendDate(b, s)
		b = append(b, ".."...)
		b = appendDate(b, e)
		out = append(out, period{start: s, end: e, label: string(b)})
		d = e + 1
	}
	return out
}

func yearPeriods(c *calendar.Calendar, lo, hi calendar.Date) []period {
	var out []period
	for d := lo; d <= hi; {
		s, e, y := c.BusinessYear(d)
		label := fmt.Sprintf("business year %d", y)
		if s.Month() != time.January || s.Day() != 1 {
			label += fmt.Sprintf(" (%s..%s)", s, e)
		}
		out = append(out, period{start: s, end: e, label: label})
		d = e + 1
	}
	return out
}

// overlapping returns the periods that overlap [a, b].
func overlapping(ps []period, a, b calendar.Date) []period {
	i := 0
	for i < len(ps) && ps[i].end < a {
		i++
	}
	j := i
	for j < len(ps) && ps[j].start <= b {
		j++
	}
	return ps[i:j]
}
