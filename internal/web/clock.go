package web

import (
	"time"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
)

// One clock: every time a page shows is formatted by calendar.Stamp (so it
// carries its zone) on the clock zoneOf picks.

// zoneOf is the zone a page shows times in: the signed-in user's chosen
// zone (Account), else cal (the zone of the calendar the page is about),
// else the main calendar's, else UTC.
func (s *Server) zoneOf(c echo.Context, cal *time.Location) *time.Location {
	if u := state(c).user; u != nil && u.TimeZone != "" {
		if loc, err := calendar.LoadZone(u.TimeZone); err == nil {
			return loc
		}
	}
	if cal != nil {
		return cal
	}
	if _, mc, _, err := s.p.Ops.MainCalendar(c.Request().Context(), ""); err == nil && mc != nil {
		return mc.Location()
	}
	return time.UTC
}

// stamp formats t on the page's clock (see zoneOf) with its zone.
func (s *Server) stamp(c echo.Context, t time.Time, layout string) string {
	return calendar.Stamp(t, s.zoneOf(c, nil), layout)
}

// stampPtr is stamp of an optional time ("" when nil).
func (s *Server) stampPtr(c echo.Context, t *time.Time, layout string) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return s.stamp(c, *t, layout)
}
