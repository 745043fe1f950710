package jp1

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// The JP1 defaults of the schedule parameters (Command Reference 5.2.4).
const (
	// shiftDefault: sh omitted shifts a closed-day start to the next open day.
	shiftDefault = "af"
	// shiftDaysDefault: shd omitted searches 2 days.
	shiftDaysDefault = 2
	// retryIntervalDefault: rei omitted waits 1 minute between retries.
	retryIntervalDefault = time.Minute
)

// scheduleKeys are the per-rule parameters of a jobnet ([N,] prefix).
var scheduleKeys = []string{"sd", "st", "cy", "sh", "shd", "cftd", "sy", "ey", "ln", "wt", "wc"}

// ruleParams are the parameters of one rule number.
type ruleParams struct {
	n    int
	p    map[string]*Param
	vals map[string]string // values without the rule number
}

// splitRuleNo splits "N,rest" into N and rest; without a leading number the
// rule is 1.
func splitRuleNo(v string) (int, string, bool) {
	head, rest, ok := strings.Cut(v, ",")
	if ok && head != "" && strings.Trim(head, "0123456789") == "" {
		n, err := strconv.Atoi(head)
		if err != nil || n < 0 || n > jobnet.MaxRules {
			return 0, "", false
		}
		return n, rest, true
	}
	return 1, v, true
}

// rules groups a jobnet's schedule parameters by rule number.
func (m *mapper) rules(u *Unit) []*ruleParams {
	by := map[int]*ruleParams{}
	for _, key := range scheduleKeys {
		for _, p := range params(u, key) {
			n, rest, ok := splitRuleNo(p.Value)
			if !ok {
				m.fail(u, p, "the rule number must be 0-%d", jobnet.MaxRules)
				continue
			}
			r := by[n]
			if r == nil {
				r = &ruleParams{n: n, p: map[string]*Param{}, vals: map[string]string{}}
				by[n] = r
			}
			if prev := r.p[key]; prev != nil {
				m.fail(u, p, "rule %d already has %s= (line %d)", n, key, prev.Line)
				continue
			}
			r.p[key] = p
			r.vals[key] = rest
		}
	}
	out := make([]*ruleParams, 0, len(by))
	for _, r := range by {
		out = append(out, r)
	}
	sort.Slice(out, func(i, k int) bool { return out[i].n < out[k].n })
	return out
}

// sdSpec is a parsed execution start date (sd).
type sdSpec struct {
	en, ud      bool
	year, month int    // 0 when omitted
	prefix      string // "", "+" (relative), "*" (open days), "@" (closed days)
	kind        byte   // 'd' day, 'b' from the month end, 'w' weekday
	day         int    // dd, or DD of b-DD
	wd          time.Weekday
	occ         int // weekday occurrence 1-5, -1 last, 0 not given
}

func parseSD(v string) (sdSpec, error) {
	var s sdSpec
	switch v {
	case "en":
		s.en = true
		return s, nil
	case "ud":
		s.ud = true
		return s, nil
	}
	parts := strings.Split(v, "/")
	if len(parts) > 3 {
		return s, fmt.Errorf("want [[yyyy/]mm/]day, en or ud")
	}
	spec := parts[len(parts)-1]
	num := func(t string, lo, hi int) (int, bool) {
		n, err := strconv.Atoi(t)
		return n, err == nil && t != "" && strings.Trim(t, "0123456789") == "" && n >= lo && n <= hi
	}
	var ok bool
	if len(parts) == 3 {
		if s.year, ok = num(parts[0], 1994, 2099); !ok || len(parts[0]) != 4 {
			return s, fmt.Errorf("year %q: want yyyy", parts[0])
		}
	}
	if len(parts) >= 2 {
		if s.month, ok = num(parts[len(parts)-2], 1, 12); !ok {
			return s, fmt.Errorf("month %q: want 1-12", parts[len(parts)-2])
		}
	}
	if spec != "" && strings.ContainsRune("+*@", rune(spec[0])) {
		s.prefix, spec = spec[:1], spec[1:]
	}
	switch {
	case spec == "b" || strings.HasPrefix(spec, "b-"):
		s.kind = 'b'
		if d, has := strings.CutPrefix(spec, "b-"); has {
			if s.day, ok = num(d, 0, 34); !ok {
				return s, fmt.Errorf("b-%s: want b-DD with DD 0-34", d)
			}
		}
	case len(spec) >= 2 && weekdays[spec[:2]] != 0 || strings.HasPrefix(spec, "su"):
		s.kind = 'w'
		s.wd = weekdays[spec[:2]]
		if s.prefix == "*" || s.prefix == "@" {
			return s, fmt.Errorf("%s: a weekday takes no %s", v, s.prefix)
		}
		switch occ := spec[2:]; {
		case occ == "":
		case occ == ":b":
			s.occ = -1
		case strings.HasPrefix(occ, ":"):
			if s.occ, ok = num(occ[1:], 1, 5); !ok {
				return s, fmt.Errorf("%s: want weekday:n with n 1-5, or weekday:b", spec)
			}
		default:
			return s, fmt.Errorf("%s: want su, mo, tu, we, th, fr or sa", spec)
		}
	default:
		s.kind = 'd'
		hi := 31
		if s.prefix == "*" || s.prefix == "@" {
			hi = 35
		}
		if s.day, ok = num(spec, 1, hi); !ok {
			return s, fmt.Errorf("day %q: want 1-%d, b, b-DD or a weekday", spec, hi)
		}
	}
	if s.year > 0 && s.kind == 'd' && s.prefix == "" && !calendar.ValidDate(s.year, time.Month(s.month), s.day) {
		return s, fmt.Errorf("%04d/%02d/%02d does not exist", s.year, s.month, s.day)
	}
	return s, nil
}

// cycle is a processing cycle (cy): every n years, months, weeks or days.
type cycle struct {
	n    int
	unit byte // y m w d; 0 for no cycle
}

func parseCY(v string) (cycle, error) {
	in, ok := strings.CutPrefix(v, "(")
	in, ok2 := strings.CutSuffix(in, ")")
	a, b, ok3 := strings.Cut(in, ",")
	n, err := strconv.Atoi(a)
	if !ok || !ok2 || !ok3 || err != nil || n < 1 || len(b) != 1 || !strings.Contains("ymwd", b) {
		return cycle{}, fmt.Errorf("want (n,{y|m|w|d})")
	}
	return cycle{n: n, unit: b[0]}, nil
}

// startOfMonth returns the first day of the business month labelled y-m.
func startOfMonth(c *calInfo, y, mo int) calendar.Date {
	d := calendar.NewDate(y, time.Month(mo), 1)
	if c.baseDay > 1 {
		if c.naming == calendar.MonthNamingEnd {
			d = d.AddMonths(-1)
		}
		d = d.AddDays(c.baseDay - 1)
	}
	return d
}

// monthlyRule maps a start date counted within a month.
func monthlyRule(s sdSpec, c *calInfo, anchorYear, anchorMonth int) (jobnet.Rule, string) {
	var r jobnet.Rule
	if c.baseDay == 0 && s.prefix != "" {
		return r, "the calendar's base day has no Koyomi equivalent, so days counted from it cannot be"
	}
	switch {
	case s.kind == 'd' && s.prefix == "" && c.baseDay == 1, s.kind == 'd' && s.prefix == "+":
		r.Kind, r.Day = jobnet.RuleDay, s.day
	case s.kind == 'd' && s.prefix == "":
		// a calendar day with a base day other than 1: every month on that day
		if anchorYear == 0 {
			anchorYear, anchorMonth = 2000, 1
		}
		a := calendar.NewDate(anchorYear, time.Month(anchorMonth), 1).AddDays(s.day - 1)
		if !calendar.ValidDate(anchorYear, time.Month(anchorMonth), s.day) {
			return r, "the day does not exist in the start month"
		}
		r.Kind, r.Every, r.Unit, r.Anchor = jobnet.RuleEvery, 1, jobnet.EveryMonths, &a
	case s.kind == 'd' && s.prefix == "*":
		r.Kind, r.Day = jobnet.RuleOpenDay, s.day
	case s.kind == 'b' && s.prefix == "" && c.baseDay == 1, s.kind == 'b' && s.prefix == "+":
		r.Kind, r.Day = jobnet.RuleMonthEnd, s.day
	case s.kind == 'b' && s.prefix == "*":
		r.Kind, r.Day = jobnet.RuleOpenDayFromEnd, s.day+1
	case s.kind == 'w' && (s.prefix == "+" || c.baseDay == 1):
		wd := calendar.Weekday(s.wd)
		r.Kind, r.Weekday, r.Nth = jobnet.RuleWeekdayOfMonth, &wd, s.occ
		if r.Nth == 0 {
			r.Nth = 1
		}
	case s.prefix == "@":
		return r, "Koyomi does not count closed days"
	default:
		return r, "a calendar-month position with a base day other than 1 has no Koyomi equivalent"
	}
	return r, ""
}

// firstWeekday returns the occ-th (0: first) weekday wd of y-m, or ok false.
func firstWeekday(y, mo int, wd time.Weekday, occ int) (calendar.Date, bool) {
	d := calendar.NewDate(y, time.Month(mo), 1)
	for d.Weekday() != wd {
		d++
	}
	if occ == -1 {
		for (d + 7).Month() == time.Month(mo) {
			d += 7
		}
		return d, true
	}
	if occ > 1 {
		d += calendar.Date(7 * (occ - 1))
	}
	return d, d.Month() == time.Month(mo)
}

// rule maps one JP1 schedule rule. It returns ok false when the rule is
// not carried over (the reason is reported).
func (m *mapper) rule(u *Unit, path string, rp *ruleParams, c *calInfo) (jobnet.Rule, bool) {
	sdP := rp.p["sd"]
	s, err := parseSD(rp.vals["sd"])
	if err != nil {
		m.fail(u, sdP, "%v", err)
		return jobnet.Rule{}, false
	}
	cy := cycle{}
	if p := rp.p["cy"]; p != nil {
		if cy, err = parseCY(rp.vals["cy"]); err != nil {
			m.fail(u, p, "%v", err)
			return jobnet.Rule{}, false
		}
	}
	unmapped := func(format string, args ...any) (jobnet.Rule, bool) {
		m.note(Unmapped, u, path, sdP, "rule %d is not carried over: "+format, append([]any{rp.n}, args...)...)
		for _, k := range scheduleKeys {
			if p := rp.p[k]; p != nil && p != sdP {
				m.note(Unmapped, u, path, p, "part of rule %d, which is not carried over", rp.n)
			}
		}
		return jobnet.Rule{}, false
	}
	var r jobnet.Rule
	approx := ""
	months := 0
	switch cy.unit {
	case 'y':
		months = 12 * cy.n
	case 'm':
		months = cy.n
	}
	hasYM := s.year > 0
	switch {
	case s.ud:
		m.note(Mapped, u, path, sdP, "sd=ud: no schedule rules (the jobnet runs when started by hand)")
		for _, k := range scheduleKeys {
			if p := rp.p[k]; p != nil && p != sdP {
				m.note(Mapped, u, path, p, "no effect: the schedule is undefined")
			}
		}
		return jobnet.Rule{}, false
	case s.prefix == "@":
		return unmapped("Koyomi does not count closed days (@)")
	case s.en && cy.unit == 'd' && cy.n == 1:
		r.Kind = jobnet.RuleDaily
		approx = "JP1 counts from the day the jobnet is registered; Koyomi plans every day"
	case s.en:
		return unmapped("the start date is the day of registration (en), which the definition does not hold")
	case months == 1:
		var why string
		if r, why = monthlyRule(s, c, s.year, s.month); why != "" {
			return unmapped("%s", why)
		}
		if hasYM {
			vf := startOfMonth(c, s.year, s.month)
			r.ValidFrom = &vf
		}
	case months > 1 && months%12 == 0 && s.kind == 'b' && hasYM && s.month != 2 &&
		(s.prefix == "" && c.baseDay == 1 || s.prefix == "+" && c.baseDay == 1):
		// the end of a month other than February is the same day every year
		last := calendar.NewDate(s.year, time.Month(s.month), 1).AddMonths(1) - 1
		a := last - calendar.Date(s.day)
		r.Kind, r.Every, r.Unit, r.Anchor = jobnet.RuleEvery, months, jobnet.EveryMonths, &a
	case months > 1:
		if s.kind != 'd' || s.prefix != "" || !hasYM {
			return unmapped("a cycle of %d months is expressible only from an absolute date yyyy/mm/dd", months)
		}
		a := calendar.NewDate(s.year, time.Month(s.month), s.day)
		r.Kind, r.Every, r.Unit, r.Anchor = jobnet.RuleEvery, months, jobnet.EveryMonths, &a
		if s.day > 28 {
			approx = fmt.Sprintf("in months without day %d Koyomi plans no run (and the plan says so)", s.day)
		}
	case cy.unit == 'w':
		var anchor calendar.Date
		switch {
		case s.kind == 'w' && hasYM && s.prefix == "":
			a, ok := firstWeekday(s.year, s.month, s.wd, s.occ)
			if !ok {
				return unmapped("the start month has no such weekday")
			}
			anchor = a
		case s.kind == 'd' && hasYM && s.prefix == "":
			anchor = calendar.NewDate(s.year, time.Month(s.month), s.day)
		case s.kind == 'w' && !hasYM && cy.n == 1:
			wd := calendar.Weekday(s.wd)
			r.Kind, r.Weekdays = jobnet.RuleWeekdays, []calendar.Weekday{wd}
		default:
			return unmapped("a weekly cycle is expressible from a weekday or an absolute date yyyy/mm/dd")
		}
		if r.Kind == "" && cy.n == 1 {
			r.Kind, r.Weekdays, r.ValidFrom = jobnet.RuleWeekdays, []calendar.Weekday{calendar.Weekday(anchor.Weekday())}, &anchor
		} else if r.Kind == "" {
			r.Kind, r.Every, r.Unit, r.Anchor = jobnet.RuleEvery, cy.n, jobnet.EveryWeeks, &anchor
		}
	case cy.unit == 'd':
		switch {
		case s.kind == 'd' && s.prefix == "" && hasYM:
			a := calendar.NewDate(s.year, time.Month(s.month), s.day)
			if cy.n == 1 {
				r.Kind, r.ValidFrom = jobnet.RuleDaily, &a
			} else {
				r.Kind, r.Every, r.Unit, r.Anchor = jobnet.RuleEvery, cy.n, jobnet.EveryDays, &a
			}
		case cy.n == 1:
			r.Kind = jobnet.RuleDaily
			approx = "JP1 starts the daily cycle on the first start date; Koyomi plans every day"
		default:
			return unmapped("a cycle of %d days needs an absolute start date yyyy/mm/dd", cy.n)
		}
	default: // no cycle: one start date
		switch {
		case !hasYM:
			return unmapped("without a processing cycle (cy) and a year/month the rule runs once, in the month the jobnet is registered")
		case s.kind == 'd' && s.prefix == "":
			r.Kind, r.Dates = jobnet.RuleDates, []calendar.Date{calendar.NewDate(s.year, time.Month(s.month), s.day)}
		default:
			var why string
			if r, why = monthlyRule(s, c, s.year, s.month); why != "" {
				return unmapped("%s", why)
			}
			vf := startOfMonth(c, s.year, s.month)
			vt := startOfMonth(c, s.year, s.month).AddMonths(1) - 1
			r.ValidFrom, r.ValidTo = &vf, &vt
			approx = "one business month: valid_from/valid_to bound the rule to it"
		}
	}
	r.Name = fmt.Sprintf("rule%d", rp.n)
	if approx != "" {
		m.note(Approximated, u, path, sdP, "rule %d → %s: %s", rp.n, r.Kind, approx)
	} else {
		m.note(Mapped, u, path, sdP, "rule %d → %s", rp.n, r.Kind)
	}
	if p := rp.p["cy"]; p != nil {
		m.note(Mapped, u, path, p, "part of rule %d", rp.n)
	}
	m.substitution(u, path, rp, &r)
	m.offset(u, path, rp, &r)
	st, ok := m.startTime(u, path, rp, c)
	if !ok {
		return unmapped("its start time cannot be expressed")
	}
	r.Start = []calendar.ClockTime{st}
	if ps := jobnet.ValidateRule(r); len(ps) > 0 {
		return unmapped("Koyomi cannot express it: %v", ps)
	}
	return r, true
}

// substitution maps sh/shd: what a start date on a closed day does.
func (m *mapper) substitution(u *Unit, path string, rp *ruleParams, r *jobnet.Rule) {
	sh := shiftDefault
	if p := rp.p["sh"]; p != nil {
		sh = rp.vals["sh"]
	}
	counted := r.Kind == jobnet.RuleOpenDay || r.Kind == jobnet.RuleOpenDayFromEnd
	switch sh {
	case "be":
		r.Closed = jobnet.SubstituteBefore
	case "af":
		r.Closed = jobnet.SubstituteAfter
	case "ca":
		r.Closed = jobnet.SubstituteSkip
	case "no":
		r.Closed = jobnet.SubstituteRun
	default:
		m.fail(u, rp.p["sh"], "want be, af, ca or no")
		return
	}
	if counted {
		r.Closed = ""
	}
	if p := rp.p["sh"]; p != nil {
		m.note(Mapped, u, path, p, "rule %d closed: %s", rp.n, r.Closed)
	}
	days := shiftDaysDefault
	if p := rp.p["shd"]; p != nil {
		n, err := strconv.Atoi(rp.vals["shd"])
		if err != nil || n < 1 || n > 31 {
			m.fail(u, p, "want 1-31 days")
			return
		}
		days = n
		m.note(Mapped, u, path, p, "rule %d max_shift: %d", rp.n, n)
	}
	if r.Closed == jobnet.SubstituteBefore || r.Closed == jobnet.SubstituteAfter {
		r.MaxShift = days
	}
	if r.Closed == jobnet.SubstituteSkip {
		r.Closed = "" // the Koyomi default
	}
}

// offset maps cftd, the schedule by days from the start date.
func (m *mapper) offset(u *Unit, path string, rp *ruleParams, r *jobnet.Rule) {
	p := rp.p["cftd"]
	if p == nil {
		return
	}
	f := strings.Split(rp.vals["cftd"], ",")
	n := 1
	if len(f) >= 2 {
		v, err := strconv.Atoi(f[1])
		if err != nil || v < 1 || v > jobnet.MaxOffset {
			m.fail(u, p, "want {no|be|af|db|da}[,n[,N]] with n 1-%d", jobnet.MaxOffset)
			return
		}
		n = v
	}
	switch f[0] {
	case "no":
		m.note(Mapped, u, path, p, "rule %d: no offset", rp.n)
		return
	case "be":
		r.Offset = -n
	case "af":
		r.Offset = n
	case "db", "da":
		m.note(Unmapped, u, path, p, "rule %d: Koyomi offsets count open days only; %d calendar days %s are not carried over", rp.n, n, map[string]string{"db": "before", "da": "after"}[f[0]])
		return
	default:
		m.fail(u, p, "want no, be, af, db or da")
		return
	}
	if len(f) >= 3 {
		m.note(Mapped, u, path, p, "rule %d offset %+d open days (the shift limit %s applies to calendar-day offsets only)", rp.n, r.Offset, f[2])
		return
	}
	m.note(Mapped, u, path, p, "rule %d offset %+d open days", rp.n, r.Offset)
}

// jp1Clock turns a JP1 time (00:00-47:59, before the base time meaning the
// next calendar day) into a time of the business day.
func jp1Clock(t, base int) (calendar.ClockTime, bool) {
	if t < base {
		t += 24 * 60
	}
	if t >= base+24*60 || calendar.ClockTime(t) > calendar.MaxClockTime {
		return 0, false
	}
	return calendar.ClockTime(t), true
}

// startTime maps st (default 00:00).
func (m *mapper) startTime(u *Unit, path string, rp *ruleParams, c *calInfo) (calendar.ClockTime, bool) {
	p := rp.p["st"]
	v := "00:00"
	if p != nil {
		v = rp.vals["st"]
	}
	if strings.HasPrefix(v, "+") {
		m.note(Unmapped, u, path, p, "rule %d: a start time relative to the upper-level jobnet (+hh:mm) has no meaning for a root jobnet", rp.n)
		return 0, false
	}
	t, ok := parseHHMM(v)
	if !ok {
		if p == nil {
			return 0, false
		}
		m.fail(u, p, "want [+]hh:mm with hh 00-47")
		return 0, false
	}
	ct, ok := jp1Clock(t, c.baseTime)
	if !ok {
		if p != nil {
			m.note(Unmapped, u, path, p, "rule %d: %s lies outside the business day that starts at base time %s", rp.n, v, calendar.ClockTime(c.baseTime))
		}
		return 0, false
	}
	if p != nil {
		if int(ct) != t {
			m.note(Mapped, u, path, p, "rule %d start %s (before the base time %s: the next calendar day)", rp.n, ct, calendar.ClockTime(c.baseTime))
		} else {
			m.note(Mapped, u, path, p, "rule %d start %s", rp.n, ct)
		}
	}
	return ct, true
}
