package plan

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// MaxRangeDays bounds the business dates one Planner covers (ten years).
const MaxRangeDays = 3660

// Run is one planned generation: a root jobnet on a business date at a start time.
type Run struct {
	// Jobnet is folder/name.
	Jobnet string
	// Rule is the name of the rule that planned it (the first one when
	// several rules planned the same date and start).
	Rule         string
	BusinessDate calendar.Date
	// Origin is the candidate date the run came from, before substitution
	// and offset. Moved matches runs of two plans by it.
	Origin calendar.Date
	// Start is the absolute instant of StartClock on BusinessDate.
	Start      time.Time
	StartClock calendar.ClockTime
	// Explanation says in words how the rule reached the date.
	Explanation string
	// Steps is the same in structured form. Runs of the same rule and date
	// share one Steps slice; treat it as read-only.
	Steps []Step
}

// StepKind names one evaluation step.
type StepKind string

const (
	// StepCandidate: the rule picked a candidate date (Detail says how).
	StepCandidate StepKind = "candidate"
	// StepSubstitute: the candidate was on a closed day; Detail names the
	// substitution (before, after, run) and the day's reason.
	StepSubstitute StepKind = "substitute"
	// StepOffset: moved by Days open days.
	StepOffset StepKind = "offset"
	// StepDuplicate: another rule or candidate planned the same date and start.
	StepDuplicate StepKind = "duplicate"
	// StepDST: the start's wall time falls into a daylight saving time gap
	// or overlap; Detail says how it was resolved.
	StepDST StepKind = "dst"
	// StepSameInstant: another start clock of the same business date
	// resolved to the same instant (in a DST gap) and was collapsed into
	// this run; Detail names it.
	StepSameInstant StepKind = "same_instant"
)

// Step is one evaluation step of a run or a dropped candidate.
type Step struct {
	Kind StepKind
	// From is the date before the step (zero for candidates).
	From calendar.Date
	// To is the date after the step.
	To calendar.Date
	// Days is the offset in open days (StepOffset) or the substitution's
	// distance in calendar days (StepSubstitute).
	Days   int
	Detail string
}

// DropReason says why a candidate yielded no run.
type DropReason string

const (
	// DropNonexistent: the candidate does not exist (day 31 in April, the
	// 22nd open day of a month with 21).
	DropNonexistent DropReason = "nonexistent"
	// DropClosed: the candidate is a closed day and the rule skips those.
	DropClosed DropReason = "closed_skipped"
	// DropMaxShift: no open day within max shift days.
	DropMaxShift DropReason = "max_shift_exceeded"
	// DropNoOpenDay: the business-day offset found no open day.
	DropNoOpenDay DropReason = "no_open_day"
	// DropExcluded: the date is in the rule's exclusions.
	DropExcluded DropReason = "excluded"
	// DropExclusive: another jobnet the rule is exclusive with runs that date.
	DropExclusive DropReason = "exclusive_with"
	// DropOutsideValidity: the date is outside valid_from..valid_to.
	DropOutsideValidity DropReason = "outside_validity"
)

// Dropped is a candidate that yielded no run, and why.
type Dropped struct {
	Jobnet string
	Rule   string
	// Date is where the candidate was dropped (zero for nonexistent ones).
	Date calendar.Date
	// Period names the business month/week/year or calendar month the
	// candidate was sought in, when the rule counts in one, and
	// PeriodStart..PeriodEnd are its dates.
	Period                 string
	PeriodStart, PeriodEnd calendar.Date
	Reason                 DropReason
	Explanation            string
	Steps                  []Step
}

// Result is the plan of one jobnet over the Planner's range.
type Result struct {
	// Runs in start order.
	Runs []Run
	// Dropped in date order (a nonexistent candidate at its period's
	// start), then rule order.
	Dropped []Dropped
}

// Resolver supplies the planned business dates of other jobnets, for
// exclusive_with. The name is folder/name.
type Resolver interface {
	PlannedDates(jobnet string, from, to calendar.Date) ([]calendar.Date, error)
}

// ResolverFunc adapts a function to Resolver.
type ResolverFunc func(jobnet string, from, to calendar.Date) ([]calendar.Date, error)

// PlannedDates implements Resolver.
func (f ResolverFunc) PlannedDates(jobnet string, from, to calendar.Date) ([]calendar.Date, error) {
	return f(jobnet, from, to)
}

// RunsResolver resolves from already planned runs keyed by folder/name.
// An unknown jobnet is an error wrapping fault.ErrNotFound.
func RunsResolver(plans map[string][]Run) Resolver {
	return ResolverFunc(func(name string, from, to calendar.Date) ([]calendar.Date, error) {
		runs, ok := plans[name]
		if !ok {
			return nil, fmt.Errorf("exclusive_with jobnet %q: %w", name, fault.ErrNotFound)
		}
		var out []calendar.Date
		for _, r := range runs {
			if r.BusinessDate >= from && r.BusinessDate <= to {
				out = append(out, r.BusinessDate)
			}
		}
		return out, nil
	})
}

// Params configures a Planner.
type Params struct {
	Calendar *calendar.Calendar
	// From and To bound the business dates planned, inclusive.
	From, To calendar.Date
	// Resolver supplies exclusive_with dates; nil when no rule uses it.
	Resolver Resolver
}

// Planner plans jobnets on one calendar over one range of business dates. It
// precomputes the open-day index and the business periods once, so that
// planning many jobnets shares the work. It is safe for concurrent use.
type Planner struct {
	cal      *calendar.Calendar
	loc      *time.Location
	from, to calendar.Date
	resolver Resolver
	base     calendar.ClockTime
	tab      table
	// dayUnix[i] is the Unix time of local midnight of from+i when the
	// zone offset is the same for the whole 48h a start clock can reach;
	// stable[i] says so. Other days go through calendar.Date.At.
	dayUnix []int64
	stable  []bool
	scratch sync.Pool
	memo    memo
	months  []period
	weeks   []period
	years   []period
	// reach is how many open days the table extends beyond the range; rules
	// with larger offsets are planned on a wider Planner (wide, by reach).
	reach int
	wide  sync.Map
}

// TableReachDefault is how many open days around its range a Planner's
// tables cover. Rules with larger offsets plan on a wider copy built on
// first use.
const TableReachDefault = 31

// NewPlanner validates p and precomputes the tables.
func NewPlanner(p Params) (*Planner, error) { return newPlanner(p, TableReachDefault) }

// widened returns a Planner like p whose tables reach at least reach open
// days beyond the range.
func (p *Planner) widened(reach int) (*Planner, error) {
	reach = (reach + 63) / 64 * 64
	if w, ok := p.wide.Load(reach); ok {
		return w.(*Planner), nil
	}
	w, err := newPlanner(Params{Calendar: p.cal, From: p.from, To: p.to, Resolver: p.resolver}, reach)
	if err != nil {
		return nil, err
	}
	got, _ := p.wide.LoadOrStore(reach, w)
	return got.(*Planner), nil
}

func newPlanner(p Params, reach int) (*Planner, error) {
	var ps fault.Problems
	if p.Calendar == nil {
		ps.Add("calendar", "required")
	}
	if p.To < p.From {
		ps.Add("to", "%s: before from %s", p.To, p.From)
	} else if int(p.To-p.From) >= MaxRangeDays {
		ps.Add("to", "range %s..%s: at most %d days", p.From, p.To, MaxRangeDays)
	}
	if len(ps) > 0 {
		return nil, fmt.Errorf("new planner: %w", ps)
	}
	c := p.Calendar
	pl := &Planner{
		cal: c, loc: c.Location(), from: p.From, to: p.To, resolver: p.Resolver,
		base: calendar.ClockTime(c.BaseTime() / time.Minute), reach: reach,
	}
	// The table covers every date a candidate can come from or reach: the
	// range widened by the largest offset and max shift, to whole business
	// months. Periods reaching outside it (weeks, years) are counted on the
	// calendar itself.
	lo, ok := c.AddOpenDays(p.From, -reach-1)
	if !ok {
		lo = p.From - calendar.Date(2*reach)
	}
	hi, ok := c.AddOpenDays(p.To, reach+1)
	if !ok {
		hi = p.To + calendar.Date(2*reach)
	}
	lo, _, _ = c.BusinessMonth(lo - jobnet.MaxShiftDays - 7)
	_, hi, _ = c.BusinessMonth(hi + jobnet.MaxShiftDays + 7)
	pl.tab = newTable(c, lo, hi)
	pl.months = monthPeriods(c, lo, hi)
	pl.weeks = weekPeriods(c, lo, hi)
	pl.years = yearPeriods(c, lo, hi)
	n := int(p.To-p.From) + 1
	pl.dayUnix, pl.stable = make([]int64, n), make([]bool, n)
	for i := range n {
		utc := int64(p.From+calendar.Date(i)) * 86400
		_, off := time.Unix(utc, 0).In(pl.loc).Zone()
		start := utc - int64(off)
		_, off1 := time.Unix(start, 0).In(pl.loc).Zone()
		_, off2 := time.Unix(start+49*3600, 0).In(pl.loc).Zone()
		pl.dayUnix[i], pl.stable[i] = start, off1 == off && off2 == off
	}
	return pl, nil
}

// From returns the first business date planned.
func (p *Planner) From() calendar.Date { return p.from }

// To returns the last business date planned.
func (p *Planner) To() calendar.Date { return p.to }

// Calendar returns the planner's calendar.
func (p *Planner) Calendar() *calendar.Calendar { return p.cal }

// startAt returns the instant of clock c on business date d (inside the range).
func (p *Planner) startAt(d calendar.Date, c calendar.ClockTime) time.Time {
	i := d - p.from
	if p.stable[i] {
		return time.Unix(p.dayUnix[i]+int64(c)*60, 0).In(p.loc)
	}
	return d.At(c.Duration(), p.loc)
}

// Plan plans a root jobnet. Invalid rules (including start times outside
// their business day) return fault.Problems with paths like `schedule[2].start[0]`.
func (p *Planner) Plan(j *jobnet.Jobnet) (Result, error) {
	return p.PlanRules(j.Folder, j.Path(), j.Rules)
}

// PlanRules plans a schedule given as its rules; folder resolves
// exclusive_with names without a folder, path names the jobnet in the output.
func (p *Planner) PlanRules(folder, path string, rules []jobnet.Rule) (Result, error) {
	kb, _ := p.memo.keys.Get().(*[]byte)
	if kb == nil {
		kb = new([]byte)
	}
	defer p.memo.keys.Put(kb)
	key, shared := appendScheduleKey((*kb)[:0], rules)
	*kb = key
	keep := false
	if shared {
		var kept *Result
		if kept, keep = p.memo.lookup(key); kept != nil {
			return instantiate(kept, path), nil
		}
	}
	if ps := p.Validate(rules); len(ps) > 0 {
		return Result{}, fmt.Errorf("plan jobnet %q: %w", path, ps)
	}
	if need := maxOffset(rules); need > p.reach {
		w, err := p.widened(need)
		if err != nil {
			return Result{}, fmt.Errorf("plan jobnet %q: %w", path, err)
		}
		return w.PlanRules(folder, path, rules)
	}
	ev, _ := p.scratch.Get().(*evaluator)
	if ev == nil {
		ev = &evaluator{}
	}
	ev.reset(p, path)
	defer p.scratch.Put(ev)
	if err := ev.prepare(folder, rules); err != nil {
		return Result{}, fmt.Errorf("plan jobnet %q: %w", path, err)
	}
	for i := range rules {
		ev.rule(i, &rules[i])
	}
	res := ev.finish()
	if keep {
		p.memo.keep(key, res)
	}
	return res, nil
}

// maxOffset is the largest business-day offset of the rules, either way.
func maxOffset(rules []jobnet.Rule) int {
	n := 0
	for _, r := range rules {
		n = max(n, r.Offset, -r.Offset)
	}
	return n
}

// Validate checks rules as jobnet.ValidateRules does, plus what needs the
// calendar: every start time and repeat end inside its business day
// (base time ≤ start < base time + 24h).
func (p *Planner) Validate(rules []jobnet.Rule) fault.Problems {
	return ValidateOn(p.cal, rules)
}

// ValidateOn is Planner.Validate for a calendar alone.
func ValidateOn(c *calendar.Calendar, rules []jobnet.Rule) fault.Problems {
	ps := jobnet.ValidateRules(rules)
	base := calendar.ClockTime(c.BaseTime() / time.Minute)
	end := base + 24*60
	for i, r := range rules {
		for k, s := range r.Start {
			if s >= 0 && s <= calendar.MaxClockTime && (s < base || s >= end) {
				ps.Add(fmt.Sprintf("schedule[%d].start[%d]", i, k),
					"%s: outside the business day %s-%s of calendar %q", s, base, end-1, c.Name())
			}
		}
		if r.Repeat != nil {
			u := r.Repeat.Until
			if u >= 0 && u <= calendar.MaxClockTime && (u < base || u >= end) {
				ps.Add(fmt.Sprintf("schedule[%d].repeat.until", i),
					"%s: outside the business day %s-%s of calendar %q", u, base, end-1, c.Name())
			}
		}
	}
	return ps
}

// qualify returns folder/name for a name written with or without its folder.
func qualify(folder, name string) string {
	if strings.Contains(name, "/") {
		return name
	}
	return folder + "/" + name
}

// PlanAll plans many jobnets on workers goroutines (≤ 0: GOMAXPROCS) and
// returns their results in input order. The first error stops nothing
// already running but is returned, wrapped with the jobnet's path.
func (p *Planner) PlanAll(js []*jobnet.Jobnet, workers int) ([]Result, error) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(js))
	out := make([]Result, len(js))
	errs := make([]error, len(js))
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(js) {
					return
				}
				out[i], errs[i] = p.Plan(js[i])
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
