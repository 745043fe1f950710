package calendar

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func d(s string) Date { return MustParseDate(s) }

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	require.NoError(t, err)
	return loc
}

// companyCalendar is jp + Sat/Sun + 12/31-1/3 closed over 2025-2027.
func companyCalendar(t testing.TB) *Calendar {
	t.Helper()
	jp, ok := LookupSet("jp")
	require.True(t, ok)
	p := Params{
		Name: "jp-company", Location: mustLoc(t, "Asia/Tokyo"), BaseTime: 5 * time.Hour,
		ClosedWeekdays: []time.Weekday{time.Saturday, time.Sunday},
		HolidaySets:    []HolidaySet{jp},
		Overrides:      []Override{{Date: d("2026-04-01"), Open: false, Note: "stocktaking"}, {Date: d("2026-05-02"), Open: true, Note: "stocktaking"}},
	}
	for y := 2025; y <= 2027; y++ {
		for _, od := range []Date{NewDate(y, 12, 31), NewDate(y+1, 1, 1), NewDate(y+1, 1, 2), NewDate(y+1, 1, 3)} {
			p.Overrides = append(p.Overrides, Override{Date: od, Note: "year-end closure"})
		}
	}
	c, err := New(p)
	require.NoError(t, err)
	return c
}

func TestStatusReasons(t *testing.T) {
	c := companyCalendar(t)
	tests := []struct {
		date   string
		open   bool
		reason string
	}{
		{"2026-05-03", false, "closed: 憲法記念日 (jp)"}, // a Sunday: the holiday name wins over the weekday
		{"2026-05-06", false, "closed: 休日 (jp)"},
		{"2026-03-08", false, "closed: Sunday"},
		{"2026-03-07", false, "closed: Saturday"},
		{"2026-03-09", true, "open: Monday"},
		{"2026-05-02", true, "open: override 'stocktaking'"},
		{"2026-04-01", false, "closed: override 'stocktaking'"},
		{"2026-12-31", false, "closed: override 'year-end closure'"},
		{"2027-01-01", false, "closed: override 'year-end closure'"},
		{"2026-01-05", true, "open: Monday"},
		{"2026-09-22", false, "closed: 休日 (jp)"},
	}
	for _, tt := range tests {
		t.Run(tt.date, func(t *testing.T) {
			s := c.Status(d(tt.date))
			require.Equal(t, tt.open, s.Open)
			require.Equal(t, tt.reason, s.Reason)
			require.Equal(t, tt.open, c.IsOpen(d(tt.date)))
		})
	}
}

func TestParentInheritance(t *testing.T) {
	base := companyCalendar(t)
	child, err := New(Params{
		Name: "plant", Parent: base, ClosedWeekdays: []time.Weekday{time.Wednesday},
		Overrides: []Override{{Date: d("2026-03-08"), Open: true, Note: "inventory"}},
	})
	require.NoError(t, err)
	tests := []struct {
		date   string
		open   bool
		reason string
	}{
		{"2026-03-09", true, "open: Monday (from jp-company)"},
		{"2026-03-11", false, "closed: Wednesday"},
		{"2026-03-07", false, "closed: Saturday (from jp-company)"},
		{"2026-03-08", true, "open: override 'inventory'"},
		{"2026-05-05", false, "closed: こどもの日 (jp) (from jp-company)"},
		{"2026-05-02", true, "open: override 'stocktaking' (from jp-company)"},
	}
	for _, tt := range tests {
		s := child.Status(d(tt.date))
		require.Equal(t, tt.open, s.Open, tt.date)
		require.Equal(t, tt.reason, s.Reason, tt.date)
	}
}

func TestBusinessDate(t *testing.T) {
	c := companyCalendar(t)
	tokyo := c.Location()
	tests := []struct {
		at   time.Time
		want string
	}{
		{time.Date(2026, 4, 2, 3, 0, 0, 0, tokyo), "2026-04-01"},
		{time.Date(2026, 4, 2, 4, 59, 59, 0, tokyo), "2026-04-01"},
		{time.Date(2026, 4, 2, 5, 0, 0, 0, tokyo), "2026-04-02"},
		{time.Date(2026, 4, 1, 19, 0, 0, 0, time.UTC), "2026-04-01"}, // 04-02 04:00 JST
		{time.Date(2026, 4, 1, 20, 0, 0, 0, time.UTC), "2026-04-02"}, // 05:00 JST
		{time.Date(2026, 4, 1, 18, 0, 0, 0, time.UTC), "2026-04-01"}, // 03:00 JST
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, c.BusinessDate(tt.at).String(), tt.at)
	}
	require.True(t, c.DayStart(d("2026-04-01")).Equal(time.Date(2026, 4, 1, 5, 0, 0, 0, tokyo)))
	require.True(t, c.DayEnd(d("2026-04-01")).Equal(time.Date(2026, 4, 2, 5, 0, 0, 0, tokyo)))
}

func TestDateAtDST(t *testing.T) {
	ny, london := mustLoc(t, "America/New_York"), mustLoc(t, "Europe/London")
	tests := []struct {
		name   string
		date   string
		offset time.Duration
		loc    *time.Location
		want   string // RFC 3339 in UTC
	}{
		{"ny gap", "2026-03-08", 2*time.Hour + 30*time.Minute, ny, "2026-03-08T07:00:00Z"},
		{"ny gap start", "2026-03-08", 2 * time.Hour, ny, "2026-03-08T07:00:00Z"},
		{"ny after gap", "2026-03-08", 3 * time.Hour, ny, "2026-03-08T07:00:00Z"},
		{"ny before gap", "2026-03-08", time.Hour + 59*time.Minute, ny, "2026-03-08T06:59:00Z"},
		{"ny overlap first", "2026-11-01", time.Hour + 30*time.Minute, ny, "2026-11-01T05:30:00Z"},
		{"ny overlap start", "2026-11-01", time.Hour, ny, "2026-11-01T05:00:00Z"},
		{"ny after overlap", "2026-11-01", 2 * time.Hour, ny, "2026-11-01T07:00:00Z"},
		{"london gap", "2026-03-29", time.Hour + 30*time.Minute, london, "2026-03-29T01:00:00Z"},
		{"london gap start", "2026-03-29", time.Hour, london, "2026-03-29T01:00:00Z"},
		{"london overlap first", "2026-10-25", time.Hour + 30*time.Minute, london, "2026-10-25T00:30:00Z"},
		{"london overlap start", "2026-10-25", time.Hour, london, "2026-10-25T00:00:00Z"},
		{"london after overlap", "2026-10-25", 2 * time.Hour, london, "2026-10-25T02:00:00Z"},
		{"ny 26:30 lands in the gap", "2026-03-07", 26*time.Hour + 30*time.Minute, ny, "2026-03-08T07:00:00Z"},
		{"ny 25:30 on overlap day", "2026-10-31", 25*time.Hour + 30*time.Minute, ny, "2026-11-01T05:30:00Z"},
		{"tokyo 47:59", "2026-04-01", 47*time.Hour + 59*time.Minute, mustLoc(t, "Asia/Tokyo"), "2026-04-02T14:59:00Z"},
		{"utc midnight", "2026-04-01", 0, time.UTC, "2026-04-01T00:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := d(tt.date).At(tt.offset, tt.loc)
			require.Equal(t, tt.want, got.UTC().Format(time.RFC3339))
		})
	}
}

func TestBusinessMonth(t *testing.T) {
	mk := func(baseDay int, naming MonthNaming) *Calendar {
		c, err := New(Params{Name: "m", BaseDay: baseDay, MonthNaming: naming})
		require.NoError(t, err)
		return c
	}
	tests := []struct {
		baseDay           int
		naming            MonthNaming
		date              string
		start, end, label string
		yStart, yEnd      string
		year              int
	}{
		{1, MonthNamingStart, "2026-03-15", "2026-03-01", "2026-03-31", "2026-03", "2026-01-01", "2026-12-31", 2026},
		{1, MonthNamingEnd, "2026-02-28", "2026-02-01", "2026-02-28", "2026-02", "2026-01-01", "2026-12-31", 2026},
		{21, MonthNamingStart, "2026-03-21", "2026-03-21", "2026-04-20", "2026-03", "2026-01-21", "2027-01-20", 2026},
		{21, MonthNamingStart, "2026-04-20", "2026-03-21", "2026-04-20", "2026-03", "2026-01-21", "2027-01-20", 2026},
		{21, MonthNamingEnd, "2026-03-21", "2026-03-21", "2026-04-20", "2026-04", "2025-12-21", "2026-12-20", 2026},
		{21, MonthNamingStart, "2026-01-05", "2025-12-21", "2026-01-20", "2025-12", "2025-01-21", "2026-01-20", 2025},
		{21, MonthNamingEnd, "2026-12-25", "2026-12-21", "2027-01-20", "2027-01", "2026-12-21", "2027-12-20", 2027},
		{28, MonthNamingStart, "2026-02-28", "2026-02-28", "2026-03-27", "2026-02", "2026-01-28", "2027-01-27", 2026},
	}
	for _, tt := range tests {
		c := mk(tt.baseDay, tt.naming)
		start, end, label := c.BusinessMonth(d(tt.date))
		require.Equal(t, []string{tt.start, tt.end, tt.label}, []string{start.String(), end.String(), label}, "%+v", tt)
		y, m := 0, 0
		_, err := fmt.Sscanf(label, "%d-%d", &y, &m)
		require.NoError(t, err)
		s2, e2 := c.MonthStarting(y, time.Month(m))
		require.Equal(t, start, s2, "MonthStarting(%s)", label)
		require.Equal(t, end, e2)
		ys, ye, year := c.BusinessYear(d(tt.date))
		require.Equal(t, []string{tt.yStart, tt.yEnd}, []string{ys.String(), ye.String()}, "%+v", tt)
		require.Equal(t, tt.year, year)
	}
	ws, we := mk(1, "").BusinessWeek(d("2026-03-08")) // Sunday
	require.Equal(t, "2026-03-02", ws.String())
	require.Equal(t, "2026-03-08", we.String())
	ws, _ = mk(1, "").BusinessWeek(d("2026-03-09"))
	require.Equal(t, "2026-03-09", ws.String())
}

func TestOpenDaySearch(t *testing.T) {
	c := companyCalendar(t)
	next, ok := c.NextOpen(d("2026-05-01"), 10) // Fri; 5/2 open override; …
	require.True(t, ok)
	require.Equal(t, "2026-05-02", next.String())
	next, ok = c.NextOpen(d("2026-05-02"), 10) // 5/3-5/6 holidays → Thu 5/7
	require.True(t, ok)
	require.Equal(t, "2026-05-07", next.String())
	_, ok = c.NextOpen(d("2026-05-02"), 4)
	require.False(t, ok)
	prev, ok := c.PrevOpen(d("2026-03-09"), 3)
	require.True(t, ok)
	require.Equal(t, "2026-03-06", prev.String())

	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-07-17", 1, "2026-07-21"}, // Fri before Marine Day (Mon 7/20) → Tue
		{"2026-07-21", -1, "2026-07-17"},
		{"2026-03-15", -2, "2026-03-12"}, // Sunday, 2 open days earlier
		{"2026-03-13", 0, "2026-03-13"},
		{"2026-12-30", 1, "2027-01-04"},
		{"2026-12-28", 3, "2027-01-04"},
	}
	for _, tt := range tests {
		got, ok := c.AddOpenDays(d(tt.from), tt.n)
		require.True(t, ok)
		require.Equal(t, tt.want, got.String(), "%s %+d", tt.from, tt.n)
	}
	never, err := New(Params{Name: "never", ClosedWeekdays: []time.Weekday{0, 1, 2, 3, 4, 5, 6}})
	require.NoError(t, err)
	_, ok = never.AddOpenDays(d("2026-01-01"), 1)
	require.False(t, ok)
	require.Len(t, c.OpenDays(d("2026-05-01"), d("2026-05-08")), 4) // 5/1, 5/2, 5/7, 5/8
}

func TestCacheAcrossYears(t *testing.T) {
	c := companyCalendar(t)
	// Far-apart years use the per-year cache; near ones join the table.
	for _, s := range []string{"2026-01-05", "1990-01-01", "2600-01-01", "2026-05-03", "9999-12-31", "0001-01-01"} {
		require.Equal(t, c.Status(d(s)).Open, c.IsOpen(d(s)), s)
	}
	require.False(t, c.IsOpen(d("2026-05-03")))
	require.Equal(t, "closed: 元日 (jp)", c.Status(d("2600-01-01")).Reason)
	require.Equal(t, "open: Monday", c.Status(d("1900-01-01")).Reason)
}

func monthOf(m int) time.Month { return time.Month(m) }

func TestConcurrentLookups(t *testing.T) {
	c := companyCalendar(t)
	want := map[Date]bool{}
	for y := 2000; y <= 2040; y += 5 {
		for _, md := range [][2]int{{1, 1}, {5, 3}, {5, 7}, {7, 1}} {
			dd := NewDate(y, time.Month(md[0]), md[1])
			want[dd] = c.Status(dd).Open
		}
	}
	fresh := companyCalendar(t)
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for dd, open := range want {
				if fresh.IsOpen(dd) != open {
					t.Errorf("%s: IsOpen = %v, want %v", dd, !open, open)
				}
			}
		}()
	}
	for g := 0; g < 4; g++ {
		<-done
	}
}

func TestDSTNote(t *testing.T) {
	ny, london := mustLoc(t, "America/New_York"), mustLoc(t, "Europe/London")
	tests := []struct {
		d     string
		clock string
		loc   *time.Location
		want  string
	}{
		{"2026-03-08", "02:30", ny, "02:30 does not exist on 2026-03-08 in America/New_York → 03:00 EDT"},
		{"2026-03-07", "26:30", ny, "02:30 does not exist on 2026-03-08 in America/New_York → 03:00 EDT"},
		{"2026-03-08", "03:00", ny, ""},
		{"2026-11-01", "01:30", ny, "01:30 occurs twice on 2026-11-01 in America/New_York → the first, 01:30 EDT (not 01:30 EST)"},
		{"2026-10-25", "01:00", london, "01:00 occurs twice on 2026-10-25 in Europe/London → the first, 01:00 BST (not 01:00 GMT)"},
		{"2026-10-25", "02:00", london, ""},
		{"2026-06-01", "02:30", ny, ""},
	}
	for _, tt := range tests {
		c, err := ParseClockTime(tt.clock)
		require.NoError(t, err)
		require.Equal(t, tt.want, d(tt.d).DSTNote(c.Duration(), tt.loc), "%s %s", tt.d, tt.clock)
	}
}
