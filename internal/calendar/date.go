package calendar

import (
	"fmt"
	"strconv"
	"time"
)

// Date is a civil date with no time zone, stored as the number of days since
// 1970-01-01 in the proleptic Gregorian calendar. The zero value is 1970-01-01.
// Dates compare with < and ==, and adding days is integer addition, which keeps
// the planner's inner loops free of time.Time arithmetic.
type Date int32

// NewDate returns the date y-m-d. Out-of-range days and months normalise as
// time.Date does (April 31 becomes May 1); use ValidDate to reject them.
func NewDate(y int, m time.Month, d int) Date {
	if m < 1 || m > 12 || d < 1 || d > 28 {
		t := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		y, m, d = t.Date()
	}
	return Date(daysFromCivil(y, int(m), d))
}

// ValidDate reports whether y-m-d names an existing date.
func ValidDate(y int, m time.Month, d int) bool {
	return m >= 1 && m <= 12 && d >= 1 && d <= DaysIn(y, m)
}

// DateOf returns the civil date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return NewDate(y, m, d)
}

// ParseDate parses YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && i != 4 && i != 7 {
			return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
		}
	}
	y, err1 := strconv.Atoi(s[0:4])
	m, err2 := strconv.Atoi(s[5:7])
	d, err3 := strconv.Atoi(s[8:10])
	if err1 != nil || err2 != nil || err3 != nil || !ValidDate(y, time.Month(m), d) {
		return 0, fmt.Errorf("invalid date %q: want an existing date as YYYY-MM-DD", s)
	}
	return NewDate(y, time.Month(m), d), nil
}

// MustParseDate is ParseDate for constants in tests and tables; it panics on bad input.
func MustParseDate(s string) Date {
	d, err := ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// Civil returns year, month and day.
func (d Date) Civil() (int, time.Month, int) {
	y, m, dd := civilFromDays(int(d))
	return y, time.Month(m), dd
}

// Year returns the year.
func (d Date) Year() int { y, _, _ := d.Civil(); return y }

// Month returns the month.
func (d Date) Month() time.Month { _, m, _ := d.Civil(); return m }

// Day returns the day of the month.
func (d Date) Day() int { _, _, dd := d.Civil(); return dd }

// Weekday returns the day of the week. 1970-01-01 was a Thursday.
func (d Date) Weekday() time.Weekday {
	w := (int(d) + 4) % 7
	if w < 0 {
		w += 7
	}
	return time.Weekday(w)
}

// AddDays returns d moved by n days.
func (d Date) AddDays(n int) Date { return d + Date(n) }

// AddMonths returns the date n months later with the day clamped to the
// month's length (Jan 31 + 1 month = Feb 28/29).
func (d Date) AddMonths(n int) Date {
	y, m, dd := d.Civil()
	total := y*12 + int(m) - 1 + n
	ny, nm := total/12, time.Month(total%12+1)
	if total < 0 && total%12 != 0 {
		ny--
		nm = time.Month(total%12 + 13)
	}
	if last := DaysIn(ny, nm); dd > last {
		dd = last
	}
	return NewDate(ny, nm, dd)
}

// FirstOfMonth returns the first day of d's calendar month.
func (d Date) FirstOfMonth() Date { y, m, _ := d.Civil(); return NewDate(y, m, 1) }

// At returns the instant of the given offset from local midnight of d in loc.
// The offset may exceed 24h (start times up to 47:59). Wall-clock times that
// do not exist (DST gap) resolve to the first instant after the gap; ambiguous
// ones (DST overlap) to their first occurrence.
func (d Date) At(offset time.Duration, loc *time.Location) time.Time {
	const day = 24 * time.Hour
	extraDays := int(offset / day)
	offset -= time.Duration(extraDays) * day
	if offset < 0 {
		offset += day
		extraDays--
	}
	y, m, dd := (d + Date(extraDays)).Civil()
	h := int(offset / time.Hour)
	mi := int((offset % time.Hour) / time.Minute)
	sec := int((offset % time.Minute) / time.Second)
	ns := int(offset % time.Second)
	t := time.Date(y, m, dd, h, mi, sec, ns, loc)
	wy, wm, wd := t.Date()
	wh, wmi, wsec := t.Clock()
	if wy != y || wm != m || wd != dd || wh != h || wmi != mi || wsec != sec {
		// The wall time falls in a gap and time.Date moved it to one side of
		// the transition; the transition instant is the first one after it.
		start, end := t.ZoneBounds()
		if wallBefore(t, y, m, dd, h, mi, sec) {
			return end
		}
		return start
	}
	// In an overlap time.Date may return the second occurrence; the first
	// lies one offset change earlier, in the zone before the transition.
	if start, _ := t.ZoneBounds(); !start.IsZero() {
		_, prevOff := start.Add(-time.Nanosecond).Zone()
		_, curOff := t.Zone()
		if shift := time.Duration(prevOff-curOff) * time.Second; shift > 0 {
			if earlier := t.Add(-shift); earlier.Before(start) && sameWall(earlier, t) {
				return earlier
			}
		}
	}
	return t
}

// wallBefore reports whether t's wall clock is earlier than the given one.
func wallBefore(t time.Time, y int, m time.Month, d, h, mi, sec int) bool {
	want := time.Date(y, m, d, h, mi, sec, 0, time.UTC)
	ty, tm, td := t.Date()
	th, tmi, tsec := t.Clock()
	got := time.Date(ty, tm, td, th, tmi, tsec, 0, time.UTC)
	return got.Before(want)
}

func sameWall(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	ah, ami, as := a.Clock()
	bh, bmi, bs := b.Clock()
	return ay == by && am == bm && ad == bd && ah == bh && ami == bmi && as == bs
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string {
	y, m, dd := d.Civil()
	return fmt.Sprintf("%04d-%02d-%02d", y, m, dd)
}

// MarshalText implements encoding.TextMarshaler.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// DaysIn returns the number of days in month m of year y.
func DaysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// daysFromCivil and civilFromDays follow Howard Hinnant's algorithms.
func daysFromCivil(y, m, d int) int {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

func civilFromDays(z int) (int, int, int) {
	z += 719468
	era := z
	if era < 0 {
		era -= 146096
	}
	era /= 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// DSTNote explains how daylight saving time resolves the wall time offset
// after midnight of d in loc (the same resolution as At), or returns "" when
// the wall time exists exactly once:
//
//	"02:30 does not exist on 2026-03-08 in America/New_York → 03:00 EDT"
//	"01:30 occurs twice on 2026-11-01 in America/New_York → the first, 01:30 EDT"
//
// The date and clock are those of the wall time (25:30 on 2026-03-07 reads
// as 01:30 on 2026-03-08).
func (d Date) DSTNote(offset time.Duration, loc *time.Location) string {
	t := d.At(offset, loc)
	wall := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(d) * 24 * time.Hour).Add(offset)
	y, m, dd := wall.Date()
	h, mi, sec := wall.Clock()
	ty, tm, tdd := t.Date()
	th, tmi, tsec := t.Clock()
	clock := fmt.Sprintf("%02d:%02d", h, mi)
	if sec != 0 {
		clock += fmt.Sprintf(":%02d", sec)
	}
	day := NewDate(y, m, dd).String()
	if ty != y || tm != m || tdd != dd || th != h || tmi != mi || tsec != sec {
		return fmt.Sprintf("%s does not exist on %s in %s → %s", clock, day, loc, t.Format("15:04 MST"))
	}
	for _, later := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		u := t.Add(later)
		uy, um, udd := u.Date()
		uh, umi, usec := u.Clock()
		if uy == y && um == m && udd == dd && uh == h && umi == mi && usec == sec {
			return fmt.Sprintf("%s occurs twice on %s in %s → the first, %s (not %s)", clock, day, loc, t.Format("15:04 MST"), u.Format("15:04 MST"))
		}
	}
	return ""
}
