package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ClockTime is a time of the business day written HH:MM, 00:00-47:59,
// counted from midnight at the start of the business date (so 25:30 is 01:30
// on the next calendar day). It is stored as minutes.
type ClockTime int

// MaxClockTime is 47:59.
const MaxClockTime ClockTime = 47*60 + 59

// ParseClockTime parses HH:MM (00:00-47:59).
func ParseClockTime(s string) (ClockTime, error) {
	h, m, ok := strings.Cut(s, ":")
	if strings.TrimLeft(h, "0123456789") != "" || strings.TrimLeft(m, "0123456789") != "" {
		return 0, fmt.Errorf("invalid time %q: want HH:MM between 00:00 and 47:59", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || len(h) < 1 || len(h) > 2 || hh < 0 || hh > 47 || mm < 0 || mm > 59 {
		return 0, fmt.Errorf("invalid time %q: want HH:MM between 00:00 and 47:59", s)
	}
	return ClockTime(hh*60 + mm), nil
}

// Duration returns the offset from midnight.
func (c ClockTime) Duration() time.Duration { return time.Duration(c) * time.Minute }

func (c ClockTime) String() string { return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60) }

// MarshalText implements encoding.TextMarshaler.
func (c ClockTime) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (c *ClockTime) UnmarshalText(b []byte) error {
	v, err := ParseClockTime(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// Weekday is a day of the week written as its three-letter English name
// (mon, tue, …) in definitions.
type Weekday time.Weekday

var weekdayNames = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseWeekday accepts mon..sun and full English names, case-insensitively.
func ParseWeekday(s string) (Weekday, error) {
	ls := strings.ToLower(strings.TrimSpace(s))
	for i, n := range weekdayNames {
		if ls == n || ls == strings.ToLower(time.Weekday(i).String()) {
			return Weekday(i), nil
		}
	}
	return 0, fmt.Errorf("invalid weekday %q: want mon, tue, wed, thu, fri, sat or sun", s)
}

func (w Weekday) String() string {
	if w < 0 || w > 6 {
		return fmt.Sprintf("weekday(%d)", int(w))
	}
	return weekdayNames[w]
}

// MarshalText implements encoding.TextMarshaler.
func (w Weekday) MarshalText() ([]byte, error) { return []byte(w.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (w *Weekday) UnmarshalText(b []byte) error {
	v, err := ParseWeekday(string(b))
	if err != nil {
		return err
	}
	*w = v
	return nil
}

// OverrideDef is one explicit open or closed day in a calendar definition.
type OverrideDef struct {
	Date Date   `json:"date" yaml:"date"`
	Open bool   `json:"open" yaml:"open"`
	Note string `json:"note,omitempty" yaml:"note,omitempty"`
}

// Definition is an operation calendar as designers write it (YAML, GUI, API)
// and as the store keeps it. Build turns it into a Calendar.
type Definition struct {
	Name        string      `json:"name" yaml:"name"`
	Description string      `json:"description,omitempty" yaml:"description,omitempty"`
	TimeZone    string      `json:"time_zone,omitempty" yaml:"time_zone,omitempty"`
	BaseTime    ClockTime   `json:"base_time,omitempty" yaml:"base_time,omitempty"`
	BaseDay     int         `json:"base_day,omitempty" yaml:"base_day,omitempty"`
	MonthNaming MonthNaming `json:"month_naming,omitempty" yaml:"month_naming,omitempty"`
	// ClosedWeekdays is the weekly pattern, e.g. [sat, sun].
	ClosedWeekdays []Weekday `json:"closed_weekdays,omitempty" yaml:"closed_weekdays,omitempty"`
	// HolidaySets names built-in sets, e.g. [jp].
	HolidaySets []string      `json:"holiday_sets,omitempty" yaml:"holiday_sets,omitempty"`
	Overrides   []OverrideDef `json:"overrides,omitempty" yaml:"overrides,omitempty"`
	// Parent names a calendar this one inherits from.
	Parent string `json:"parent,omitempty" yaml:"parent,omitempty"`
}
