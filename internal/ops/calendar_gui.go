package ops

import (
	"context"
	"fmt"
	"slices"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/plan"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// CalendarSummary is a stored calendar definition with its version.
type CalendarSummary struct {
	Def     calendar.Definition
	Version int
}

// CalendarList returns every stored calendar with its current version.
func (s *Service) CalendarList(ctx context.Context) ([]CalendarSummary, error) {
	defs, err := s.store.Calendars(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]CalendarSummary, 0, len(defs))
	for _, d := range defs {
		_, v, err := s.store.CalendarDef(ctx, d.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, CalendarSummary{Def: d, Version: v})
	}
	return out, nil
}

// CalendarDef returns one stored calendar definition and its version.
func (s *Service) CalendarDef(ctx context.Context, name string) (calendar.Definition, int, error) {
	return s.store.CalendarDef(ctx, name)
}

// BuildCalendar builds a stored calendar with its parents.
func (s *Service) BuildCalendar(ctx context.Context, name string) (*calendar.Calendar, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	return cat.Calendar(name)
}

// SaveCalendar validates def and stores it as a new version of the calendar
// (or creates it) through Apply. Problems have paths relative to the
// definition (`time_zone`, `base_day`). It returns the stored version.
func (s *Service) SaveCalendar(ctx context.Context, a Actor, def calendar.Definition) (int, error) {
	if ps := calendar.Validate(def); len(ps) > 0 {
		return 0, fmt.Errorf("save calendar %q: %w", def.Name, ps)
	}
	res, err := s.Apply(ctx, a, &jobnet.Bundle{Calendars: []calendar.Definition{def}}, false)
	if err != nil {
		if ps, ok := fault.AsProblems(err); ok {
			return 0, fmt.Errorf("save calendar %q: %w", def.Name, stripPrefix(ps, "calendars["+def.Name+"]"))
		}
		return 0, fmt.Errorf("save calendar %q: %w", def.Name, err)
	}
	for _, o := range res.Objects {
		if o.Kind == "Calendar" && o.Name == def.Name {
			if o.Version > 0 {
				return o.Version, nil
			}
		}
	}
	_, v, err := s.store.CalendarDef(ctx, def.Name)
	return v, err
}

// stripPrefix removes prefix (and the dot after it) from every path.
func stripPrefix(ps fault.Problems, prefix string) fault.Problems {
	out := make(fault.Problems, len(ps))
	for i, p := range ps {
		if len(p.Path) >= len(prefix) && p.Path[:len(prefix)] == prefix {
			p.Path = p.Path[len(prefix):]
			if len(p.Path) > 0 && p.Path[0] == '.' {
				p.Path = p.Path[1:]
			}
		}
		out[i] = p
	}
	return out
}

// ToggleDay flips the open/closed state of one date of a calendar and
// stores the result as a new version. When the date's state without an
// override already is the wanted one, the override is removed; otherwise an
// override with note is set. It returns the new version and the new status.
func (s *Service) ToggleDay(ctx context.Context, a Actor, name string, d calendar.Date, note string) (int, calendar.Status, error) {
	def, _, err := s.store.CalendarDef(ctx, name)
	if err != nil {
		return 0, calendar.Status{}, err
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		return 0, calendar.Status{}, err
	}
	cur, err := cat.Calendar(name)
	if err != nil {
		return 0, calendar.Status{}, err
	}
	want := !cur.Status(d).Open
	next := def
	next.Overrides = slices.DeleteFunc(slices.Clone(def.Overrides), func(o calendar.OverrideDef) bool { return o.Date == d })
	bare, err := cat.WithCalendar(next).Calendar(name)
	if err != nil {
		return 0, calendar.Status{}, err
	}
	if bare.Status(d).Open != want || note != "" {
		next.Overrides = append(next.Overrides, calendar.OverrideDef{Date: d, Open: want, Note: note})
		slices.SortStableFunc(next.Overrides, func(x, y calendar.OverrideDef) int { return int(x.Date - y.Date) })
	}
	v, err := s.SaveCalendar(ctx, a, next)
	if err != nil {
		return 0, calendar.Status{}, err
	}
	after, err := s.BuildCalendar(ctx, name)
	if err != nil {
		return v, calendar.Status{}, err
	}
	return v, after.Status(d), nil
}

// JobnetSchedule returns the current version of a jobnet.
func (s *Service) JobnetSchedule(ctx context.Context, folder, name string) (store.JobnetVersion, error) {
	return s.store.JobnetByPath(ctx, folder, name, 0)
}

// SchedulePreview is the plan of one jobnet with edited rules.
type SchedulePreview struct {
	Calendar *calendar.Calendar
	Result   plan.Result
}

// PreviewSchedule plans the jobnet folder/name with rules in place of its
// stored ones over [from, to], without saving. Rule problems (paths like
// `schedule[1].day`) come back as fault.Problems.
func (s *Service) PreviewSchedule(ctx context.Context, folder, name string, rules []jobnet.Rule, from, to calendar.Date) (SchedulePreview, error) {
	d, err := s.store.Snapshot(ctx, "")
	if err != nil {
		return SchedulePreview{}, err
	}
	path := folder + "/" + name
	var target *jobnet.Jobnet
	jobnets := make([]*jobnet.Jobnet, 0, len(d.Jobnets))
	for _, j := range d.Jobnets {
		if j.Path() == path {
			c := *j
			c.Rules = rules
			target = &c
			j = target
		}
		jobnets = append(jobnets, j)
	}
	if target == nil {
		return SchedulePreview{}, fmt.Errorf("jobnet %q: %w", path, fault.ErrNotFound)
	}
	cat := plan.NewCatalog(d.Calendars, d.Folders, jobnets)
	cal, err := cat.CalendarOf(target)
	if err != nil {
		return SchedulePreview{}, err
	}
	if ps := plan.ValidateOn(cal, rules); len(ps) > 0 {
		return SchedulePreview{Calendar: cal}, fmt.Errorf("preview schedule of %s: %w", path, ps)
	}
	res, err := cat.Plan(from, to, func(j *jobnet.Jobnet) bool { return j.Path() == path })
	if err != nil {
		if ps, ok := fault.AsProblems(err); ok {
			return SchedulePreview{Calendar: cal}, fmt.Errorf("preview schedule of %s: %w", path, stripPrefix(ps, "jobnets["+path+"]"))
		}
		return SchedulePreview{Calendar: cal}, fmt.Errorf("preview schedule of %s: %w", path, err)
	}
	return SchedulePreview{Calendar: cal, Result: res[path]}, nil
}

// SaveSchedule replaces the rules of the jobnet folder/name and stores it
// as a new version through Apply. Problems have paths like `schedule[0].day`.
// It returns the stored version.
func (s *Service) SaveSchedule(ctx context.Context, a Actor, folder, name string, rules []jobnet.Rule) (int, error) {
	cur, err := s.store.JobnetByPath(ctx, folder, name, 0)
	if err != nil {
		return 0, err
	}
	j := *cur.Jobnet
	j.Rules = rules
	path := j.Path()
	cat, err := s.Catalog(ctx)
	if err != nil {
		return 0, err
	}
	if cal, err := cat.CalendarOf(&j); err == nil {
		if ps := plan.ValidateOn(cal, rules); len(ps) > 0 {
			return 0, fmt.Errorf("save schedule of %s: %w", path, ps)
		}
	}
	res, err := s.Apply(ctx, a, &jobnet.Bundle{Jobnets: []jobnet.Jobnet{j}}, false)
	if err != nil {
		if ps, ok := fault.AsProblems(err); ok {
			return 0, fmt.Errorf("save schedule of %s: %w", path, stripPrefix(ps, "jobnets["+path+"]"))
		}
		return 0, fmt.Errorf("save schedule of %s: %w", path, err)
	}
	for _, o := range res.Objects {
		if o.Kind == "Jobnet" && o.Version > 0 {
			return o.Version, nil
		}
	}
	return cur.Version, nil
}
