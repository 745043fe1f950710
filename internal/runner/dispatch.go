package runner

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// claimAndDispatch claims queued units and dispatches them in parallel.
func (r *Runner) claimAndDispatch(ctx context.Context) (int, error) {
	units, err := r.p.Store.ClaimForDispatch(ctx, r.p.Node, ClaimBatch, r.p.ClaimLease, r.p.Now())
	if err != nil || len(units) == 0 {
		return 0, err
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
		sem  = make(chan struct{}, r.p.DispatchWorkers)
	)
	sink := &startSink{}
	for _, u := range units {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := r.dispatch(ctx, sink, u); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("dispatch unit %q of generation %s: %w", u.Path, u.GenerationID, err))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	// The handles of the executions started in this pass are recorded in
	// one transaction; their keys were recorded before Start, so a crash
	// before this write re-attaches them.
	if _, err := r.p.Store.MarkRunningAll(ctx, sink.starts); err != nil {
		errs = append(errs, err)
	}
	for _, st := range sink.starts {
		r.pollNow(st.UnitID)
	}
	return len(units), errors.Join(errs...)
}

// startSink collects the starts of parallel dispatches.
type startSink struct {
	mu     sync.Mutex
	starts []store.UnitStart
}

func (s *startSink) add(st store.UnitStart) {
	s.mu.Lock()
	s.starts = append(s.starts, st)
	s.mu.Unlock()
}

// dispatch starts a claimed unit: a job unit comes with its dispatch key
// already recorded (ClaimForDispatch: queued → starting); a wait unit
// starts watching instead.
func (r *Runner) dispatch(ctx context.Context, sink *startSink, u store.RunUnit) error {
	g, c, def, err := r.unitDef(ctx, u.GenerationID, u.Path)
	if err != nil {
		return err
	}
	now := r.p.Now()
	if u.State == jobrun.StateQueued {
		if def.Kind != jobnet.UnitWait {
			return fmt.Errorf("unit %q of generation %s: claimed without a recorded dispatch", u.Path, g.ID)
		}
		if err := r.p.Store.MarkRunning(ctx, u.ID, jobrun.StateQueued, nil, now); err != nil && !store.IsConflict(err) {
			return err
		}
		r.pollNow(u.ID)
		return nil
	}
	return r.start(ctx, sink, g, c, def, u)
}

// start calls the executor for a unit in starting with its recorded key
// (a first dispatch or a re-attach) and records the handle (at once, or
// through sink when not nil).
func (r *Runner) start(ctx context.Context, sink *startSink, g store.Generation, c *compiled, def jobnet.Unit, u store.RunUnit) error {
	if def.Job == nil {
		return r.failStart(ctx, g, def, u, "the unit has no job definition")
	}
	vars := r.vars(g, c, u.Path, u.Attempt)
	job, err := jobrun.ExpandJob(*def.Job, vars)
	if err != nil {
		return r.failStart(ctx, g, def, u, err.Error())
	}
	ex, err := r.p.Executors.For(job.Type)
	if err != nil {
		return r.failStart(ctx, g, def, u, err.Error())
	}
	env := make(map[string]string, len(vars)+len(job.Env))
	for k, v := range job.Env {
		env[k] = v
	}
	for k, v := range vars {
		if _, set := env[k]; !set || strings.HasPrefix(k, "KOYOMI_") {
			env[k] = v
		}
	}
	req := dispatch.Request{Key: u.DispatchKey, RunID: g.ID, Jobnet: g.Jobnet, Unit: u.Path, Attempt: u.Attempt,
		BusinessDate: g.BusinessDate.String(), Job: job, Env: env}
	h, err := ex.Start(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil // shutting down: the recorded key re-attaches after the restart
		}
		var perm *dispatch.Permanent
		n := u.StartErrors + 1
		if errors.As(err, &perm) || errors.Is(err, fault.ErrInvalid) || n >= StartErrorLimit {
			return r.failStart(ctx, g, def, u, err.Error())
		}
		backoff := min(time.Second<<min(n-1, 6), time.Minute)
		var evs []alert.Event
		if n == 1 {
			ev := r.event(g, alert.EventDispatchError, alert.SeverityWarning)
			ev.Job, ev.State, ev.Attempt, ev.Detail = u.Path, string(jobrun.StateStarting), u.Attempt, err.Error()
			evs = append(evs, ev)
		}
		at := r.p.Now().Add(backoff)
		r.setWake(at)
		if err := r.p.Store.MarkStartError(ctx, u.ID, n, at, err.Error(), evs); err != nil && !store.IsConflict(err) {
			return err
		}
		return nil
	}
	started := r.p.Now()
	if r.p.OnDispatch != nil && u.QueuedAt != nil {
		r.p.OnDispatch(started.Sub(*u.QueuedAt))
	}
	if sink != nil {
		sink.add(store.UnitStart{UnitID: u.ID, From: jobrun.StateStarting, Handle: h, StartedAt: started})
		return nil
	}
	if err := r.p.Store.MarkRunning(ctx, u.ID, jobrun.StateStarting, &h, started); err != nil && !store.IsConflict(err) {
		return err
	}
	r.pollNow(u.ID)
	return nil
}

func (r *Runner) pollNow(id int64) {
	r.mu.Lock()
	delete(r.nextPoll, id)
	r.mu.Unlock()
}

// failStart ends an attempt that could not start: a retry when the job's
// policy retries failures to start, else failed to start.
func (r *Runner) failStart(ctx context.Context, g store.Generation, def jobnet.Unit, u store.RunUnit, reason string) error {
	return r.finish(ctx, g, def, u, jobrun.StateFailedToStart, jobrun.CauseStartFailed, nil, reason, false)
}

// finish ends an attempt in state (or retries it) with its events.
func (r *Runner) finish(ctx context.Context, g store.Generation, def jobnet.Unit, u store.RunUnit, state jobrun.JobState,
	cause jobrun.Cause, exit *int, reason string, timedOut bool) error {
	return r.finishInto(ctx, nil, g, def, u, state, cause, exit, reason, timedOut)
}

// finishInto is finish; with a non-nil sink an end (not a retry) is
// collected there instead of written, for the caller to write several ends
// in one transaction (store.MarkEndedAll) before it evaluates.
func (r *Runner) finishInto(ctx context.Context, sink *[]store.UnitEnd, g store.Generation, def jobnet.Unit, u store.RunUnit, state jobrun.JobState,
	cause jobrun.Cause, exit *int, reason string, timedOut bool) error {
	now := r.p.Now()
	defer r.markDirty(g.ID)
	defer r.pollNow(u.ID)
	var retry *jobnet.Retry
	if def.Job != nil {
		retry = def.Job.Retry
	}
	if outcome, ok := jobrun.OutcomeOf(state, timedOut); ok && retry != nil && cause != jobrun.CauseKill {
		if again, at := jobrun.RetryDecision(retry, outcome, u.Tries, now); again {
			if _, err := jobrun.Transition(u.Path, u.State, jobrun.StateWaiting, jobrun.CauseRetry); err != nil {
				return err
			}
			ev := r.event(g, alert.EventJobRetry, alert.SeverityWarning)
			ev.Job, ev.State, ev.ExitCode, ev.Attempt = u.Path, string(state), exit, u.Attempt
			ev.Detail = fmt.Sprintf("try %d of %d ended %s; retry at %s", u.Tries, retry.Count+1, strings.ReplaceAll(string(state), "_", " "), at.Format(time.RFC3339))
			r.setWake(at)
			err := r.p.Store.MarkRetry(ctx, u.ID, u.State, at, exit, reason, []alert.Event{ev})
			if err != nil && !store.IsConflict(err) {
				return err
			}
			return nil
		}
	}
	if _, err := jobrun.Transition(u.Path, u.State, state, cause); err != nil {
		return err
	}
	var evs []alert.Event
	add := func(kind alert.EventKind, sev alert.Severity) {
		ev := r.event(g, kind, sev)
		ev.Job, ev.State, ev.ExitCode, ev.Attempt, ev.Detail = u.Path, string(state), exit, u.Attempt, reason
		ev.LogTail = r.logTail(ctx, u, LogTailLinesDefault)
		evs = append(evs, ev)
	}
	switch state {
	case jobrun.StateEndedAbnormal, jobrun.StateUnknownEnd:
		add(alert.EventJobAbnormal, alert.SeverityCritical)
	case jobrun.StateEndedWarning:
		add(alert.EventJobWarning, alert.SeverityWarning)
	case jobrun.StateFailedToStart:
		add(alert.EventJobFailedToStart, alert.SeverityCritical)
	}
	end := store.UnitEnd{UnitID: u.ID, From: u.State, State: state, ExitCode: exit, Reason: reason, EndedAt: now, Events: evs}
	if sink != nil {
		*sink = append(*sink, end)
		return nil
	}
	err := r.p.Store.MarkEnded(ctx, end)
	if err != nil && !store.IsConflict(err) {
		return err
	}
	return nil
}

// watch polls this node's starting and running units: re-attaches
// dispatches without a handle, honours kill requests and timeouts, ends wait
// units, and ends jobs whose executions ended.
func (r *Runner) watch(ctx context.Context) (int, error) {
	now := r.p.Now()
	var (
		units []store.RunUnit
		err   error
	)
	// Orphans (claims of dead nodes expire after ClaimLease) are adopted
	// once per poll interval; other passes only list this node's units.
	if now.Sub(r.lastAdopt) >= r.p.PollInterval {
		units, err = r.p.Store.ActiveUnits(ctx, r.p.Node, now, r.p.ClaimLease)
		if err == nil {
			r.lastAdopt = now
		}
	} else {
		units, err = r.p.Store.WatchedUnits(ctx, r.p.Node)
	}
	if err != nil {
		return 0, err
	}
	changed := 0
	var errs []error
	type polled struct {
		u   store.RunUnit
		g   store.Generation
		def jobnet.Unit
	}
	byExec := map[dispatch.Executor][]polled{}
	var ends []store.UnitEnd
	live := make(map[int64]bool, len(units))
	for _, u := range units {
		live[u.ID] = true
		g, c, def, err := r.unitDef(ctx, u.GenerationID, u.Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if def.Kind == jobnet.UnitWait {
			n, err := r.watchWait(ctx, g, def, u, now)
			changed += n
			errs = append(errs, err)
			continue
		}
		if u.Handle == nil {
			if u.State != jobrun.StateStarting {
				continue
			}
			if u.NotBefore != nil && u.NotBefore.After(now) {
				r.setWake(*u.NotBefore)
				continue
			}
			changed++
			errs = append(errs, r.start(ctx, nil, g, c, def, u))
			continue
		}
		ex, err := r.p.Executors.For(jobnet.JobType(u.Handle.Executor))
		if err != nil {
			errs = append(errs, r.finish(ctx, g, def, u, jobrun.StateUnknownEnd, jobrun.CauseLost, nil, err.Error(), false))
			changed++
			continue
		}
		if u.CancelCause == "" {
			cause := ""
			if u.KillRequested {
				cause = store.CancelKill
			} else if def.Job != nil && def.Job.Timeout != nil && def.Job.Timeout.After > 0 && u.StartedAt != nil {
				deadline := u.StartedAt.Add(def.Job.Timeout.After.D())
				if !now.Before(deadline) {
					cause = store.CancelTimeout
				} else {
					r.setWake(deadline)
				}
			}
			if cause != "" {
				if err := ex.Cancel(ctx, *u.Handle, r.p.KillGrace); err != nil {
					errs = append(errs, fmt.Errorf("cancel unit %q of generation %s: %w", u.Path, g.ID, err))
					continue
				}
				if err := r.p.Store.SetCancelCause(ctx, u.ID, u.State, cause); err != nil && !store.IsConflict(err) {
					errs = append(errs, err)
				}
				u.CancelCause = cause
				r.pollNow(u.ID)
				changed++
			}
		}
		r.mu.Lock()
		next, seen := r.nextPoll[u.ID]
		r.mu.Unlock()
		if seen && now.Before(next) {
			continue
		}
		byExec[ex] = append(byExec[ex], polled{u, g, def})
	}
	r.mu.Lock()
	for id := range r.nextPoll {
		if !live[id] {
			delete(r.nextPoll, id)
		}
	}
	r.mu.Unlock()
	for ex, ps := range byExec {
		sts := make([]dispatch.Status, len(ps))
		stErrs := make([]error, len(ps))
		if bs, ok := ex.(dispatch.BatchStatuser); ok {
			hs := make([]dispatch.Handle, len(ps))
			for i, p := range ps {
				hs[i] = *p.u.Handle
			}
			got, err := bs.Statuses(ctx, hs)
			if err != nil || len(got) != len(hs) {
				errs = append(errs, fmt.Errorf("poll %s executions: %w", ex.Type(), err))
				continue
			}
			sts = got
		} else {
			for i, p := range ps {
				sts[i], stErrs[i] = ex.Status(ctx, *p.u.Handle)
			}
		}
		for i, p := range ps {
			st, err := sts[i], stErrs[i]
			if err != nil {
				if errors.Is(err, dispatch.ErrUnknownHandle) {
					st = dispatch.Status{State: dispatch.StateLost, Reason: err.Error()}
				} else {
					errs = append(errs, fmt.Errorf("poll unit %q of generation %s: %w", p.u.Path, p.g.ID, err))
					r.pollLater(p.u.ID, now)
					continue
				}
			}
			if !st.State.IsTerminal() {
				// Why it still waits (unschedulable, pulling the image) shows while it waits.
				if st.Reason != p.u.Reason {
					if err := r.p.Store.SetUnitReason(ctx, p.u.ID, p.u.State, st.Reason); err != nil && !store.IsConflict(err) {
						errs = append(errs, err)
					}
				}
				r.pollLater(p.u.ID, now)
				continue
			}
			changed++
			errs = append(errs, r.ended(ctx, &ends, p.g, p.def, p.u, st))
		}
	}
	// The ends seen in this pass are written in one transaction.
	if _, err := r.p.Store.MarkEndedAll(ctx, ends); err != nil {
		errs = append(errs, err)
	}
	return changed, errors.Join(errs...)
}

func (r *Runner) pollLater(id int64, now time.Time) {
	at := now.Add(r.p.PollInterval)
	r.mu.Lock()
	r.nextPoll[id] = at
	r.mu.Unlock()
	r.setWake(at)
}

// ended judges an execution that ended.
func (r *Runner) ended(ctx context.Context, sink *[]store.UnitEnd, g store.Generation, def jobnet.Unit, u store.RunUnit, st dispatch.Status) error {
	switch {
	case u.CancelCause == store.CancelKill && st.State != dispatch.StateFailedToStart:
		return r.finishInto(ctx, sink, g, def, u, jobrun.StateKilled, jobrun.CauseKill, st.ExitCode, "killed by an operator", false)
	case u.CancelCause == store.CancelTimeout && st.State != dispatch.StateFailedToStart:
		var t *jobnet.Timeout
		if def.Job != nil {
			t = def.Job.Timeout
		}
		state, err := jobrun.TimeoutState(t)
		if err != nil {
			state = jobrun.StateEndedAbnormal
		}
		reason := "timed out"
		if t != nil {
			reason += " after " + t.After.String()
		}
		return r.finishInto(ctx, sink, g, def, u, state, jobrun.CauseTimeout, st.ExitCode, reason, true)
	}
	switch st.State {
	case dispatch.StateExited:
		code := -1
		if st.ExitCode != nil {
			code = *st.ExitCode
		}
		var end jobnet.EndJudgment
		if def.Job != nil {
			end = def.Job.End
		}
		return r.finishInto(ctx, sink, g, def, u, jobrun.Judge(end, code), jobrun.CauseExited, st.ExitCode, st.Reason, false)
	case dispatch.StateFailedToStart:
		return r.finishInto(ctx, sink, g, def, u, jobrun.StateFailedToStart, jobrun.CauseStartFailed, st.ExitCode, st.Reason, false)
	case dispatch.StateCancelled:
		return r.finishInto(ctx, sink, g, def, u, jobrun.StateKilled, jobrun.CauseKill, st.ExitCode, cmpOr(st.Reason, "cancelled"), false)
	default:
		return r.finishInto(ctx, sink, g, def, u, jobrun.StateUnknownEnd, jobrun.CauseLost, st.ExitCode, cmpOr(st.Reason, "the executor lost the job"), false)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// watchWait ends a wait unit once the awaited unit of the other jobnet
// ended normally or with warning on the same business date, or abnormally
// when its limit passed; a kill request ends it killed.
func (r *Runner) watchWait(ctx context.Context, g store.Generation, def jobnet.Unit, u store.RunUnit, now time.Time) (int, error) {
	if u.KillRequested {
		return 1, r.finish(ctx, g, def, u, jobrun.StateKilled, jobrun.CauseKill, nil, "killed by an operator", false)
	}
	r.mu.Lock()
	next, seen := r.nextPoll[u.ID]
	r.mu.Unlock()
	if seen && now.Before(next) {
		return 0, nil
	}
	if def.Wait == nil {
		return 1, r.finish(ctx, g, def, u, jobrun.StateEndedAbnormal, jobrun.CauseExited, nil, "the wait unit has no target", false)
	}
	target := def.Wait.Jobnet
	if !strings.Contains(target, "/") {
		target = g.Folder + "/" + target
	}
	ok, err := r.p.Store.WaitSatisfied(ctx, target, g.BusinessDate.String(), def.Wait.Unit)
	if err != nil {
		return 0, err
	}
	what := target
	if def.Wait.Unit != "" {
		what += " unit " + def.Wait.Unit
	}
	if ok {
		return 1, r.finish(ctx, g, def, u, jobrun.StateEndedNormal, jobrun.CauseExited, nil, what+" ended", false)
	}
	if def.Wait.Limit > 0 && u.StartedAt != nil {
		limit := u.StartedAt.Add(def.Wait.Limit.D())
		if !now.Before(limit) {
			return 1, r.finish(ctx, g, def, u, jobrun.StateEndedAbnormal, jobrun.CauseExited, nil,
				fmt.Sprintf("%s did not end within %s", what, def.Wait.Limit), false)
		}
		r.setWake(limit)
	}
	r.pollLater(u.ID, now)
	return 0, nil
}
