package plan

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// DefaultMaxShift is the max shift days of a rule that sets none.
const DefaultMaxShift = 31

// evaluator plans one jobnet. Explanations of all runs and drops are
// appended to one buffer and Steps to one slice, and cut into strings and
// sub-slices at the end, so a plan costs a handful of allocations. The
// Planner pools evaluators: nothing in a Result refers to their buffers.
type evaluator struct {
	p      *Planner
	jobnet string
	rules  []ruleInfo
	excl   map[string][]bool // folder/name → planned on from+i
	buf    []byte
	steps  []Step
	items  []item
	drops  []dropItem
	// the explanation and steps of the current candidate
	ea, sa int
}

type item struct {
	date, origin calendar.Date
	clock        calendar.ClockTime
	rule         int32
	ea, eb       int32
	sa, sb       int32
}

type dropItem struct {
	rule      int32
	date, key calendar.Date
	ps, pe    calendar.Date
	period    string
	reason    DropReason
	ea, eb    int32
	sa, sb    int32
}

type ruleInfo struct {
	r          *jobnet.Rule
	name       string
	desc       string
	closed     jobnet.Substitution
	maxShift   int
	starts     []calendar.ClockTime
	startsText string
	excl       []string
	except     map[calendar.Date]string // dates the rule's exceptions exclude, and why
	lo, hi     calendar.Date
}

// candidate is one date a rule picked, or a nonexistent one.
type candidate struct {
	date    calendar.Date
	exists  bool
	counted bool // counted in open days: never substituted
	per     string
	calm    bool          // per is a calendar month of an every-N-months rule: not in the text
	ps, pe  calendar.Date // the period
	missing string
}

func (ev *evaluator) reset(p *Planner, path string) {
	*ev = evaluator{p: p, jobnet: path, buf: ev.buf[:0], steps: ev.steps[:0], items: ev.items[:0], drops: ev.drops[:0]}
}

// prepare resolves the exclusive_with dates and the per-rule information.
func (ev *evaluator) prepare(folder string, rules []jobnet.Rule) error {
	for _, r := range rules {
		for _, name := range r.ExclusiveWith {
			q := qualify(folder, name)
			if _, done := ev.excl[q]; done {
				continue
			}
			if ev.p.resolver == nil {
				return fmt.Errorf("exclusive_with %q: no resolver for other jobnets' dates", q)
			}
			dates, err := ev.p.resolver.PlannedDates(q, ev.p.from, ev.p.to)
			if err != nil {
				return fmt.Errorf("exclusive_with %q: %w", q, err)
			}
			set := make([]bool, ev.p.to-ev.p.from+1)
			for _, d := range dates {
				if d >= ev.p.from && d <= ev.p.to {
					set[d-ev.p.from] = true
				}
			}
			if ev.excl == nil {
				ev.excl = map[string][]bool{}
			}
			ev.excl[q] = set
		}
	}
	ev.rules = make([]ruleInfo, 0, len(rules))
	for i := range rules {
		ri := ev.p.info(folder, i, &rules[i])
		if len(rules[i].Except) > 0 {
			exc, err := ev.p.exceptions(folder, ev.jobnet, rules[i].Except)
			if err != nil {
				return fmt.Errorf("schedule[%d].except: %w", i, err)
			}
			ri.except = exc
		}
		ev.rules = append(ev.rules, ri)
	}
	return nil
}

// exceptions plans a rule's exceptions and returns, per excluded business
// date in the range, why: "except[0]: last open day of month
// 2026-04 → 2026-04-30".
func (p *Planner) exceptions(folder, path string, rules []jobnet.Rule) (map[calendar.Date]string, error) {
	out := map[calendar.Date]string{}
	for k, x := range rules {
		res, err := p.PlanRules(folder, path, []jobnet.Rule{x})
		if err != nil {
			return nil, err
		}
		for _, r := range res.Runs {
			if _, done := out[r.BusinessDate]; done {
				continue
			}
			why, _, _ := strings.Cut(r.Explanation, "; start")
			out[r.BusinessDate] = fmt.Sprintf("except[%d]: %s", k, why)
		}
	}
	return out, nil
}

func (p *Planner) info(folder string, i int, r *jobnet.Rule) ruleInfo {
	ri := ruleInfo{r: r, name: jobnet.EffectiveRuleName(*r, i), closed: r.Closed, maxShift: r.MaxShift}
	if ri.closed == "" {
		ri.closed = jobnet.SubstituteSkip
	}
	if ri.maxShift == 0 {
		ri.maxShift = DefaultMaxShift
	}
	for _, n := range r.ExclusiveWith {
		ri.excl = append(ri.excl, qualify(folder, n))
	}
	ri.desc = describe(r)
	ri.starts, ri.startsText = p.starts(r)
	shift := 0
	if r.Kind != jobnet.RuleOpenDay && r.Kind != jobnet.RuleOpenDayFromEnd &&
		(ri.closed == jobnet.SubstituteBefore || ri.closed == jobnet.SubstituteAfter) {
		shift = ri.maxShift
	}
	off := r.Offset
	if off < 0 {
		off = -off
	}
	lo, ok := p.tab.addOpen(p.from, -off)
	if !ok {
		lo = p.from - calendar.Date(2*off)
	}
	hi, ok := p.tab.addOpen(p.to, off)
	if !ok {
		hi = p.to + calendar.Date(2*off)
	}
	ri.lo, ri.hi = max(lo-calendar.Date(shift), p.tab.lo), min(hi+calendar.Date(shift), p.tab.hi)
	return ri
}

// starts expands a rule's start times and repeats into sorted clocks.
func (p *Planner) starts(r *jobnet.Rule) ([]calendar.ClockTime, string) {
	base := r.Start
	if len(base) == 0 {
		base = []calendar.ClockTime{p.base}
	}
	var out []calendar.ClockTime
	var sb strings.Builder
	if len(base) == 1 {
		sb.WriteString("; start ")
	} else {
		sb.WriteString("; starts ")
	}
	for i, s := range base {
		if i > 0 {
			sb.WriteString(", ")
		}
		sb.WriteString(s.String())
		out = append(out, s)
		if r.Repeat != nil {
			step := calendar.ClockTime(r.Repeat.Every.D() / time.Minute)
			for t := s + step; step > 0 && t <= r.Repeat.Until; t += step {
				out = append(out, t)
			}
		}
	}
	if len(r.Start) == 0 {
		sb.WriteString(" (base time)")
	}
	if r.Repeat != nil {
		fmt.Fprintf(&sb, ", repeated every %s until %s", r.Repeat.Every, r.Repeat.Until)
	}
	slices.Sort(out)
	return slices.Compact(out), sb.String()
}

var ordinals = [...]string{"", "1st", "2nd", "3rd", "4th", "5th"}

// describe returns the candidate clause of a rule without its period.
func describe(r *jobnet.Rule) string {
	switch r.Kind {
	case jobnet.RuleDay:
		return "day " + strconv.Itoa(r.Day)
	case jobnet.RuleMonthEnd:
		if r.Day == 0 {
			return "last day"
		}
		return fmt.Sprintf("%d days before the last day", r.Day)
	case jobnet.RuleOpenDay:
		return "open day " + strconv.Itoa(r.Day)
	case jobnet.RuleOpenDayFromEnd:
		if r.Day == 1 {
			return "last open day"
		}
		return fmt.Sprintf("open day %d from the end", r.Day)
	case jobnet.RuleWeekdayOfMonth:
		wd := time.Weekday(*r.Weekday).String()
		if r.Nth == -1 {
			return "last " + wd
		}
		return ordinals[r.Nth] + " " + wd
	case jobnet.RuleEvery:
		if r.Every == 1 {
			return fmt.Sprintf("every %s from %s", strings.TrimSuffix(string(r.Unit), "s"), *r.Anchor)
		}
		return fmt.Sprintf("every %d %s from %s", r.Every, r.Unit, *r.Anchor)
	case jobnet.RuleDates:
		return "listed date"
	case jobnet.RuleDaily:
		return "every day"
	case jobnet.RuleWeekdays:
		names := make([]string, len(r.Weekdays))
		for i, w := range r.Weekdays {
			names[i] = w.String()
		}
		return "weekdays " + strings.Join(names, ", ")
	}
	return string(r.Kind)
}

func (ev *evaluator) rule(i int, r *jobnet.Rule) {
	ri := &ev.rules[i]
	p := ev.p
	switch r.Kind {
	case jobnet.RuleDay, jobnet.RuleMonthEnd, jobnet.RuleWeekdayOfMonth:
		for _, m := range overlapping(p.months, ri.lo, ri.hi) {
			ev.candidate(i, ri, monthCandidate(r, m))
		}
	case jobnet.RuleOpenDay, jobnet.RuleOpenDayFromEnd:
		ps := p.months
		switch r.Period {
		case jobnet.PeriodWeek:
			ps = p.weeks
		case jobnet.PeriodYear:
			ps = p.years
		}
		for _, per := range overlapping(ps, ri.lo, ri.hi) {
			ev.candidate(i, ri, p.openDayCandidate(r, per))
		}
	case jobnet.RuleEvery:
		ev.every(i, ri)
	case jobnet.RuleDates:
		for _, d := range r.Dates {
			if d >= ri.lo && d <= ri.hi {
				ev.candidate(i, ri, candidate{date: d, exists: true})
			}
		}
	case jobnet.RuleDaily:
		for d := ri.lo; d <= ri.hi; d++ {
			ev.candidate(i, ri, candidate{date: d, exists: true})
		}
	case jobnet.RuleWeekdays:
		var set [7]bool
		for _, w := range r.Weekdays {
			set[w] = true
		}
		for d := ri.lo; d <= ri.hi; d++ {
			if set[d.Weekday()] {
				ev.candidate(i, ri, candidate{date: d, exists: true})
			}
		}
	}
}

func monthCandidate(r *jobnet.Rule, m period) candidate {
	c := candidate{per: m.label, ps: m.start, pe: m.end}
	days := int(m.end-m.start) + 1
	switch r.Kind {
	case jobnet.RuleDay:
		c.date = m.start + calendar.Date(r.Day-1)
		c.exists = c.date <= m.end
		c.missing = fmt.Sprintf("the month has %d days", days)
	case jobnet.RuleMonthEnd:
		c.date = m.end - calendar.Date(r.Day)
		c.exists = c.date >= m.start
		c.missing = fmt.Sprintf("the month has %d days", days)
	case jobnet.RuleWeekdayOfMonth:
		w := int(*r.Weekday)
		if r.Nth == -1 {
			c.date = m.end - calendar.Date((int(m.end.Weekday())-w+7)%7)
		} else {
			c.date = m.start + calendar.Date((w-int(m.start.Weekday())+7)%7+7*(r.Nth-1))
		}
		c.exists = c.date <= m.end
		c.missing = fmt.Sprintf("the month has no %s %s", ordinals[max(r.Nth, 0)], time.Weekday(w))
	}
	return c
}

func (p *Planner) openDayCandidate(r *jobnet.Rule, per period) candidate {
	c := candidate{per: per.label, ps: per.start, pe: per.end, counted: true}
	var first, count int
	var opens []calendar.Date
	if p.tab.in(per.start) && p.tab.in(per.end) {
		first, count = p.tab.openRange(per.start, per.end)
		opens = p.tab.opens
	} else {
		opens = p.cal.OpenDays(per.start, per.end)
		count = len(opens)
	}
	if r.Day > count {
		c.missing = fmt.Sprintf("it has %d open days", count)
		return c
	}
	c.exists = true
	if r.Kind == jobnet.RuleOpenDay {
		c.date = opens[first+r.Day-1]
	} else {
		c.date = opens[first+count-r.Day]
	}
	return c
}

func (ev *evaluator) every(i int, ri *ruleInfo) {
	r := ri.r
	anchor := *r.Anchor
	switch r.Unit {
	case jobnet.EveryDays, jobnet.EveryWeeks:
		step := r.Every
		if r.Unit == jobnet.EveryWeeks {
			step *= 7
		}
		d := anchor
		if d < ri.lo {
			k := (int(ri.lo-anchor) + step - 1) / step
			d = anchor + calendar.Date(k*step)
		}
		for ; d <= ri.hi; d += calendar.Date(step) {
			ev.candidate(i, ri, candidate{date: d, exists: true})
		}
	case jobnet.EveryMonths, jobnet.EveryYears:
		step := r.Every
		if r.Unit == jobnet.EveryYears {
			step *= 12
		}
		ay, am, ad := anchor.Civil()
		a := ay*12 + int(am) - 1
		ly, lm, _ := ri.lo.Civil()
		k := 0
		if lo := ly*12 + int(lm) - 1; lo > a {
			k = (lo - a + step - 1) / step
		}
		for ; ; k++ {
			mi := a + k*step
			y, m := mi/12, time.Month(mi%12+1)
			first := calendar.NewDate(y, m, 1)
			if first > ri.hi {
				return
			}
			c := candidate{per: fmt.Sprintf("%04d-%02d", y, int(m)), calm: true, ps: first, pe: first + calendar.Date(calendar.DaysIn(y, m)-1)}
			if calendar.ValidDate(y, m, ad) {
				c.date, c.exists = calendar.NewDate(y, m, ad), true
			} else {
				c.date = first
				c.missing = fmt.Sprintf("%04d-%02d-%02d does not exist", y, int(m), ad)
			}
			ev.candidate(i, ri, c)
		}
	}
}

// candidate takes one candidate through substitution, offset, exclusions
// and validity, and emits its runs or a drop.
func (ev *evaluator) candidate(i int, ri *ruleInfo, c candidate) {
	p := ev.p
	r := ri.r
	ev.ea, ev.sa = len(ev.buf), len(ev.steps)
	if !c.exists {
		// Report a nonexistent candidate when its period overlaps the range.
		if c.pe >= p.from && c.ps <= p.to {
			ev.buf = append(ev.buf, ri.desc...)
			if c.calm {
				ev.buf = append(ev.buf, ": "...)
				ev.buf = append(ev.buf, c.missing...)
			} else {
				if c.per != "" {
					ev.buf = append(ev.buf, " of "...)
					ev.buf = append(ev.buf, c.per...)
				}
				ev.buf = append(ev.buf, ": does not exist ("...)
				ev.buf = append(ev.buf, c.missing...)
				ev.buf = append(ev.buf, ')')
			}
			ev.drop(i, 0, &c, DropNonexistent)
		}
		return
	}
	origin := c.date
	ev.buf = append(ev.buf, ri.desc...)
	if c.per != "" && !c.calm {
		ev.buf = append(ev.buf, " of "...)
		ev.buf = append(ev.buf, c.per...)
	}
	ev.buf = append(ev.buf, " → "...)
	ev.buf = p.tab.appendDate(ev.buf, c.date)
	ev.steps = append(ev.steps, Step{Kind: StepCandidate, To: c.date, Detail: ri.desc})

	d := c.date
	if !c.counted && !p.tab.isOpen(d) {
		reason := p.tab.closedReason(d)
		ev.buf = append(ev.buf, "; "...)
		ev.buf = p.tab.appendDate(ev.buf, d)
		ev.buf = append(ev.buf, " is "...)
		ev.buf = append(ev.buf, d.Weekday().String()...)
		if reason == "closed: "+d.Weekday().String() || reason == "" {
			ev.buf = append(ev.buf, " (closed)"...)
		} else {
			ev.buf = append(ev.buf, " ("...)
			ev.buf = append(ev.buf, reason...)
			ev.buf = append(ev.buf, ')')
		}
		ev.buf = append(ev.buf, " → "...)
		ev.buf = append(ev.buf, ri.closed...)
		switch ri.closed {
		case jobnet.SubstituteSkip:
			ev.dropIn(i, d, &c, DropClosed)
			return
		case jobnet.SubstituteRun:
			ev.buf = append(ev.buf, " anyway"...)
			ev.steps = append(ev.steps, Step{Kind: StepSubstitute, From: d, To: d, Detail: string(ri.closed) + ": " + reason})
		case jobnet.SubstituteBefore, jobnet.SubstituteAfter:
			var to calendar.Date
			var ok bool
			if ri.closed == jobnet.SubstituteBefore {
				to, ok = p.tab.prevOpen(d, ri.maxShift)
			} else {
				to, ok = p.tab.nextOpen(d, ri.maxShift)
			}
			if !ok {
				ev.buf = append(ev.buf, ": no open day within "...)
				ev.buf = strconv.AppendInt(ev.buf, int64(ri.maxShift), 10)
				ev.buf = append(ev.buf, " days (max shift)"...)
				ev.dropIn(i, d, &c, DropMaxShift)
				return
			}
			ev.buf = append(ev.buf, " → "...)
			ev.buf = p.tab.appendDate(ev.buf, to)
			ev.steps = append(ev.steps, Step{Kind: StepSubstitute, From: d, To: to, Days: int(to - d), Detail: string(ri.closed) + ": " + reason})
			d = to
		}
	}

	if r.Offset != 0 {
		to, ok := p.tab.addOpen(d, r.Offset)
		ev.buf = append(ev.buf, "; offset "...)
		if r.Offset > 0 {
			ev.buf = append(ev.buf, '+')
			ev.buf = strconv.AppendInt(ev.buf, int64(r.Offset), 10)
		} else {
			ev.buf = append(ev.buf, "−"...)
			ev.buf = strconv.AppendInt(ev.buf, int64(-r.Offset), 10)
		}
		if r.Offset == 1 || r.Offset == -1 {
			ev.buf = append(ev.buf, " open day"...)
		} else {
			ev.buf = append(ev.buf, " open days"...)
		}
		if !ok {
			ev.buf = append(ev.buf, ": no open day found"...)
			ev.dropIn(i, d, &c, DropNoOpenDay)
			return
		}
		ev.buf = append(ev.buf, " → "...)
		ev.buf = p.tab.appendDate(ev.buf, to)
		ev.steps = append(ev.steps, Step{Kind: StepOffset, From: d, To: to, Days: r.Offset})
		d = to
	}
	if d < p.from || d > p.to {
		ev.buf, ev.steps = ev.buf[:ev.ea], ev.steps[:ev.sa]
		return
	}
	if slices.Contains(r.Exclude, d) {
		ev.buf = append(ev.buf, "; "...)
		ev.buf = p.tab.appendDate(ev.buf, d)
		ev.buf = append(ev.buf, " is excluded"...)
		ev.drop(i, d, &c, DropExcluded)
		return
	}
	if why, ok := ri.except[d]; ok {
		ev.buf = append(ev.buf, "; "...)
		ev.buf = p.tab.appendDate(ev.buf, d)
		ev.buf = append(ev.buf, " is excluded by "...)
		ev.buf = append(ev.buf, why...)
		ev.drop(i, d, &c, DropExcluded)
		return
	}
	for _, name := range ri.excl {
		if ev.excl[name][d-p.from] {
			ev.buf = append(ev.buf, "; exclusive with "...)
			ev.buf = append(ev.buf, name...)
			ev.buf = append(ev.buf, ", planned on "...)
			ev.buf = p.tab.appendDate(ev.buf, d)
			ev.drop(i, d, &c, DropExclusive)
			return
		}
	}
	if (r.ValidFrom != nil && d < *r.ValidFrom) || (r.ValidTo != nil && d > *r.ValidTo) {
		ev.buf = append(ev.buf, "; "...)
		ev.buf = p.tab.appendDate(ev.buf, d)
		ev.buf = append(ev.buf, " is outside the validity period "...)
		if r.ValidFrom != nil {
			ev.buf = p.tab.appendDate(ev.buf, *r.ValidFrom)
		}
		ev.buf = append(ev.buf, ".."...)
		if r.ValidTo != nil {
			ev.buf = p.tab.appendDate(ev.buf, *r.ValidTo)
		}
		ev.drop(i, d, &c, DropOutsideValidity)
		return
	}
	ev.buf = append(ev.buf, ri.startsText...)
	eb, sb := int32(len(ev.buf)), int32(len(ev.steps))
	for _, s := range ri.starts {
		ev.items = append(ev.items, item{date: d, origin: origin, clock: s, rule: int32(i),
			ea: int32(ev.ea), eb: eb, sa: int32(ev.sa), sb: sb})
	}
}

// dropIn records a drop at d when d is inside the range, and forgets the
// candidate's text otherwise.
func (ev *evaluator) dropIn(i int, d calendar.Date, c *candidate, reason DropReason) {
	if d >= ev.p.from && d <= ev.p.to {
		ev.drop(i, d, c, reason)
		return
	}
	ev.buf, ev.steps = ev.buf[:ev.ea], ev.steps[:ev.sa]
}

func (ev *evaluator) drop(i int, d calendar.Date, c *candidate, reason DropReason) {
	key := d
	if reason == DropNonexistent {
		key = c.ps
	}
	ev.drops = append(ev.drops, dropItem{rule: int32(i), date: d, key: key, period: c.per, ps: c.ps, pe: c.pe, reason: reason,
		ea: int32(ev.ea), eb: int32(len(ev.buf)), sa: int32(ev.sa), sb: int32(len(ev.steps))})
}

// finish sorts the runs, collapses duplicates and cuts the texts.
func (ev *evaluator) finish() Result {
	items := ev.items
	cmp := func(a, b item) int {
		if a.date != b.date {
			return int(a.date - b.date)
		}
		if a.clock != b.clock {
			return int(a.clock - b.clock)
		}
		return int(a.rule - b.rule)
	}
	if !slices.IsSortedFunc(items, cmp) {
		slices.SortStableFunc(items, cmp)
	}
	// Collapse duplicates into the first, noting the others.
	out := items[:0]
	for k := 0; k < len(items); {
		first := items[k]
		n := k + 1
		for n < len(items) && items[n].date == first.date && items[n].clock == first.clock {
			n++
		}
		if n > k+1 {
			ea := len(ev.buf)
			ev.buf = append(ev.buf, ev.buf[first.ea:first.eb]...)
			sa := len(ev.steps)
			ev.steps = append(ev.steps, ev.steps[first.sa:first.sb]...)
			for _, dup := range items[k+1 : n] {
				name := ev.rules[dup.rule].name
				ev.buf = append(ev.buf, "; also planned by rule "...)
				ev.buf = append(ev.buf, name...)
				ev.buf = append(ev.buf, " from "...)
				ev.buf = ev.p.tab.appendDate(ev.buf, dup.origin)
				ev.steps = append(ev.steps, Step{Kind: StepDuplicate, From: dup.origin, To: dup.date, Detail: name})
			}
			first.ea, first.eb = int32(ea), int32(len(ev.buf))
			first.sa, first.sb = int32(sa), int32(len(ev.steps))
		}
		out = append(out, first)
		k = n
	}
	text := string(ev.buf)
	steps := slices.Clone(ev.steps)
	res := Result{Runs: make([]Run, len(out))}
	rules := ev.rules
	for k, it := range out {
		// Field by field: cheaper than moving a whole Run under the GC's
		// write barrier.
		r := &res.Runs[k]
		r.Jobnet = ev.jobnet
		r.Rule = rules[it.rule].name
		r.BusinessDate, r.Origin, r.StartClock = it.date, it.origin, it.clock
		r.Start = ev.p.startAt(it.date, it.clock)
		r.Explanation = text[it.ea:it.eb]
		r.Steps = steps[it.sa:it.sb:it.sb]
		if !ev.p.stable[it.date-ev.p.from] {
			if note := it.date.DSTNote(it.clock.Duration(), ev.p.loc); note != "" {
				r.Explanation += "; " + note
				r.Steps = append(r.Steps, Step{Kind: StepDST, From: it.date, To: it.date, Detail: note})
			}
		}
	}
	res.Runs = collapseInstants(res.Runs)
	if len(ev.drops) > 0 {
		slices.SortStableFunc(ev.drops, func(a, b dropItem) int {
			if a.key != b.key {
				return int(a.key - b.key)
			}
			return int(a.rule - b.rule)
		})
		res.Dropped = make([]Dropped, len(ev.drops))
		for k, d := range ev.drops {
			res.Dropped[k] = Dropped{
				Jobnet: ev.jobnet, Rule: ev.rules[d.rule].name, Date: d.date,
				Period: d.period, PeriodStart: d.ps, PeriodEnd: d.pe,
				Reason: d.reason, Explanation: text[d.ea:d.eb], Steps: steps[d.sa:d.sb:d.sb],
			}
		}
	}
	return res
}

// appendDate appends d as YYYY-MM-DD.
func appendDate(b []byte, d calendar.Date) []byte {
	y, m, dd := d.Civil()
	if y < 0 || y > 9999 {
		return append(b, d.String()...)
	}
	return append(b,
		byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10), '-',
		byte('0'+int(m)/10), byte('0'+int(m)%10), '-',
		byte('0'+dd/10), byte('0'+dd%10))
}

// collapseInstants keeps one run of the runs of a business date that start
// at the same instant (start clocks in a DST gap resolve to the instant
// after it), the one with the earliest clock, noting the others.
func collapseInstants(runs []Run) []Run {
	out := runs[:0]
	for k := 0; k < len(runs); {
		first := runs[k]
		n := k + 1
		for n < len(runs) && runs[n].BusinessDate == first.BusinessDate && runs[n].Start.Equal(first.Start) {
			n++
		}
		if n > k+1 {
			var b strings.Builder
			b.WriteString(first.Explanation)
			for _, dup := range runs[k+1 : n] {
				detail := dup.StartClock.String() + " (rule " + dup.Rule + ") starts at the same instant " + first.Start.Format("15:04 MST") + ": one run"
				b.WriteString("; ")
				b.WriteString(detail)
				first.Steps = append(first.Steps[:len(first.Steps):len(first.Steps)], Step{Kind: StepSameInstant, From: dup.BusinessDate, To: first.BusinessDate, Detail: detail})
			}
			first.Explanation = b.String()
		}
		out = append(out, first)
		k = n
	}
	return out
}
