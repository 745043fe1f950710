package jobnet

import (
	"fmt"
	"strconv"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Bounds of schedule rule fields.
const (
	// MaxRuleDay is the largest absolute day of a business month.
	MaxRuleDay = 31
	// MaxMonthEndDays is the most days a month_end rule counts back.
	MaxMonthEndDays = 30
	// MaxShiftDays is the largest max_shift (calendar days searched).
	MaxShiftDays = 366
	// MaxOffset is the largest business-day offset either way (about four
	// years of open days).
	MaxOffset = 1000
	// MinRepeat is the shortest repeat interval.
	MinRepeat = time.Minute
)

// EffectiveRuleName returns the rule's name, or "rule<i+1>" when it has none.
func EffectiveRuleName(r Rule, i int) string {
	if r.Name != "" {
		return r.Name
	}
	return "rule" + strconv.Itoa(i+1)
}

// ValidateRules checks a root jobnet's schedule: every rule (paths like
// `schedule[3].day`), the number of rules and unique rule names.
func ValidateRules(rs []Rule) fault.Problems {
	var ps fault.Problems
	if len(rs) > MaxRules {
		ps.Add("schedule", "%d rules: at most %d are allowed", len(rs), MaxRules)
	}
	seen := make(map[string]int, len(rs))
	for i, r := range rs {
		prefix := fmt.Sprintf("schedule[%d]", i)
		ps = append(ps, ValidateRule(r).Prefix(prefix)...)
		name := EffectiveRuleName(r, i)
		if j, dup := seen[name]; dup {
			ps.Add(prefix+".name", "duplicate rule name %q (also schedule[%d])", name, j)
			continue
		}
		seen[name] = i
	}
	return ps
}

// ValidateRule checks one rule on its own: the fields its kind needs and
// the ranges of every field. Paths are relative to the rule (`day`,
// `start[1]`). Checks that need the calendar (a start time inside its
// business day) are the planner's.
func ValidateRule(r Rule) fault.Problems {
	var ps fault.Problems
	for k, x := range r.Except {
		path := fmt.Sprintf("except[%d]", k)
		ps = append(ps, ValidateRule(x).Prefix(path)...)
		switch {
		case len(x.Except) > 0:
			ps.Add(path+".except", "an exception has no exceptions of its own")
		case len(x.Start) > 0 || x.Repeat != nil:
			ps.Add(path+".start", "an exception excludes dates: it has no start times")
		case len(x.ExclusiveWith) > 0 || x.ValidFrom != nil || x.ValidTo != nil:
			ps.Add(path, "an exception takes only the fields that pick dates (kind, day, closed, offset, exclude, …)")
		}
	}
	switch r.Kind {
	case RuleDay:
		if r.Day < 1 || r.Day > MaxRuleDay {
			ps.Add("day", "%d: must be 1-%d", r.Day, MaxRuleDay)
		}
	case RuleMonthEnd:
		if r.Day < 0 || r.Day > MaxMonthEndDays {
			ps.Add("day", "%d: days before month end must be 0-%d", r.Day, MaxMonthEndDays)
		}
	case RuleOpenDay, RuleOpenDayFromEnd:
		limit := map[Period]int{"": 31, PeriodMonth: 31, PeriodWeek: 7, PeriodYear: 366}[r.Period]
		if limit == 0 {
			ps.Add("period", "%q: must be month, week or year", r.Period)
			limit = 366
		}
		if r.Day < 1 || r.Day > limit {
			ps.Add("day", "%d: open day must be 1-%d", r.Day, limit)
		}
	case RuleWeekdayOfMonth:
		if r.Nth != -1 && (r.Nth < 1 || r.Nth > 5) {
			ps.Add("nth", "%d: must be 1-5, or -1 for the last", r.Nth)
		}
		if r.Weekday == nil {
			ps.Add("weekday", "required for weekday_of_month")
		} else if !validWeekday(*r.Weekday) {
			ps.Add("weekday", "%d: not a day of the week", int(*r.Weekday))
		}
	case RuleEvery:
		if r.Every < 1 {
			ps.Add("every", "%d: must be at least 1", r.Every)
		}
		switch r.Unit {
		case EveryDays, EveryWeeks, EveryMonths, EveryYears:
		case "":
			ps.Add("unit", "required for every: days, weeks, months or years")
		default:
			ps.Add("unit", "%q: must be days, weeks, months or years", r.Unit)
		}
		if r.Anchor == nil {
			ps.Add("anchor", "required for every: the first date counted")
		}
	case RuleDates:
		if len(r.Dates) == 0 {
			ps.Add("dates", "at least one date is required")
		}
	case RuleDaily:
	case RuleWeekdays:
		if len(r.Weekdays) == 0 {
			ps.Add("weekdays", "at least one day of the week is required")
		}
		for i, w := range r.Weekdays {
			if !validWeekday(w) {
				ps.Add(fmt.Sprintf("weekdays[%d]", i), "%d: not a day of the week", int(w))
			}
		}
	case "":
		ps.Add("kind", "required: day, month_end, open_day, open_day_from_end, weekday_of_month, every, dates, daily or weekdays")
	default:
		ps.Add("kind", "%q: unknown rule kind", r.Kind)
	}
	if r.Period != "" && r.Kind != RuleOpenDay && r.Kind != RuleOpenDayFromEnd {
		ps.Add("period", "applies only to open_day and open_day_from_end")
	}

	switch r.Closed {
	case "", SubstituteBefore, SubstituteAfter, SubstituteSkip, SubstituteRun:
	default:
		ps.Add("closed", "%q: must be before, after, skip or run", r.Closed)
	}
	if r.MaxShift < 0 || r.MaxShift > MaxShiftDays {
		ps.Add("max_shift", "%d: must be 0-%d calendar days", r.MaxShift, MaxShiftDays)
	}
	if r.Offset < -MaxOffset || r.Offset > MaxOffset {
		ps.Add("offset", "%d: must be within ±%d open days", r.Offset, MaxOffset)
	}
	for i, e := range r.ExclusiveWith {
		if e == "" {
			ps.Add(fmt.Sprintf("exclusive_with[%d]", i), "empty jobnet name")
		}
	}

	first := calendar.ClockTime(-1)
	for i, s := range r.Start {
		if s < 0 || s > calendar.MaxClockTime {
			ps.Add(fmt.Sprintf("start[%d]", i), "%d minutes: must be 00:00-47:59", int(s))
			continue
		}
		if first < 0 || s < first {
			first = s
		}
	}
	if r.Repeat != nil {
		if e := r.Repeat.Every.D(); e < MinRepeat || e%time.Minute != 0 {
			ps.Add("repeat.every", "%s: must be whole minutes, at least 1m", r.Repeat.Every)
		}
		switch {
		case r.Repeat.Until < 0 || r.Repeat.Until > calendar.MaxClockTime:
			ps.Add("repeat.until", "%d minutes: must be 00:00-47:59", int(r.Repeat.Until))
		case first >= 0 && r.Repeat.Until < first:
			ps.Add("repeat.until", "%s: before the first start time %s", r.Repeat.Until, first)
		}
	}
	if r.ValidFrom != nil && r.ValidTo != nil && *r.ValidFrom > *r.ValidTo {
		ps.Add("valid_to", "%s: before valid_from %s", *r.ValidTo, *r.ValidFrom)
	}
	return ps
}

func validWeekday(w calendar.Weekday) bool { return w >= 0 && w <= 6 }
