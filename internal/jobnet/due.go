package jobnet

import (
	"fmt"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
)

// Due is when a generation (or one of its units) must have ended: the
// operator's deadline that the forecast compares its predicted end with.
// It is written either as a business-day time "HH:MM" (00:00-47:59, so
// "30:00" is 06:00 on the calendar day after the business date), or as
// "+DURATION" after the generation's scheduled start ("+3h", "+90m").
type Due struct {
	// At is the business-day time; nil when After is used.
	At *calendar.ClockTime
	// After is the duration after the scheduled start; 0 when At is used.
	After Duration
}

// ParseDue parses "HH:MM" or "+DURATION".
func ParseDue(s string) (Due, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d <= 0 {
			return Due{}, fmt.Errorf("invalid deadline %q: want a business-day time HH:MM (00:00-47:59) or +DURATION after the start, e.g. 30:00 or +3h", s)
		}
		return Due{After: Duration(d)}, nil
	}
	c, err := calendar.ParseClockTime(s)
	if err != nil {
		return Due{}, fmt.Errorf("invalid deadline %q: want a business-day time HH:MM (00:00-47:59) or +DURATION after the start, e.g. 30:00 or +3h", s)
	}
	return Due{At: &c}, nil
}

// String writes the text form.
func (d Due) String() string {
	if d.At != nil {
		return d.At.String()
	}
	return "+" + d.After.String()
}

// MarshalText implements encoding.TextMarshaler.
func (d Due) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Due) UnmarshalText(b []byte) error {
	v, err := ParseDue(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Instant returns the deadline's instant for a generation of businessDate
// in loc: an absolute business-day time counts from the business date's
// midnight in the calendar's zone (a DST change in between is honoured); a
// relative one from the scheduled start.
func (d Due) Instant(scheduledStart time.Time, businessDate calendar.Date, loc *time.Location) time.Time {
	if d.At != nil {
		return businessDate.At(d.At.Duration(), loc)
	}
	return scheduledStart.Add(d.After.D())
}

// DueOf returns the deadline that applies to a generation planned by the
// named rule: the rule's own, else the jobnet's; nil when neither sets one.
func (j *Jobnet) DueOf(rule string) *Due {
	for i := range j.Rules {
		if EffectiveRuleName(j.Rules[i], i) == rule && j.Rules[i].Deadline != nil {
			return j.Rules[i].Deadline
		}
	}
	return j.Deadline
}
