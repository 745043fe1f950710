package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/plan"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Defaults.
const (
	// LeaseName names the planner's leader lease.
	LeaseName = "scheduler"
	// HorizonDefault is how far ahead generations are created.
	HorizonDefault = 48 * time.Hour
	// LeaseTTLDefault is the leader lease; a dead leader is replaced after it.
	LeaseTTLDefault = 10 * time.Second
	// IntervalDefault is how often the lease is renewed (or sought), the
	// definitions are checked for changes and overlaps are settled.
	IntervalDefault = time.Second
	// PlanEveryDefault is how often the leader re-plans without a change.
	PlanEveryDefault = 5 * time.Second
	// GraceDefault is how late a generation may be before it counts as
	// missed (catch-up).
	GraceDefault = time.Minute
)

// Params configures a Scheduler.
type Params struct {
	Store *store.Store
	// Node names this replica in the lease (config.Node). Required.
	Node string
	// Horizon: generations are created up to now+Horizon.
	Horizon time.Duration
	// LeaseTTL is the leader lease's lifetime; renewed every Interval.
	LeaseTTL time.Duration
	// Interval is the pace of the loop (lease, change detection, overlaps).
	Interval time.Duration
	// PlanEvery is the pace of re-plans when no definition changed.
	PlanEvery time.Duration
	// Grace is how late a generation may start before it counts as missed.
	Grace  time.Duration
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// OnLeader, if set, is called with the new leader status whenever it
	// changes (a metrics gauge: koyomi_scheduler_leader).
	OnLeader func(leader bool)
	// BaseURL prefixes links in alerts.
	BaseURL string
}

// Scheduler is the planner: while it holds the leader lease it turns the
// current definitions into generations.
type Scheduler struct {
	p      Params
	leader atomic.Bool

	mu sync.Mutex
	// versions is the definitions fingerprint of the last plan.
	versions string
	lastPlan time.Time
	// caughtUp is false until the first plan of a leadership term looked at
	// every overdue generation.
	caughtUp bool
}

// New validates p and returns a Scheduler.
func New(p Params) (*Scheduler, error) {
	if p.Store == nil {
		return nil, fmt.Errorf("scheduler: no store: %w", fault.ErrInvalid)
	}
	if p.Node == "" {
		return nil, fmt.Errorf("scheduler: no node name: %w", fault.ErrInvalid)
	}
	if p.Horizon <= 0 {
		p.Horizon = HorizonDefault
	}
	if p.LeaseTTL <= 0 {
		p.LeaseTTL = LeaseTTLDefault
	}
	if p.Interval <= 0 {
		p.Interval = min(IntervalDefault, p.LeaseTTL/3)
	}
	if p.PlanEvery <= 0 {
		p.PlanEvery = PlanEveryDefault
	}
	if p.Grace <= 0 {
		p.Grace = GraceDefault
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return &Scheduler{p: p}, nil
}

// IsLeader reports whether this replica plans now.
func (s *Scheduler) IsLeader() bool { return s.leader.Load() }

// Run leads or waits to lead until ctx ends; then it gives the lease up so
// another replica takes over at once. Database errors are logged and
// retried; Run returns nil when ctx ends.
func (s *Scheduler) Run(ctx context.Context) error {
	t := time.NewTicker(s.p.Interval)
	defer t.Stop()
	for {
		if err := s.Step(ctx); err != nil && ctx.Err() == nil {
			s.p.Logger.Error("scheduler", "err", err)
		}
		select {
		case <-ctx.Done():
			if s.leader.Load() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				if err := s.p.Store.ReleaseLease(rctx, LeaseName, s.p.Node); err != nil {
					s.p.Logger.Warn("release scheduler lease", "err", err)
				}
				cancel()
				s.setLeader(false)
			}
			return nil
		case <-t.C:
		}
	}
}

func (s *Scheduler) setLeader(v bool) {
	if s.leader.Swap(v) != v && s.p.OnLeader != nil {
		s.p.OnLeader(v)
	}
}

// Step is one pass of the loop: renew or seek the lease; as leader, settle
// overlaps and re-plan when definitions changed or PlanEvery passed.
func (s *Scheduler) Step(ctx context.Context) error {
	now := s.p.Now()
	lead, err := s.lease(ctx, now)
	if err != nil || !lead {
		return err
	}
	skipped, err := s.p.Store.SkipOverlapped(ctx, now)
	if err != nil {
		return err
	}
	for _, g := range skipped {
		s.p.Logger.Info("generation skipped", "run", g.ID, "jobnet", g.Jobnet, "reason", g.Reason)
	}
	versions, err := s.p.Store.DefinitionVersions(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	due := versions != s.versions || now.Sub(s.lastPlan) >= s.p.PlanEvery || !s.caughtUp
	s.mu.Unlock()
	if !due {
		return nil
	}
	if _, err := s.Plan(ctx, now); err != nil {
		return err
	}
	s.mu.Lock()
	s.versions, s.lastPlan = versions, now
	s.mu.Unlock()
	return nil
}

// lease renews the leadership, or seeks it; a new leadership raises a
// leader-change alert when another node led before.
func (s *Scheduler) lease(ctx context.Context, now time.Time) (bool, error) {
	if s.leader.Load() {
		ok, err := s.p.Store.RenewLease(ctx, LeaseName, s.p.Node, s.p.LeaseTTL)
		if err != nil {
			return false, fmt.Errorf("renew scheduler lease: %w", err)
		}
		if !ok {
			s.p.Logger.Warn("lost the scheduler lease; another replica plans now", "node", s.p.Node)
			s.setLeader(false)
		}
		return ok, nil
	}
	prev, err := s.p.Store.LeaseInfo(ctx, LeaseName)
	if err != nil {
		return false, err
	}
	ok, err := s.p.Store.AcquireLease(ctx, LeaseName, s.p.Node, s.p.LeaseTTL)
	if err != nil || !ok {
		return false, err
	}
	s.mu.Lock()
	s.caughtUp, s.versions = false, ""
	s.mu.Unlock()
	s.setLeader(true)
	s.p.Logger.Info("leading the scheduler", "node", s.p.Node, "previous", prev.Holder)
	if prev.Holder != "" && prev.Holder != s.p.Node {
		ev := alert.Event{Kind: alert.EventLeaderChange, Severity: alert.SeverityWarning, At: now,
			Detail: fmt.Sprintf("scheduler leader changed from %s to %s (previous lease expired %s)", prev.Holder, s.p.Node, prev.ExpiresAt.UTC().Format(time.RFC3339))}
		if err := s.p.Store.EnqueueEvents(ctx, []alert.Event{ev}); err != nil {
			return true, fmt.Errorf("leader change alert: %w", err)
		}
	}
	return true, nil
}

// Report is what one plan did.
type Report struct {
	From, To                              calendar.Date
	Inserted, Updated, Cancelled, Skipped int
	// Problems are jobnets whose rules failed to plan; their generations
	// were left alone.
	Problems error
}

// Plan plans the current definitions from the earliest business date a
// catch-up window reaches to now+Horizon and applies the differences
// (Reconcile), then the catch-up policies (CatchUpSkips). It is what the
// leader does on every re-plan; tests call it directly.
func (s *Scheduler) Plan(ctx context.Context, now time.Time) (Report, error) {
	var rep Report
	folders, err := s.p.Store.Folders(ctx)
	if err != nil {
		return rep, err
	}
	cals, err := s.p.Store.Calendars(ctx)
	if err != nil {
		return rep, err
	}
	versions, err := s.p.Store.CurrentJobnets(ctx, "")
	if err != nil {
		return rep, err
	}
	jobnets := make([]*jobnet.Jobnet, len(versions))
	byPath := map[string]store.JobnetVersion{}
	policies := map[int64]Policy{}
	for i, v := range versions {
		jobnets[i] = v.Jobnet
		byPath[v.Jobnet.Path()] = v
		policies[v.JobnetID] = Policy{CatchUp: v.Jobnet.CatchUp, Window: v.Jobnet.CatchUpWindow.D()}
	}
	cat := plan.NewCatalog(cals, folders, jobnets)

	// The range: from the business date the longest catch-up window reaches
	// back to, to the business date of now+Horizon, over every calendar.
	type bounds struct {
		first calendar.Date // earliest business date to create
		cal   *calendar.Calendar
	}
	per := map[int64]bounds{}
	var from, to calendar.Date
	set := false
	var ps []error
	for _, v := range versions {
		j := v.Jobnet
		if len(j.Rules) == 0 {
			continue
		}
		c, err := cat.CalendarOf(j)
		if err != nil {
			ps = append(ps, fmt.Errorf("jobnet %s: %w", j.Path(), err))
			continue
		}
		first := c.BusinessDate(now.Add(-v.Jobnet.CatchUpWindow.D()))
		last := c.BusinessDate(now.Add(s.p.Horizon))
		per[v.JobnetID] = bounds{first: first, cal: c}
		if !set || first < from {
			from = first
		}
		if !set || last > to {
			to = last
		}
		set = true
	}
	if !set {
		from, to = calendar.DateOf(now), calendar.DateOf(now)
	}
	rep.From, rep.To = from, to
	results, err := cat.Plan(from, to, nil)
	if err != nil {
		if _, ok := fault.AsProblems(err); !ok {
			return rep, fmt.Errorf("plan %s..%s: %w", from, to, err)
		}
		ps = append(ps, err)
	}
	if len(ps) > 0 {
		rep.Problems = errors.Join(ps...)
		s.p.Logger.Warn("some jobnets could not be planned; their generations are left as they are", "err", rep.Problems)
	}
	var planned []Planned
	for path, res := range results {
		v := byPath[path]
		for _, r := range res.Runs {
			planned = append(planned, Planned{JobnetID: v.JobnetID, Version: v.Version, Folder: v.Jobnet.Folder, Overlap: v.Jobnet.Overlap, Run: r})
		}
	}
	existing, err := s.p.Store.Generations(ctx, store.GenerationQuery{From: &from, To: &to})
	if err != nil {
		return rep, err
	}
	inScope := func(id int64) bool {
		for _, v := range versions {
			if v.JobnetID == id {
				_, ok := results[v.Jobnet.Path()]
				return ok || len(v.Jobnet.Rules) == 0
			}
		}
		return true // the jobnet is gone: nothing plans it any more
	}
	horizon := now.Add(s.p.Horizon)
	insert := func(p Planned) bool {
		b, ok := per[p.JobnetID]
		return ok && p.Run.BusinessDate >= b.first && !p.Run.Start.After(horizon)
	}
	acts := Reconcile(planned, existing, inScope, insert)
	created, err := s.p.Store.InsertGenerations(ctx, acts.Insert)
	if err != nil {
		return rep, err
	}
	rep.Inserted = len(created)
	for _, u := range acts.Update {
		if err := s.p.Store.UpdatePlannedGeneration(ctx, u); err != nil {
			if errors.Is(err, fault.ErrConflict) {
				continue // started or held meanwhile: it stays as it is
			}
			return rep, err
		}
		rep.Updated++
	}
	for _, c := range acts.Cancel {
		if err := s.p.Store.EndUnstarted(ctx, c.ID, jobrun.GenNotExecuted, c.Reason, true); err != nil {
			if errors.Is(err, fault.ErrConflict) {
				continue
			}
			return rep, err
		}
		s.p.Logger.Info("generation no longer planned", "run", c.ID, "reason", c.Reason)
		rep.Cancelled++
	}

	// Catch-up: generations first seen late, and on the first plan of a
	// leadership term every overdue generation nobody started.
	late := now.Add(-s.p.Grace)
	var missed []store.Generation
	seen := map[string]bool{}
	for _, g := range created {
		if g.ScheduledAt.Before(late) {
			missed = append(missed, g)
			seen[g.ID] = true
		}
	}
	s.mu.Lock()
	first := !s.caughtUp
	s.mu.Unlock()
	if first {
		over, err := s.p.Store.OverdueGenerations(ctx, late)
		if err != nil {
			return rep, err
		}
		for _, g := range over {
			if !seen[g.ID] && !g.Retimed && g.Rule != store.RuleManual {
				missed = append(missed, g)
			}
		}
	}
	policy := func(id int64) Policy { return policies[id] }
	skips := CatchUpSkips(missed, policy, now)
	skipped := make(map[string]bool, len(skips))
	for _, sk := range skips {
		skipped[sk.ID] = true
	}
	for _, sk := range skips {
		if err := s.p.Store.EndUnstarted(ctx, sk.ID, jobrun.GenSkipped, sk.Reason, false); err != nil {
			if errors.Is(err, fault.ErrConflict) {
				continue
			}
			return rep, err
		}
		s.p.Logger.Info("generation skipped", "run", sk.ID, "reason", sk.Reason)
		rep.Skipped++
	}
	// The missed generations the policy keeps may start now (the runner
	// holds back overdue generations until this decision).
	var keep []string
	for _, g := range missed {
		if !skipped[g.ID] {
			keep = append(keep, g.ID)
		}
	}
	if err := s.p.Store.KeepMissed(ctx, keep); err != nil {
		return rep, err
	}
	s.mu.Lock()
	s.caughtUp = true
	s.mu.Unlock()
	if !(rep.Inserted == 0 && rep.Updated == 0 && rep.Cancelled == 0 && rep.Skipped == 0) {
		s.p.Logger.Info("planned", "from", from, "to", to, "created", rep.Inserted, "moved", rep.Updated, "cancelled", rep.Cancelled, "skipped", rep.Skipped)
	}
	return rep, nil
}
