package jobnet

import "github.com/koyomi-dev/koyomi/internal/calendar"

// MaxRules is the most schedule rules a root jobnet may have.
const MaxRules = 144

// RuleKind selects how a rule picks candidate dates. The planner (package
// plan) evaluates rules; this package only holds and validates them.
type RuleKind string

const (
	// RuleDay: absolute day N of each business month (Day). A day that does
	// not exist in a month (31 in April) yields no run for that month.
	RuleDay RuleKind = "day"
	// RuleMonthEnd: the last day of each business month, or Day days before it.
	RuleMonthEnd RuleKind = "month_end"
	// RuleOpenDay: the Day-th open day from the start of each period.
	RuleOpenDay RuleKind = "open_day"
	// RuleOpenDayFromEnd: the Day-th open day from the end of each period
	// (1 = the last open day).
	RuleOpenDayFromEnd RuleKind = "open_day_from_end"
	// RuleWeekdayOfMonth: the Nth (1-5, or -1 for last) Weekday of the month.
	RuleWeekdayOfMonth RuleKind = "weekday_of_month"
	// RuleEvery: every Every days/weeks/months/years (Unit) from Anchor.
	RuleEvery RuleKind = "every"
	// RuleDates: the listed specific dates.
	RuleDates RuleKind = "dates"
	// RuleDaily: every day (with Closed deciding what closed days do; the
	// usual choice is skip, which makes it "every open day").
	RuleDaily RuleKind = "daily"
	// RuleWeekdays: the listed days of the week.
	RuleWeekdays RuleKind = "weekdays"
)

// Period is the span open days are counted in.
type Period string

const (
	// PeriodMonth: the business month (from the calendar's base day).
	PeriodMonth Period = "month"
	// PeriodWeek: the week starting on WeekStart (default Monday).
	PeriodWeek Period = "week"
	// PeriodYear: the business year (from the base day of January, or of FiscalStartMonth).
	PeriodYear Period = "year"
)

// EveryUnit is the unit of an "every N" rule.
type EveryUnit string

const (
	EveryDays   EveryUnit = "days"
	EveryWeeks  EveryUnit = "weeks"
	EveryMonths EveryUnit = "months"
	// EveryYears keeps the anchor's month and day every Every years.
	EveryYears EveryUnit = "years"
)

// Substitution says what a candidate on a closed day does.
type Substitution string

const (
	// SubstituteBefore moves it to the nearest earlier open day.
	SubstituteBefore Substitution = "before"
	// SubstituteAfter moves it to the nearest later open day.
	SubstituteAfter Substitution = "after"
	// SubstituteSkip drops it.
	SubstituteSkip Substitution = "skip"
	// SubstituteRun runs it on the closed day anyway.
	SubstituteRun Substitution = "run"
)

// Repeat starts the jobnet again every Every until Until (a business-day time).
type Repeat struct {
	Every Duration           `json:"every" yaml:"every"`
	Until calendar.ClockTime `json:"until" yaml:"until"`
}

// Rule is one schedule rule of a root jobnet. Evaluation order (DESIGN.md):
// candidate dates → closed-day substitution → business-day offset →
// exclusions → start times, within the validity period.
type Rule struct {
	// Name identifies the rule within the jobnet (default: its index, "rule1").
	Name string   `json:"name,omitempty" yaml:"name,omitempty"`
	Kind RuleKind `json:"kind" yaml:"kind"`
	// Period for open_day and open_day_from_end (default month).
	Period Period `json:"period,omitempty" yaml:"period,omitempty"`
	// Day is N for day, month_end (days before the end, 0 = last day),
	// open_day and open_day_from_end.
	Day int `json:"day,omitempty" yaml:"day,omitempty"`
	// Nth and Weekday for weekday_of_month (Nth -1 = last).
	Nth     int               `json:"nth,omitempty" yaml:"nth,omitempty"`
	Weekday *calendar.Weekday `json:"weekday,omitempty" yaml:"weekday,omitempty"`
	// Weekdays for weekdays.
	Weekdays []calendar.Weekday `json:"weekdays,omitempty" yaml:"weekdays,omitempty"`
	// Every, Unit and Anchor for every.
	Every  int            `json:"every,omitempty" yaml:"every,omitempty"`
	Unit   EveryUnit      `json:"unit,omitempty" yaml:"unit,omitempty"`
	Anchor *calendar.Date `json:"anchor,omitempty" yaml:"anchor,omitempty"`
	// Dates for dates.
	Dates []calendar.Date `json:"dates,omitempty" yaml:"dates,omitempty"`

	// Closed is the closed-day substitution (default skip). It applies to
	// candidates not already counted in open days.
	Closed Substitution `json:"closed,omitempty" yaml:"closed,omitempty"`
	// MaxShift bounds the calendar days searched by before/after (0: 31).
	MaxShift int `json:"max_shift,omitempty" yaml:"max_shift,omitempty"`
	// Offset moves the date by open days (negative: earlier), counted from the
	// date after substitution, never counting that date itself.
	Offset int `json:"offset,omitempty" yaml:"offset,omitempty"`

	Exclude []calendar.Date `json:"exclude,omitempty" yaml:"exclude,omitempty"`
	// Except excludes the dates other rules pick (e.g. "not on the last
	// open day of the month": {kind: open_day_from_end, day: 1}). Each is a
	// rule of its own kind with its own closed, max_shift, offset and
	// exclude; what it plans is excluded from this rule's final dates.
	Except []Rule `json:"except,omitempty" yaml:"except,omitempty"`
	// ExclusiveWith names jobnets (folder/name or name) on whose planned
	// dates this rule does not run.
	ExclusiveWith []string `json:"exclusive_with,omitempty" yaml:"exclusive_with,omitempty"`

	// Start lists start times, 00:00-47:59 relative to the business date,
	// each within its business day. Empty means the calendar's base time.
	Start  []calendar.ClockTime `json:"start,omitempty" yaml:"start,omitempty"`
	Repeat *Repeat              `json:"repeat,omitempty" yaml:"repeat,omitempty"`

	ValidFrom *calendar.Date `json:"valid_from,omitempty" yaml:"valid_from,omitempty"`
	ValidTo   *calendar.Date `json:"valid_to,omitempty" yaml:"valid_to,omitempty"`

	// Deadline replaces the jobnet's deadline for the generations this rule
	// plans.
	Deadline *Due `json:"deadline,omitempty" yaml:"deadline,omitempty"`
}
