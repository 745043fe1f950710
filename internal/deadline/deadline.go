package deadline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/forecast"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Defaults for Params.
const (
	// IntervalDefault is how often the service forecasts and checks deadlines.
	IntervalDefault = 30 * time.Second
	// HistoryDaysDefault is how many business dates back the history reaches.
	HistoryDaysDefault = 120
	// HistoryTTLDefault is how long a jobnet's history is reused before it
	// is read again.
	HistoryTTLDefault = 10 * time.Minute
	// RecentEndsDefault: generations that ended this long ago are still
	// checked for a missed deadline.
	RecentEndsDefault = 6 * time.Hour
	// ReportTTLDefault is how long Day reuses a forecast.
	ReportTTLDefault = 10 * time.Second
)

// Params configure a Service.
type Params struct {
	Store *store.Store
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Interval between checks (default IntervalDefault).
	Interval time.Duration
	// BaseURL prefixes links in alerts (<BaseURL>/runs/<generation id>).
	BaseURL string
	Logger  *slog.Logger
	// Estimates tunes the expected durations (zero: forecast defaults).
	Estimates   forecast.Params
	HistoryDays int
	HistoryTTL  time.Duration
	// ReportTTL is how long Day reuses a forecast (default ReportTTLDefault).
	ReportTTL time.Duration
}

// Service forecasts the generations of the business dates in flight and
// raises deadline events. It is safe for concurrent use: the web and the
// CLI call Day while Run checks.
type Service struct {
	p Params

	mu      sync.Mutex
	shapes  map[versionKey]*version
	history map[int64]historyEntry
	reports map[calendar.Date]Report
}

type versionKey struct {
	id      int64
	version int
}

type version struct {
	def   *jobnet.Jobnet
	shape *forecast.Shape
}

type historyEntry struct {
	before  calendar.Date
	read    time.Time
	samples map[string][]store.DurationSample // by unit path, newest first
}

// New returns a Service.
func New(p Params) (*Service, error) {
	if p.Store == nil {
		return nil, errors.New("deadline service: no store")
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Interval <= 0 {
		p.Interval = IntervalDefault
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.HistoryDays <= 0 {
		p.HistoryDays = HistoryDaysDefault
	}
	if p.HistoryTTL <= 0 {
		p.HistoryTTL = HistoryTTLDefault
	}
	if p.ReportTTL <= 0 {
		p.ReportTTL = ReportTTLDefault
	}
	p.BaseURL = strings.TrimRight(p.BaseURL, "/")
	return &Service{p: p, shapes: map[versionKey]*version{}, history: map[int64]historyEntry{}, reports: map[calendar.Date]Report{}}, nil
}

// Run checks every Interval until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	t := time.NewTicker(s.p.Interval)
	defer t.Stop()
	for {
		if err := s.Check(ctx); err != nil && ctx.Err() == nil {
			s.p.Logger.Error("deadline check", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Check forecasts every business date with a generation in flight (or one
// that ended lately), afresh, and raises the deadline events that became due, each
// once per generation, unit and kind.
func (s *Service) Check(ctx context.Context) error {
	now := s.p.Now()
	dates, err := s.p.Store.ForecastDates(ctx, now.Add(-RecentEndsDefault))
	if err != nil {
		return err
	}
	var errs []error
	for _, d := range dates {
		r, err := s.compute(ctx, d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, g := range r.Generations {
			errs = append(errs, s.raise(ctx, r, g))
		}
	}
	return errors.Join(errs...)
}

func (s *Service) raise(ctx context.Context, r Report, g Generation) error {
	var errs []error
	one := func(unit string, risk forecast.Risk, deadline *time.Time, end time.Time, state string) {
		var kind alert.EventKind
		sev := alert.SeverityWarning
		switch risk {
		case forecast.RiskAtRisk:
			kind = alert.EventDeadlineAtRisk
		case forecast.RiskMissed:
			kind, sev = alert.EventDeadlineMissed, alert.SeverityCritical
		default:
			return
		}
		ev := alert.Event{Kind: kind, Severity: sev, At: r.Now, Folder: g.Folder, Jobnet: strings.TrimPrefix(g.Jobnet, g.Folder+"/"),
			Job: unit, RunID: g.ID, BusinessDate: r.Date.String(), State: state, Detail: Explain(g, unit, kind, deadline, end, r.Now)}
		if s.p.BaseURL != "" {
			ev.URL = s.p.BaseURL + "/runs/" + g.ID
		}
		raised, err := s.p.Store.RaiseDeadlineAlert(ctx, store.DeadlineAlert{GenerationID: g.ID, Unit: unit, Kind: kind,
			Deadline: *deadline, PredictedEnd: end}, ev)
		if err != nil {
			errs = append(errs, err)
			return
		}
		if raised {
			s.p.Logger.Info("deadline alert", "kind", kind, "generation", g.ID, "unit", unit, "deadline", *deadline, "predicted_end", end)
		}
	}
	if g.Deadline != nil {
		one("", g.Risk, g.Deadline, g.End, string(g.State))
	}
	for _, u := range g.Units {
		if u.Deadline != nil && (!g.Ended || u.State.IsTerminal()) {
			one(u.Path, u.Risk, u.Deadline, u.End, string(u.State))
		}
	}
	return errors.Join(errs...)
}

// Explain is the detail line of a deadline event: the predicted (or
// actual) end against the deadline, and the critical path.
func Explain(g Generation, unit string, kind alert.EventKind, deadline *time.Time, end, now time.Time) string {
	loc := g.Location
	if loc == nil {
		loc = time.UTC
	}
	f := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04 MST") }
	var b strings.Builder
	switch {
	case kind == alert.EventDeadlineMissed && !end.After(now):
		fmt.Fprintf(&b, "deadline %s passed; ended %s", f(*deadline), f(end))
	case kind == alert.EventDeadlineMissed:
		fmt.Fprintf(&b, "deadline %s passed; predicted end %s", f(*deadline), f(end))
	default:
		fmt.Fprintf(&b, "predicted end %s, deadline %s (%s late)", f(end), f(*deadline), end.Sub(*deadline).Round(time.Minute))
	}
	if unit == "" && len(g.CriticalPath) > 0 {
		b.WriteString("; critical path: " + strings.Join(g.CriticalPath, " → "))
	}
	return b.String()
}

// unitState reads a unit's stored state for the forecast.
func unitState(u store.UnitRun) forecast.UnitState {
	return forecast.UnitState{State: u.State, StartedAt: u.StartedAt, EndedAt: u.EndedAt, NotBefore: u.NotBefore, Judgment: u.Judgment}
}
