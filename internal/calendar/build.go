package calendar

import (
	"errors"
	"fmt"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// ResolveFunc returns the definition of the calendar with the given name,
// or an error unwrapping to fault.ErrNotFound when there is none.
type ResolveFunc func(name string) (*Definition, error)

// Build validates def and builds its Calendar, resolving the parent chain
// through resolve (which may be nil when def has no parent). Holiday sets
// are the built-in ones (LookupSet). Every finding is returned at once as
// fault.Problems with paths like
// `calendars[jp-company].holiday_sets[1]: unknown holiday set "xx"`;
// findings in a parent carry the parent's own path.
func Build(def Definition, resolve ResolveFunc) (*Calendar, error) {
	return build(def, resolve, nil)
}

// Validate returns def's own findings (not its parent's), with paths
// relative to the definition (`holiday_sets[1]`).
func Validate(def Definition) fault.Problems {
	var ps fault.Problems
	if def.Name == "" {
		ps.Add("name", "must not be empty")
	}
	if _, err := loadZone(def.TimeZone); err != nil {
		ps.Add("time_zone", "unknown time zone %q", def.TimeZone)
	}
	if def.BaseTime < 0 || def.BaseTime >= 24*60 {
		ps.Add("base_time", "%s: must be within 00:00-23:59", def.BaseTime)
	}
	if def.BaseDay < 0 || def.BaseDay > 28 {
		ps.Add("base_day", "%d: must be 1-28", def.BaseDay)
	}
	switch def.MonthNaming {
	case "", MonthNamingStart, MonthNamingEnd:
	default:
		ps.Add("month_naming", "%q: must be start or end", def.MonthNaming)
	}
	for i, w := range def.ClosedWeekdays {
		if w < 0 || w > 6 {
			ps.Add(fmt.Sprintf("closed_weekdays[%d]", i), "invalid weekday %d", int(w))
		}
	}
	seenSet := map[string]int{}
	for i, id := range def.HolidaySets {
		path := fmt.Sprintf("holiday_sets[%d]", i)
		if _, ok := LookupSet(id); !ok {
			ps.Add(path, "unknown holiday set %q", id)
		} else if j, dup := seenSet[id]; dup {
			ps.Add(path, "holiday set %q repeats holiday_sets[%d]", id, j)
		} else {
			seenSet[id] = i
		}
	}
	seenDate := map[Date]int{}
	for i, o := range def.Overrides {
		path := fmt.Sprintf("overrides[%d]", i)
		if j, dup := seenDate[o.Date]; dup {
			ps.Add(path, "date %s repeats overrides[%d]", o.Date, j)
			continue
		}
		seenDate[o.Date] = i
	}
	if def.Parent != "" && def.Parent == def.Name {
		ps.Add("parent", "calendar %q cannot be its own parent", def.Name)
	}
	return ps
}

func loadZone(name string) (*time.Location, error) {
	if name == "" || name == "UTC" {
		return time.UTC, nil
	}
	return time.LoadLocation(name)
}

func build(def Definition, resolve ResolveFunc, chain []string) (*Calendar, error) {
	path := fmt.Sprintf("calendars[%s]", def.Name)
	ps := Validate(def).Prefix(path)
	var parent *Calendar
	if def.Parent != "" && def.Parent != def.Name {
		chain = append(chain, def.Name)
		switch pdef, err := resolveParent(def.Parent, resolve); {
		case err != nil && errors.Is(err, fault.ErrNotFound):
			ps.Add(path+".parent", "unknown calendar %q", def.Parent)
		case err != nil:
			return nil, fmt.Errorf("resolve parent %q of calendar %q: %w", def.Parent, def.Name, err)
		case contains(chain, pdef.Name):
			ps.Add(path+".parent", "parent cycle: %s", cycleText(chain, pdef.Name))
		default:
			p, err := build(*pdef, resolve, chain)
			if pps, ok := fault.AsProblems(err); ok {
				ps = append(ps, pps...)
			} else if err != nil {
				return nil, err
			}
			parent = p
		}
	}
	if len(ps) > 0 {
		return nil, ps
	}
	loc, _ := loadZone(def.TimeZone)
	if def.TimeZone == "" && parent != nil {
		loc = parent.Location() // a child without a zone plans in its parent's
	}
	p := Params{
		Name: def.Name, Location: loc, BaseTime: def.BaseTime.Duration(), BaseDay: def.BaseDay,
		MonthNaming: def.MonthNaming, Parent: parent,
	}
	for _, w := range def.ClosedWeekdays {
		p.ClosedWeekdays = append(p.ClosedWeekdays, time.Weekday(w))
	}
	for _, id := range def.HolidaySets {
		s, _ := LookupSet(id)
		p.HolidaySets = append(p.HolidaySets, s)
	}
	for _, o := range def.Overrides {
		p.Overrides = append(p.Overrides, Override(o))
	}
	c, err := New(p)
	if err != nil {
		return nil, fmt.Errorf("build calendar %q: %w", def.Name, err)
	}
	return c, nil
}

func resolveParent(name string, resolve ResolveFunc) (*Definition, error) {
	if resolve == nil {
		return nil, fmt.Errorf("calendar %q: %w", name, fault.ErrNotFound)
	}
	d, err := resolve(name)
	if err == nil && d == nil {
		err = fmt.Errorf("calendar %q: %w", name, fault.ErrNotFound)
	}
	return d, err
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func cycleText(chain []string, back string) string {
	out := ""
	for _, s := range chain {
		out += s + " → "
	}
	return out + back
}

// MapResolver resolves parents from a map of definitions by name, for tests
// and for validating a set of definitions applied together.
func MapResolver(defs map[string]Definition) ResolveFunc {
	return func(name string) (*Definition, error) {
		d, ok := defs[name]
		if !ok {
			return nil, fmt.Errorf("calendar %q: %w", name, fault.ErrNotFound)
		}
		return &d, nil
	}
}
