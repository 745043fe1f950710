package calendar

import (
	"fmt"
	"strings"
	"time"
)

// Layouts of Stamp.
const (
	StampClock    = "15:04"
	StampSeconds  = "15:04:05"
	StampDateTime = "2006-01-02 15:04"
	StampFull     = "2006-01-02 15:04:05"
)

// Stamp formats an instant for people: on the clock of loc (UTC when nil),
// in layout, followed by the zone — its abbreviation ("23:05 JST"), or its
// UTC offset when the zone has no letters for it ("23:05 +0530"). Every time
// the GUI and the CLI show goes through it, so none is shown without its
// zone.
func Stamp(t time.Time, loc *time.Location, layout string) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	return t.Format(layout) + " " + ZoneLabel(t)
}

// ZoneLabel names the zone of t: its abbreviation, or its UTC offset
// (+09:00) when the abbreviation is only digits.
func ZoneLabel(t time.Time) string {
	abbr, off := t.Zone()
	if abbr != "" && strings.IndexFunc(abbr, func(r rune) bool { return r >= 'A' && r <= 'Z' }) >= 0 {
		return abbr
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("%c%02d:%02d", sign, off/3600, off/60%60)
}

// LoadZone loads an IANA time zone name ("Asia/Tokyo", "UTC"); the error
// names it and unwraps to fault.ErrInvalid.
func LoadZone(name string) (*time.Location, error) {
	if strings.TrimSpace(name) == "" || strings.ContainsAny(name, " \t") {
		return nil, fmt.Errorf("time zone %q: want an IANA name such as Asia/Tokyo: %w", name, ErrInvalid)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("time zone %q: not an IANA time zone: %w", name, ErrInvalid)
	}
	return loc, nil
}
