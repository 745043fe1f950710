package web

import (
	"context"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/views"
	"github.com/koyomi-dev/koyomi/views/components"
)

// dayClass classifies a day's status for colouring: the calendar package
// writes reasons as "open: Monday", "closed: Sunday", "closed: <name> (<set>)"
// and "<state>: override['note']", with " (from <parent>)" when inherited.
func calDayClass(s calendar.Status) string {
	r := s.Reason
	if i := strings.LastIndex(r, " (from "); i >= 0 && strings.HasSuffix(r, ")") {
		r = r[:i]
	}
	override := strings.Contains(r, ": override")
	switch {
	case s.Open && override:
		return "open-override"
	case s.Open:
		return "open"
	case override:
		return "closed-override"
	}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		if r == "closed: "+wd.String() {
			return "closed-weekly"
		}
	}
	return "closed-holiday"
}

// yearGrid lays out the 12 months of year y, weeks Monday-first; cell
// decorates each day.
func calYearGrid(ctx context.Context, id string, y int, cell func(d calendar.Date, c *components.CalDay)) components.CalYear {
	g := components.CalYear{ID: id, Year: y}
	for m := time.January; m <= time.December; m++ {
		first := calendar.NewDate(y, m, 1)
		mon := components.CalMonth{Title: views.T(ctx, "cal.month", y, m.String(), int(m))}
		lead := (int(first.Weekday()) + 6) % 7 // Monday = 0
		var week [7]components.CalDay
		col := lead
		for day := 1; day <= calendar.DaysIn(y, m); day++ {
			d := first + calendar.Date(day-1)
			c := components.CalDay{Day: day, Date: d.String()}
			cell(d, &c)
			week[col] = c
			col++
			if col == 7 {
				mon.Weeks = append(mon.Weeks, week)
				week, col = [7]components.CalDay{}, 0
			}
		}
		if col > 0 {
			mon.Weeks = append(mon.Weeks, week)
		}
		g.Months = append(g.Months, mon)
	}
	return g
}
