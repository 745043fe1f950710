package plan

import (
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// Catalog plans a whole set of definitions: it resolves each jobnet's
// calendar (its own, else its folder's), builds calendars with their parents,
// and answers exclusive_with across the set. The CLI plans YAML files with it,
// the server plans the database's current definitions with it.
type Catalog struct {
	cals    map[string]calendar.Definition
	folders map[string]jobnet.Folder
	jobnets []*jobnet.Jobnet
	byPath  map[string]*jobnet.Jobnet

	mu       sync.Mutex
	built    map[string]*calendar.Calendar
	result   map[string]Result
	visiting map[string]bool
	planners map[string]*Planner
	from     calendar.Date
	to       calendar.Date
}

// NewCatalog indexes definitions. Jobnets are planned in path order.
func NewCatalog(cals []calendar.Definition, folders []jobnet.Folder, jobnets []*jobnet.Jobnet) *Catalog {
	c := &Catalog{cals: map[string]calendar.Definition{}, folders: map[string]jobnet.Folder{}, byPath: map[string]*jobnet.Jobnet{}, built: map[string]*calendar.Calendar{}}
	for _, d := range cals {
		c.cals[d.Name] = d
	}
	for _, f := range folders {
		c.folders[f.Name] = f
	}
	c.jobnets = append(c.jobnets, jobnets...)
	sort.SliceStable(c.jobnets, func(i, k int) bool { return c.jobnets[i].Path() < c.jobnets[k].Path() })
	for _, j := range c.jobnets {
		c.byPath[j.Path()] = j
	}
	return c
}

// CatalogFromBundle indexes a YAML bundle.
func CatalogFromBundle(b *jobnet.Bundle) *Catalog {
	js := make([]*jobnet.Jobnet, len(b.Jobnets))
	for i := range b.Jobnets {
		js[i] = &b.Jobnets[i]
	}
	return NewCatalog(b.Calendars, b.Folders, js)
}

// Jobnets returns the catalog's jobnets in path order.
func (c *Catalog) Jobnets() []*jobnet.Jobnet { return c.jobnets }

// Jobnet returns a jobnet by folder/name.
func (c *Catalog) Jobnet(path string) (*jobnet.Jobnet, bool) {
	j, ok := c.byPath[path]
	return j, ok
}

// CalendarDefs returns the calendar definitions by name.
func (c *Catalog) CalendarDefs() map[string]calendar.Definition { return c.cals }

// Calendar builds (once) the named calendar with its parents. A name that is
// no defined calendar but a built-in holiday set id (jp, us, …) yields a
// calendar closed on exactly that set's holidays.
func (c *Catalog) Calendar(name string) (*calendar.Calendar, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calendarLocked(name)
}

func (c *Catalog) calendarLocked(name string) (*calendar.Calendar, error) {
	if cal, ok := c.built[name]; ok {
		return cal, nil
	}
	def, ok := c.cals[name]
	if !ok {
		if _, isSet := calendar.LookupSet(name); isSet {
			def = calendar.Definition{Name: name, HolidaySets: []string{name}}
		} else {
			return nil, fmt.Errorf("calendar %q: %w", name, fault.ErrNotFound)
		}
	}
	cal, err := calendar.Build(def, calendar.MapResolver(c.cals))
	if err != nil {
		return nil, err
	}
	c.built[name] = cal
	return cal, nil
}

// CalendarName returns the calendar a jobnet plans on: its own, else its folder's.
func (c *Catalog) CalendarName(j *jobnet.Jobnet) string {
	if j.Calendar != "" {
		return j.Calendar
	}
	return c.folders[j.Folder].Calendar
}

// CalendarOf builds the calendar a jobnet plans on.
func (c *Catalog) CalendarOf(j *jobnet.Jobnet) (*calendar.Calendar, error) {
	name := c.CalendarName(j)
	if name == "" {
		return nil, fmt.Errorf("jobnet %s has no calendar and neither has folder %q: %w", j.Path(), j.Folder, fault.ErrInvalid)
	}
	return c.Calendar(name)
}

// Plan plans the jobnets selected by keep (nil: all) over [from, to]. Jobnets
// named by exclusive_with are planned too, whether kept or not. Results are
// keyed by jobnet path.
func (c *Catalog) Plan(from, to calendar.Date, keep func(*jobnet.Jobnet) bool) (map[string]Result, error) {
	c.mu.Lock()
	c.result, c.from, c.to = map[string]Result{}, from, to
	c.visiting, c.planners = map[string]bool{}, map[string]*Planner{}
	c.mu.Unlock()
	out := map[string]Result{}
	var ps fault.Problems
	for _, j := range c.jobnets {
		if keep != nil && !keep(j) {
			continue
		}
		if len(j.Rules) == 0 {
			continue
		}
		r, err := c.planOne(j)
		if err != nil {
			if jp, ok := fault.AsProblems(err); ok {
				ps = append(ps, jp.Prefix("jobnets["+j.Path()+"]")...)
				continue
			}
			return nil, err
		}
		out[j.Path()] = r
	}
	if len(ps) > 0 {
		return out, ps
	}
	return out, nil
}

// planOne plans j, memoised per Plan call. Planners are shared per
// calendar; c.visiting guards exclusive_with cycles.
func (c *Catalog) planOne(j *jobnet.Jobnet) (Result, error) {
	c.mu.Lock()
	if r, ok := c.result[j.Path()]; ok {
		c.mu.Unlock()
		return r, nil
	}
	if c.visiting[j.Path()] {
		c.mu.Unlock()
		return Result{}, fmt.Errorf("exclusive_with cycle through %s: %w", j.Path(), fault.ErrInvalid)
	}
	c.visiting[j.Path()] = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.visiting, j.Path())
		c.mu.Unlock()
	}()
	p, err := c.planner(j)
	if err != nil {
		return Result{}, err
	}
	r, err := p.Plan(j)
	if err != nil {
		return Result{}, err
	}
	c.mu.Lock()
	c.result[j.Path()] = r
	c.mu.Unlock()
	return r, nil
}

func (c *Catalog) planner(j *jobnet.Jobnet) (*Planner, error) {
	name := c.CalendarName(j)
	c.mu.Lock()
	p, ok := c.planners[name]
	c.mu.Unlock()
	if ok {
		return p, nil
	}
	cal, err := c.CalendarOf(j)
	if err != nil {
		return nil, err
	}
	p, err = NewPlanner(Params{Calendar: cal, From: c.from, To: c.to, Resolver: ResolverFunc(c.plannedDates)})
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	c.planners[name] = p
	c.mu.Unlock()
	return p, nil
}

// plannedDates answers exclusive_with from the other jobnet's plan.
func (c *Catalog) plannedDates(name string, f, t calendar.Date) ([]calendar.Date, error) {
	other, ok := c.byPath[name]
	if !ok {
		return nil, fmt.Errorf("exclusive_with %q: no such jobnet: %w", name, fault.ErrNotFound)
	}
	r, err := c.planOne(other)
	if err != nil {
		return nil, err
	}
	var ds []calendar.Date
	for _, run := range r.Runs {
		if run.BusinessDate >= f && run.BusinessDate <= t && (len(ds) == 0 || ds[len(ds)-1] != run.BusinessDate) {
			ds = append(ds, run.BusinessDate)
		}
	}
	return ds, nil
}

// Flatten returns all runs of a plan in start order (then jobnet path).
func Flatten(results map[string]Result) []Run {
	var out []Run
	for _, r := range results {
		out = append(out, r.Runs...)
	}
	sort.SliceStable(out, func(i, k int) bool {
		if !out[i].Start.Equal(out[k].Start) {
			return out[i].Start.Before(out[k].Start)
		}
		return strings.Compare(out[i].Jobnet, out[k].Jobnet) < 0
	})
	return out
}

// UsesCalendar reports whether j plans on the named calendar, directly or
// through a calendar that inherits from it.
func (c *Catalog) UsesCalendar(j *jobnet.Jobnet, name string) bool {
	for n, seen := c.CalendarName(j), 0; n != "" && seen < 64; seen++ {
		if n == name {
			return true
		}
		n = c.cals[n].Parent
	}
	return false
}

// WithCalendar returns a copy of the catalog in which one calendar
// definition is replaced (for import previews).
func (c *Catalog) WithCalendar(def calendar.Definition) *Catalog {
	cals := make([]calendar.Definition, 0, len(c.cals))
	for n, d := range c.cals {
		if n != def.Name {
			cals = append(cals, d)
		}
	}
	cals = append(cals, def)
	folders := make([]jobnet.Folder, 0, len(c.folders))
	for _, f := range c.folders {
		folders = append(folders, f)
	}
	return NewCatalog(cals, folders, c.jobnets)
}
