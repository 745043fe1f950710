package jobrun

import (
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// Deadline returns the instant of a delay threshold: an absolute business-day
// time counts from businessDayStart, the midnight that starts the business
// date in the calendar's zone (so 25:30 is 01:30 on the next calendar day,
// and a DST change in between is honoured); a relative one counts from the
// scheduled start. ok is false when d sets neither.
func Deadline(d *jobnet.Deadline, scheduledStart, businessDayStart time.Time) (time.Time, bool) {
	switch {
	case d == nil:
		return time.Time{}, false
	case d.At != nil:
		return clockTime(*d.At, businessDayStart), true
	case d.After > 0:
		return scheduledStart.Add(d.After.D()), true
	}
	return time.Time{}, false
}

func clockTime(c calendar.ClockTime, midnight time.Time) time.Time {
	return calendar.DateOf(midnight).At(c.Duration(), midnight.Location())
}

// DelayFlags computes the delay flags of a job, nested jobnet or generation.
// startedAt and endedAt are zero while it has not started or ended.
//
// Start delay: not started at the start deadline (now ≥ deadline), or started
// after it. End delay: not ended at the end deadline, or ended after it; or,
// with MaxDuration, still running MaxDuration after the start, or having run
// longer than it. A deadline sets either At (which wins) or After. A unit that ended
// without starting (bypassed) is never start-delayed; a unit that has not
// started is never end-delayed by MaxDuration, only by the end deadline.
func DelayFlags(d *jobnet.DelayMonitor, scheduledStart, businessDayStart, startedAt, endedAt, now time.Time) (startDelayed, endDelayed bool) {
	if d == nil {
		return false, false
	}
	if dl, ok := Deadline(d.Start, scheduledStart, businessDayStart); ok {
		switch {
		case !startedAt.IsZero():
			startDelayed = startedAt.After(dl)
		case endedAt.IsZero():
			startDelayed = !now.Before(dl)
		}
	}
	if dl, ok := Deadline(d.End, scheduledStart, businessDayStart); ok {
		if endedAt.IsZero() {
			endDelayed = !now.Before(dl)
		} else {
			endDelayed = endedAt.After(dl)
		}
	}
	if max := d.MaxDuration.D(); max > 0 && !startedAt.IsZero() {
		if endedAt.IsZero() {
			endDelayed = endDelayed || now.Sub(startedAt) >= max
		} else {
			endDelayed = endDelayed || endedAt.Sub(startedAt) > max
		}
	}
	return startDelayed, endDelayed
}

// NextDelayCheck returns the next instant after now at which DelayFlags may
// raise a flag that it does not raise at now, or the zero time when no flag
// can change any more without a state change (start or end). The runner
// calls DelayFlags again at that instant, and after every start and end.
func NextDelayCheck(d *jobnet.DelayMonitor, scheduledStart, businessDayStart, startedAt, endedAt, now time.Time) time.Time {
	if d == nil || !endedAt.IsZero() {
		return time.Time{}
	}
	var next time.Time
	consider := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	if startedAt.IsZero() {
		if dl, ok := Deadline(d.Start, scheduledStart, businessDayStart); ok {
			consider(dl)
		}
	}
	if dl, ok := Deadline(d.End, scheduledStart, businessDayStart); ok {
		consider(dl)
	}
	if d.MaxDuration > 0 && !startedAt.IsZero() {
		consider(startedAt.Add(d.MaxDuration.D()))
	}
	return next
}
