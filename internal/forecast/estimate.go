package forecast

import (
	"math"
	"slices"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
)

// DayClass is what the history is weighted by: the day of the week of a
// business date and whether it is the last open day of its business month.
type DayClass struct {
	Weekday  time.Weekday
	MonthEnd bool
}

// ClassOf classifies a business date by its calendar.
func ClassOf(cal *calendar.Calendar, d calendar.Date) DayClass {
	_, end, _ := cal.BusinessMonth(d)
	last := end
	if !cal.IsOpen(end) {
		last, _ = cal.PrevOpen(end, 0)
	}
	return DayClass{Weekday: d.Weekday(), MonthEnd: d == last}
}

// Sample is one successful run of a unit: how long it took and on what
// kind of day. The newest sample comes first.
type Sample struct {
	Date     calendar.Date
	Class    DayClass
	Duration time.Duration
}

// Basis says which samples an estimate was taken from.
type Basis string

const (
	// BasisNone: no successful run yet; the unit is expected to take no time.
	BasisNone Basis = "none"
	// BasisAll: the recent runs, of whatever day.
	BasisAll Basis = "all"
	// BasisWeekday: the recent runs on the same day of the week, because
	// those differ from the others.
	BasisWeekday Basis = "weekday"
	// BasisMonthEnd: the recent runs on month-end days, because those
	// differ from the others.
	BasisMonthEnd Basis = "month_end"
)

// Estimate is the expected duration of a unit on a day.
type Estimate struct {
	Duration time.Duration `json:"duration"`
	Basis    Basis         `json:"basis"`
	// N is how many samples the estimate used.
	N int `json:"samples"`
}

// Params tunes estimates.
type Params struct {
	// Percentile of the chosen samples, 0 < p ≤ 1 (default 0.9).
	Percentile float64
	// Window is how many of the newest samples are considered (default 20).
	Window int
	// MinClass is how many samples a class (weekday, month end) needs
	// before it can stand on its own (default 3).
	MinClass int
	// Difference is how far (relative) the median of a class must be from
	// the median of the other samples for the class to be used alone
	// (default 0.25: 25 %).
	Difference float64
}

// Defaults for Params.
const (
	PercentileDefault = 0.9
	WindowDefault     = 20
	MinClassDefault   = 3
	DifferenceDefault = 0.25
)

func (p Params) withDefaults() Params {
	if p.Percentile <= 0 || p.Percentile > 1 {
		p.Percentile = PercentileDefault
	}
	if p.Window <= 0 {
		p.Window = WindowDefault
	}
	if p.MinClass <= 0 {
		p.MinClass = MinClassDefault
	}
	if p.Difference <= 0 {
		p.Difference = DifferenceDefault
	}
	return p
}

// Estimate returns the expected duration of a unit on a day of class
// target, from samples (newest first). Each class is judged on its own
// newest Window samples, so rare days (month ends) keep enough history:
//   - on a month-end day, the month-end samples when there are at least
//     MinClass of them and their median differs from the other days' by
//     more than Difference;
//   - else, when the history shows a weekday difference (a weekday with at
//     least MinClass samples whose median differs from the other days' by
//     more than Difference), the samples of the target's weekday if it has
//     MinClass of them, or else the samples of the weekdays that do not
//     differ;
//   - else all samples.
//
// On a day that is not a month end, month-end samples that differ are
// left out first. The estimate is the Percentile (nearest rank) of the
// newest Window samples chosen.
func (p Params) Estimate(samples []Sample, target DayClass) Estimate {
	p = p.withDefaults()
	if len(samples) == 0 {
		return Estimate{Basis: BasisNone}
	}
	pick := func(ss []Sample, f func(Sample) bool) (in, out []time.Duration) {
		for _, s := range ss {
			if f(s) {
				if len(in) < p.Window {
					in = append(in, s.Duration)
				}
			} else if len(out) < p.Window {
				out = append(out, s.Duration)
			}
		}
		return in, out
	}
	monthEnd := func(s Sample) bool { return s.Class.MonthEnd }
	in, out := pick(samples, monthEnd)
	meDiffers := len(in) >= p.MinClass && len(out) > 0 && differs(in, out, p.Difference)
	if target.MonthEnd && meDiffers {
		return Estimate{Duration: percentile(in, p.Percentile), Basis: BasisMonthEnd, N: len(in)}
	}
	pool := samples
	if meDiffers {
		pool = others(samples, monthEnd) // month-end runs would distort an ordinary day
	}
	var differing [7]bool
	anyDiffers := false
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		in, out := pick(pool, func(s Sample) bool { return s.Class.Weekday == wd })
		if len(in) >= p.MinClass && len(out) > 0 && differs(in, out, p.Difference) {
			differing[wd], anyDiffers = true, true
		}
	}
	if anyDiffers {
		if in, _ := pick(pool, func(s Sample) bool { return s.Class.Weekday == target.Weekday }); len(in) >= p.MinClass {
			return Estimate{Duration: percentile(in, p.Percentile), Basis: BasisWeekday, N: len(in)}
		}
		pool = others(pool, func(s Sample) bool { return differing[s.Class.Weekday] })
	}
	all, _ := pick(pool, func(Sample) bool { return true })
	return Estimate{Duration: percentile(all, p.Percentile), Basis: BasisAll, N: len(all)}
}

func others(ss []Sample, f func(Sample) bool) []Sample {
	var out []Sample
	for _, s := range ss {
		if !f(s) {
			out = append(out, s)
		}
	}
	return out
}

func differs(a, b []time.Duration, rel float64) bool {
	ma, mb := percentile(a, 0.5), percentile(b, 0.5)
	lo, hi := min(ma, mb), max(ma, mb)
	return float64(hi-lo) > rel*float64(max(lo, time.Second))
}

// percentile is the nearest-rank percentile of ds (not modified).
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(p*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}
