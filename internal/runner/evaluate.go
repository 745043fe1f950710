package runner

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// evalRounds bounds re-evaluations of one generation in one pass (judgments
// and nested jobnets may unlock further steps).
const evalRounds = 8

// claimNeed is what the evaluations of a pass leave to claim.
type claimNeed uint8

const (
	// claimNone: no evaluation claimed or freed anything.
	claimNone claimNeed = iota
	// claimDrained: the last claim or freeing write was a claim made with
	// an evaluation that took all it could: nothing is left to claim.
	claimDrained
	// claimAgain: ends were written without a claim, or the last claim
	// left units (a full batch, rows others held): the pass claims again.
	claimAgain
)

// evaluateDirty evaluates the generations marked dirty.
func (r *Runner) evaluateDirty(ctx context.Context) (int, error) {
	r.evalClaim = claimNone
	r.mu.Lock()
	if r.othersWrote {
		// The states kept may miss another runner's writes: read them
		// again and evaluate every generation they were kept for.
		r.othersWrote = false
		for id := range r.evals {
			r.dirty[id] = true
		}
		clear(r.evals)
	}
	ids := make([]string, 0, len(r.dirty))
	for id := range r.dirty {
		ids = append(ids, id)
	}
	clear(r.dirty)
	r.mu.Unlock()
	changed := 0
	var errs []error
	for _, id := range ids {
		n, err := r.evaluate(ctx, id)
		changed += n
		if err != nil {
			errs = append(errs, fmt.Errorf("evaluate generation %s: %w", id, err))
		}
	}
	// Ends of a generation that was not evaluated (finishInto marks it
	// dirty, so none are expected) are written on their own.
	for id, ends := range r.ends {
		delete(r.ends, id)
		errs = append(errs, r.writeEnds(ctx, ends))
	}
	return changed, errors.Join(errs...)
}

// evalState is the unit states of one active generation as the runner last
// read them (store.EvalUnits), with what it wrote since applied to them.
type evalState struct {
	units  []store.UnitRun
	byPath map[string]int
}

// unit returns the cached state of a unit, or nil.
func (e *evalState) unit(path string) *store.UnitRun {
	if i, ok := e.byPath[path]; ok {
		return &e.units[i]
	}
	return nil
}

// evalUnit returns the cached state of a unit of a generation, or nil when
// the generation's states are not cached.
func (r *Runner) evalUnit(genID, path string) *store.UnitRun {
	if e := r.evals[genID]; e != nil {
		return e.unit(path)
	}
	return nil
}

// evaluate applies what follows from a generation's states until nothing
// more does. It returns the number of steps applied. The generation comes
// from the cache (refreshed every sweep) unless it is held, and its units
// from the states cached since the last full pass (read once otherwise);
// after a step is applied it is applied to the states in memory too, so a
// further round reads nothing. A conflict (someone changed the generation
// meanwhile) re-reads both.
//
// The ends record saw for the generation are counted by the evaluation and
// written with its step; the units it made ready are claimed and
// dispatched in the same transaction. Ends the evaluation could not write
// (nothing applied, a conflict, an error) are written on their own.
func (r *Runner) evaluate(ctx context.Context, id string) (int, error) {
	ends := r.ends[id]
	delete(r.ends, id)
	n, err := r.evaluateWith(ctx, id, &ends)
	return n, errors.Join(err, r.writeEnds(ctx, ends))
}

func (r *Runner) evaluateWith(ctx context.Context, id string, ends *[]pendingEnd) (applied int, err error) {
	// Units claimed with a step are dispatched once their generation's
	// states kept in memory have the step applied.
	var claimed []store.RunUnit
	defer func() { err = errors.Join(err, r.dispatchClaimed(ctx, claimed)) }()
	var (
		g  store.Generation
		c  *compiled
		es *evalState
	)
	reload, cached := true, true
	for round := 0; round < evalRounds; round++ {
		if reload {
			var err error
			ok := false
			if cached {
				r.mu.Lock()
				g, ok = r.gens[id]
				r.mu.Unlock()
				ok = ok && g.State == jobrun.GenRunning
			}
			if !ok {
				if g, err = r.p.Store.Generation(ctx, id); err != nil {
					return applied, err
				}
			}
			if g.State != jobrun.GenRunning && !(g.State == jobrun.GenHeld && g.StartedAt != nil) {
				r.forget(id)
				return applied, nil
			}
			r.mu.Lock()
			r.gens[id] = g
			r.mu.Unlock()
			if c, err = r.version(ctx, g); err != nil {
				return applied, err
			}
			if es = r.evals[id]; es == nil || !cached {
				units, err := r.p.Store.EvalUnits(ctx, id)
				if err != nil {
					delete(r.evals, id)
					return applied, err
				}
				es = &evalState{units: units, byPath: make(map[string]int, len(units))}
				for i, u := range units {
					es.byPath[u.Path] = i
				}
				r.evals[id] = es
			}
			reload = false
			for _, e := range *ends {
				if u := es.unit(e.path); u != nil {
					endInMemory(u, e.end)
				}
			}
		}
		units, byPath := es.units, es.byPath
		now := r.p.Now()
		if err := r.checkDelays(ctx, g, c, units, now); err != nil {
			delete(r.evals, id)
			return applied, err
		}
		states := make([]jobrun.UnitRun, 0, len(units))
		for _, p := range c.graph.Paths() {
			if i, ok := byPath[p]; ok {
				states = append(states, units[i].Core())
			}
		}
		step, err := c.graph.Evaluate(states, now)
		if err != nil {
			return applied, err
		}
		r.setWake(step.Wake)
		if g.State == jobrun.GenHeld {
			step.Ready, step.Judge = nil, nil
		}
		genEnds := step.Gen.IsTerminal() && step.Gen != g.State
		if len(step.Ready) == 0 && len(step.Judge) == 0 && len(step.Bypass) == 0 && len(step.Derived) == 0 && !genEnds && len(*ends) == 0 {
			return applied, nil
		}
		a := store.StepApply{GenID: id, GenFrom: g.State, Step: step, Now: now}
		for _, e := range *ends {
			a.Ends = append(a.Ends, e.end)
		}
		var claim *store.Claim
		if g.State == jobrun.GenRunning && (len(step.Ready) > 0 || len(a.Ends) > 0) {
			claim = &store.Claim{Node: r.p.Node, Host: r.p.HostID, Limit: ClaimBatch, Lease: r.p.ClaimLease}
		}
		for _, j := range step.Judge {
			st, res, err := j.Resolve(r.vars(g, c, j.Path, 0), r.p.Stat)
			reason := ""
			if err != nil {
				reason = err.Error()
			}
			a.Judged = append(a.Judged, store.Judged{Path: j.Path, State: st, Result: res, Reason: reason})
			if st == jobrun.StateEndedAbnormal {
				ev := r.event(g, alert.EventJobAbnormal, alert.SeverityCritical)
				ev.Job, ev.State, ev.Detail = j.Path, string(st), reason
				a.Events = append(a.Events, ev)
			}
		}
		if genEnds {
			a.Events = append(a.Events, r.genEndEvent(g, step.Gen))
		}
		got, err := r.p.Store.ApplyStepAndClaim(ctx, a, claim)
		if err != nil {
			if store.IsConflict(err) {
				// The ends go on their own, then the generation is read
				// again with them.
				werr := r.writeEnds(ctx, *ends)
				*ends = nil
				if werr != nil {
					delete(r.evals, id)
					return applied, werr
				}
				reload, cached = true, false
				continue
			}
			delete(r.evals, id)
			return applied, err
		}
		applied++
		for _, e := range *ends {
			r.unwatch(e.end.UnitID)
			r.mu.Lock()
			delete(r.inFlight, e.end.UnitID)
			r.mu.Unlock()
		}
		switch {
		case claim != nil && !got.More:
			r.evalClaim = claimDrained
		case claim != nil || len(*ends) > 0:
			r.evalClaim = claimAgain
		}
		*ends = nil
		claimed = append(claimed, got.Units...)
		if genEnds {
			r.forget(id)
			// A generation waiting for this one (overlap) may start now.
			r.mu.Lock()
			r.full = true
			r.mu.Unlock()
			r.raiseGenFlags(ctx, g, c, now, now)
			return applied, nil
		}
		applyInMemory(units, byPath, a)
	}
	return applied, nil
}

// applyInMemory applies a persisted step to the states read before, as
// ApplyStep did in the database.
func applyInMemory(units []store.UnitRun, byPath map[string]int, a store.StepApply) {
	now := a.Now.UTC()
	set := func(path string, to jobrun.JobState) *store.UnitRun {
		i, ok := byPath[path]
		if !ok {
			return nil
		}
		u := &units[i]
		u.State = to
		return u
	}
	for _, d := range a.Step.Derived {
		if u := set(d.Path, d.To); u != nil && (d.To == jobrun.StateRunning || d.To.IsTerminal()) {
			if u.StartedAt == nil {
				u.StartedAt = &now
			}
			if d.To.IsTerminal() {
				u.EndedAt = &now
			}
		}
	}
	for _, b := range a.Step.Bypass {
		if u := set(b.Path, jobrun.StateBypassed); u != nil {
			u.EndedAt = &now
		}
	}
	for _, j := range a.Judged {
		if u := set(j.Path, j.State); u != nil {
			u.Judgment, u.Reason, u.StartedAt, u.EndedAt = j.Result, j.Reason, &now, &now
		}
	}
	if a.GenFrom == jobrun.GenRunning {
		for _, q := range a.Step.Ready {
			if u := set(q.Path, jobrun.StateQueued); u != nil {
				u.QueuedAt = &now
			}
		}
	}
}

func (r *Runner) genEndEvent(g store.Generation, st jobrun.GenState) alert.Event {
	var ev alert.Event
	switch st {
	case jobrun.GenEndedNormal:
		ev = r.event(g, alert.EventGenerationNormal, alert.SeverityInfo)
	case jobrun.GenEndedWarning:
		ev = r.event(g, alert.EventGenerationWarning, alert.SeverityWarning)
	default:
		ev = r.event(g, alert.EventGenerationAbnormal, alert.SeverityCritical)
	}
	ev.State = string(st)
	return ev
}

// checkDelays raises the delay flags of the generation and its units that
// became due, each with its event, once.
func (r *Runner) checkDelays(ctx context.Context, g store.Generation, c *compiled, units []store.UnitRun, now time.Time) error {
	dayStart := g.BusinessDate.At(0, c.loc)
	r.raiseGenFlags(ctx, g, c, time.Time{}, now)
	for i, u := range units {
		def, ok := c.graph.Unit(u.Path)
		if !ok || def.Delay == nil || (u.StartDelayed && u.EndDelayed) {
			continue
		}
		var started, ended time.Time
		if u.StartedAt != nil {
			started = *u.StartedAt
		}
		if u.EndedAt != nil {
			ended = *u.EndedAt
		}
		if u.State == jobrun.StateBypassed {
			continue
		}
		sd, ed := jobrun.DelayFlags(def.Delay, g.ScheduledAt, dayStart, started, ended, now)
		r.setWake(jobrun.NextDelayCheck(def.Delay, g.ScheduledAt, dayStart, started, ended, now))
		raiseStart, raiseEnd := sd && !u.StartDelayed, ed && !u.EndDelayed
		if !raiseStart && !raiseEnd {
			continue
		}
		var evs []alert.Event
		if raiseStart {
			ev := r.event(g, alert.EventStartDelay, alert.SeverityWarning)
			ev.Job, ev.State, ev.Detail = u.Path, string(u.State), "start delayed"
			evs = append(evs, ev)
		}
		if raiseEnd {
			ev := r.event(g, alert.EventEndDelay, alert.SeverityWarning)
			ev.Job, ev.State, ev.Detail = u.Path, string(u.State), "end delayed"
			evs = append(evs, ev)
		}
		if err := r.p.Store.SetUnitFlags(ctx, u.ID, raiseStart, raiseEnd, evs); err != nil {
			return err
		}
		units[i].StartDelayed = units[i].StartDelayed || raiseStart
		units[i].EndDelayed = units[i].EndDelayed || raiseEnd
	}
	return nil
}

// raiseGenFlags raises the jobnet-level delay flags of a generation;
// ended is its end (zero while it runs).
func (r *Runner) raiseGenFlags(ctx context.Context, g store.Generation, c *compiled, ended, now time.Time) {
	if c.def.Delay == nil || (g.StartDelayed && g.EndDelayed) {
		return
	}
	dayStart := g.BusinessDate.At(0, c.loc)
	var started time.Time
	if g.StartedAt != nil {
		started = *g.StartedAt
	}
	sd, ed := jobrun.DelayFlags(c.def.Delay, g.ScheduledAt, dayStart, started, ended, now)
	r.setWake(jobrun.NextDelayCheck(c.def.Delay, g.ScheduledAt, dayStart, started, ended, now))
	raiseStart, raiseEnd := sd && !g.StartDelayed, ed && !g.EndDelayed
	if !raiseStart && !raiseEnd {
		return
	}
	var evs []alert.Event
	if raiseStart {
		ev := r.event(g, alert.EventStartDelay, alert.SeverityWarning)
		ev.Detail = "jobnet start delayed"
		evs = append(evs, ev)
	}
	if raiseEnd {
		ev := r.event(g, alert.EventEndDelay, alert.SeverityWarning)
		ev.Detail = "jobnet end delayed"
		evs = append(evs, ev)
	}
	if err := r.p.Store.SetGenerationFlags(ctx, g.ID, raiseStart, raiseEnd, evs); err != nil {
		r.p.Logger.Error("raise generation delay flags", "generation", g.ID, "err", err)
		return
	}
	r.mu.Lock()
	if cg, ok := r.gens[g.ID]; ok {
		cg.StartDelayed = cg.StartDelayed || raiseStart
		cg.EndDelayed = cg.EndDelayed || raiseEnd
		r.gens[g.ID] = cg
	}
	r.mu.Unlock()
}

// unitDef returns the definition of a unit of a generation.
func (r *Runner) unitDef(ctx context.Context, genID, path string) (store.Generation, *compiled, jobnet.Unit, error) {
	g, err := r.generation(ctx, genID)
	if err != nil {
		return g, nil, jobnet.Unit{}, err
	}
	c, err := r.version(ctx, g)
	if err != nil {
		return g, nil, jobnet.Unit{}, err
	}
	u, ok := c.graph.Unit(path)
	if !ok {
		return g, c, u, fmt.Errorf("generation %s: unit %q is not in jobnet %s version %d", genID, path, g.Jobnet, g.JobnetVersion)
	}
	return g, c, u, nil
}
