package deadline

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/forecast"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Report is the forecast of one business date.
type Report struct {
	Date        calendar.Date `json:"business_date"`
	Now         time.Time     `json:"now"`
	Generations []Generation  `json:"generations"`
}

// Generation is the forecast of one generation.
type Generation struct {
	ID          string          `json:"id"`
	Jobnet      string          `json:"jobnet"`
	Folder      string          `json:"folder"`
	Rule        string          `json:"rule"`
	State       jobrun.GenState `json:"state"`
	ScheduledAt time.Time       `json:"scheduled_at"`
	// End is the predicted end, or the actual end once Ended.
	End   time.Time `json:"end"`
	Ended bool      `json:"ended"`
	// Deadline and its definition ("30:00", "+3h"); nil without one.
	Deadline     *time.Time `json:"deadline,omitempty"`
	DeadlineText string     `json:"deadline_text,omitempty"`
	// Slack is Deadline − End in seconds (negative: late).
	Slack        *int64        `json:"slack_seconds,omitempty"`
	Risk         forecast.Risk `json:"risk,omitempty"`
	CriticalPath []string      `json:"critical_path"`
	Units        []Unit        `json:"units"`
	// Location is the calendar's time zone, for display.
	Location *time.Location `json:"-"`
}

// Unit is the forecast of one unit.
type Unit struct {
	Path  string          `json:"path"`
	Kind  jobnet.UnitKind `json:"kind"`
	State jobrun.JobState `json:"state"`
	Start time.Time       `json:"start"`
	End   time.Time       `json:"end"`
	// Expected is the estimate from history (seconds), with its basis and
	// the number of runs it used.
	ExpectedSeconds int64          `json:"expected_seconds"`
	Basis           forecast.Basis `json:"basis"`
	Samples         int            `json:"samples"`
	Critical        bool           `json:"critical,omitempty"`
	Skipped         bool           `json:"skipped,omitempty"`
	Deadline        *time.Time     `json:"deadline,omitempty"`
	Risk            forecast.Risk  `json:"risk,omitempty"`
}

// AtRisk reports whether the generation's deadline is at risk or missed.
func (g Generation) AtRisk() bool {
	return g.Risk == forecast.RiskAtRisk || g.Risk == forecast.RiskMissed
}

// Find returns the forecast of a generation.
func (r Report) Find(id string) (Generation, bool) {
	for _, g := range r.Generations {
		if g.ID == id {
			return g, true
		}
	}
	return Generation{}, false
}

// context of one Day call: definitions read once.
type dayContext struct {
	pools    map[string]int
	folders  map[string]string // folder → calendar
	calDefs  map[string]calendar.Definition
	built    map[string]*calendar.Calendar
	classMem map[classKey]forecast.DayClass
}

type classKey struct {
	cal  string
	date calendar.Date
}

func (s *Service) newDayContext(ctx context.Context) (*dayContext, error) {
	dc := &dayContext{pools: map[string]int{}, folders: map[string]string{}, calDefs: map[string]calendar.Definition{},
		built: map[string]*calendar.Calendar{}, classMem: map[classKey]forecast.DayClass{}}
	pools, err := s.p.Store.Pools(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range pools {
		dc.pools[p.Name] = p.Slots
	}
	folders, err := s.p.Store.Folders(ctx)
	if err != nil {
		return nil, err
	}
	for _, f := range folders {
		dc.folders[f.Name] = f.Calendar
	}
	cals, err := s.p.Store.Calendars(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range cals {
		dc.calDefs[c.Name] = c
	}
	return dc, nil
}

// calendarOf returns the name and the calendar a jobnet runs on; nil when
// it cannot be built (the forecast then uses UTC and plain weekdays).
func (dc *dayContext) calendarOf(def *jobnet.Jobnet) (string, *calendar.Calendar) {
	name := def.Calendar
	if name == "" {
		name = dc.folders[def.Folder]
	}
	if c, ok := dc.built[name]; ok {
		return name, c
	}
	var c *calendar.Calendar
	if d, ok := dc.calDefs[name]; ok {
		c, _ = calendar.Build(d, calendar.MapResolver(dc.calDefs))
	} else if _, isSet := calendar.LookupSet(name); isSet {
		c, _ = calendar.Build(calendar.Definition{Name: name, HolidaySets: []string{name}}, calendar.MapResolver(dc.calDefs))
	}
	dc.built[name] = c
	return name, c
}

func (dc *dayContext) class(name string, c *calendar.Calendar, d calendar.Date) forecast.DayClass {
	if c == nil {
		return forecast.DayClass{Weekday: d.Weekday()}
	}
	k := classKey{name, d}
	if v, ok := dc.classMem[k]; ok {
		return v
	}
	v := forecast.ClassOf(c, d)
	dc.classMem[k] = v
	return v
}

func (s *Service) version(ctx context.Context, g store.Generation) (*version, error) {
	k := versionKey{g.JobnetID, g.JobnetVersion}
	s.mu.Lock()
	v, ok := s.shapes[k]
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	jv, err := s.p.Store.JobnetVersionByID(ctx, g.JobnetID, g.JobnetVersion)
	if err != nil {
		return nil, fmt.Errorf("forecast generation %s: %w", g.ID, err)
	}
	shape, err := forecast.Compile(jv.Jobnet.Net)
	if err != nil {
		return nil, fmt.Errorf("forecast generation %s: jobnet %s version %d: %w", g.ID, g.Jobnet, g.JobnetVersion, err)
	}
	v = &version{def: jv.Jobnet, shape: shape}
	s.mu.Lock()
	s.shapes[k] = v
	s.mu.Unlock()
	return v, nil
}

// History returns the successful runs of a jobnet's units on business
// dates before the given one (within HistoryDays), by unit path, newest
// first. It is cached for HistoryTTL.
func (s *Service) History(ctx context.Context, jobnetID int64, before calendar.Date) (map[string][]store.DurationSample, error) {
	now := s.p.Now()
	s.mu.Lock()
	h, ok := s.history[jobnetID]
	s.mu.Unlock()
	if ok && h.before == before && now.Sub(h.read) < s.p.HistoryTTL && !now.Before(h.read) {
		return h.samples, nil
	}
	rows, err := s.p.Store.UnitDurations(ctx, jobnetID, before-calendar.Date(s.p.HistoryDays), before)
	if err != nil {
		return nil, err
	}
	by := map[string][]store.DurationSample{}
	for _, r := range rows {
		by[r.Path] = append(by[r.Path], r)
	}
	s.mu.Lock()
	s.history[jobnetID] = historyEntry{before: before, read: now, samples: by}
	s.mu.Unlock()
	return by, nil
}

// Day forecasts every generation of a business date (skipped and not
// executed ones aside) from the store, as of now. A forecast made less than
// ReportTTL ago is reused, so pages that refresh often stay cheap.
func (s *Service) Day(ctx context.Context, date calendar.Date) (Report, error) {
	now := s.p.Now()
	s.mu.Lock()
	c, ok := s.reports[date]
	s.mu.Unlock()
	if ok && !now.Before(c.Now) && now.Sub(c.Now) < s.p.ReportTTL {
		return c, nil
	}
	return s.compute(ctx, date)
}

// compute forecasts a business date as of now and keeps the report.
func (s *Service) compute(ctx context.Context, date calendar.Date) (Report, error) {
	now := s.p.Now()
	r := Report{Date: date, Now: now}
	gens, units, err := s.p.Store.DayRuns(ctx, date)
	if err != nil {
		return r, err
	}
	dc, err := s.newDayContext(ctx)
	if err != nil {
		return r, err
	}
	in := forecast.Input{Now: now, Pools: dc.pools}
	type meta struct {
		g      store.Generation
		v      *version
		loc    *time.Location
		states map[string]store.UnitRun
		est    []forecast.Estimate
	}
	var metas []meta
	for _, g := range gens {
		if g.State == jobrun.GenSkipped || g.State == jobrun.GenNotExecuted {
			continue
		}
		v, err := s.version(ctx, g)
		if err != nil {
			return r, err
		}
		calName, cal := dc.calendarOf(v.def)
		loc := time.UTC
		if cal != nil {
			loc = cal.Location()
		}
		hist, err := s.History(ctx, g.JobnetID, date)
		if err != nil {
			return r, err
		}
		target := dc.class(calName, cal, date)
		m := meta{g: g, v: v, loc: loc, states: map[string]store.UnitRun{}, est: make([]forecast.Estimate, len(v.shape.Units))}
		p := forecast.GenParams{ID: g.ID, Start: g.ScheduledAt, MaxConcurrent: v.def.MaxConcurrentJobs,
			States: make(map[string]forecast.UnitState, len(units[g.ID])), Expected: make([]time.Duration, len(v.shape.Units)),
			UnitDeadlines: make([]time.Time, len(v.shape.Units))}
		if g.StartedAt != nil {
			p.Start = *g.StartedAt
		}
		if g.State.IsTerminal() {
			p.Ended, p.EndedAt = true, g.UpdatedAt
			if g.EndedAt != nil {
				p.EndedAt = *g.EndedAt
			}
		}
		if due := v.def.DueOf(g.Rule); due != nil {
			p.Deadline = due.Instant(g.ScheduledAt, g.BusinessDate, loc)
		}
		for _, u := range units[g.ID] {
			m.states[u.Path] = u
			p.States[u.Path] = unitState(u)
		}
		for i, su := range v.shape.Units {
			samples := hist[su.Path]
			fs := make([]forecast.Sample, len(samples))
			for j, x := range samples {
				fs[j] = forecast.Sample{Date: x.BusinessDate, Class: dc.class(calName, cal, x.BusinessDate), Duration: x.Duration()}
			}
			m.est[i] = s.p.Estimates.Estimate(fs, target)
			p.Expected[i] = m.est[i].Duration
			if su.Deadline != nil {
				p.UnitDeadlines[i] = su.Deadline.Instant(g.ScheduledAt, g.BusinessDate, loc)
			}
		}
		in.Gens = append(in.Gens, forecast.Build(v.shape, p))
		metas = append(metas, m)
	}
	out := forecast.Run(in)
	for i, f := range out {
		m := metas[i]
		gen := Generation{ID: m.g.ID, Jobnet: m.g.Jobnet, Folder: m.g.Folder, Rule: m.g.Rule, State: m.g.State, ScheduledAt: m.g.ScheduledAt,
			End: f.End, Ended: in.Gens[i].Ended, Risk: f.Risk, CriticalPath: f.CriticalPath, Location: m.loc}
		if !f.Deadline.IsZero() {
			d := f.Deadline
			gen.Deadline = &d
			gen.DeadlineText = m.v.def.DueOf(m.g.Rule).String()
			slack := int64(f.Slack / time.Second)
			gen.Slack = &slack
		}
		for j, uf := range f.Units {
			su := m.v.shape.Units[j]
			st := jobrun.StateWaiting
			if u, ok := m.states[su.Path]; ok {
				st = u.State
			}
			u := Unit{Path: uf.Path, Kind: su.Kind, State: st, Start: uf.Start, End: uf.End, ExpectedSeconds: int64(m.est[j].Duration / time.Second),
				Basis: m.est[j].Basis, Samples: m.est[j].N, Critical: uf.Critical, Skipped: uf.Skipped, Risk: uf.Risk}
			if dl := in.Gens[i].Nodes[j].Deadline; !dl.IsZero() {
				u.Deadline = &dl
			}
			gen.Units = append(gen.Units, u)
		}
		r.Generations = append(r.Generations, gen)
	}
	s.mu.Lock()
	s.reports[date] = r
	s.mu.Unlock()
	return r, nil
}

// UnitHistory is one unit's successful runs, oldest first, and what the
// forecast expects of it on the target date.
type UnitHistory struct {
	Path     string                 `json:"path"`
	Kind     jobnet.UnitKind        `json:"kind"`
	Runs     []store.DurationSample `json:"runs"`
	Estimate forecast.Estimate      `json:"estimate"`
}

// Durations returns the run history of every unit of the current version
// of a jobnet (folder/name) up to the current business date (in the
// jobnet's calendar), and the estimates for the next one.
func (s *Service) Durations(ctx context.Context, path string) ([]UnitHistory, error) {
	folder, name, ok := strings.Cut(path, "/")
	if !ok {
		return nil, fmt.Errorf("jobnet %q: want folder/name: %w", path, fault.ErrInvalid)
	}
	jv, err := s.p.Store.JobnetByPath(ctx, folder, name, 0)
	if err != nil {
		return nil, err
	}
	shape, err := forecast.Compile(jv.Jobnet.Net)
	if err != nil {
		return nil, fmt.Errorf("jobnet %s: %w", path, err)
	}
	dc, err := s.newDayContext(ctx)
	if err != nil {
		return nil, err
	}
	calName, cal := dc.calendarOf(jv.Jobnet)
	date := calendar.DateOf(s.p.Now().UTC()) + 1
	if cal != nil {
		date = cal.BusinessDate(s.p.Now()) + 1
	}
	hist, err := s.History(ctx, jv.JobnetID, date)
	if err != nil {
		return nil, err
	}
	target := dc.class(calName, cal, date)
	out := make([]UnitHistory, 0, len(shape.Units))
	for _, su := range shape.Units {
		if su.Kind == jobnet.UnitJobnet {
			continue
		}
		runs := hist[su.Path]
		fs := make([]forecast.Sample, len(runs))
		for j, x := range runs {
			fs[j] = forecast.Sample{Date: x.BusinessDate, Class: dc.class(calName, cal, x.BusinessDate), Duration: x.Duration()}
		}
		h := UnitHistory{Path: su.Path, Kind: su.Kind, Estimate: s.p.Estimates.Estimate(fs, target)}
		for j := len(runs) - 1; j >= 0; j-- {
			h.Runs = append(h.Runs, runs[j])
		}
		out = append(out, h)
	}
	return out, nil
}

// HistoryDays is how many business dates the history reaches back.
func (s *Service) HistoryDays() int { return s.p.HistoryDays }
