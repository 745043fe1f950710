package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Results of executor calls, delivered by the lane workers and recorded by
// the next pass (record).
type (
	startDone struct {
		u   store.RunUnit
		h   dispatch.Handle
		err error
		at  time.Time
	}
	pollDone struct {
		u    store.RunUnit
		st   dispatch.Status
		err  error
		tail []string
	}
	// pendingEnd is an end collected to be written with others
	// (store.MarkEndedAll), with the unit it ends.
	pendingEnd struct {
		end       store.UnitEnd
		gen, path string
	}
	cancelDone struct {
		u     store.RunUnit
		cause string
		err   error
	}
)

// claimAndDispatch claims queued units and hands their starts to the lanes;
// the pass does not wait for them.
func (r *Runner) claimAndDispatch(ctx context.Context) (int, error) {
	units, err := r.p.Store.ClaimForDispatch(ctx, r.p.Node, r.p.HostID, ClaimBatch, r.p.ClaimLease, r.p.Now())
	if err != nil || len(units) == 0 {
		return 0, err
	}
	if len(units) == ClaimBatch {
		r.mu.Lock()
		r.claimMore = true
		r.mu.Unlock()
	}
	return len(units), r.dispatchClaimed(ctx, units)
}

// dispatchClaimed notes the claimed units' dispatch in the states kept for
// evaluation and hands their starts to the lanes.
func (r *Runner) dispatchClaimed(ctx context.Context, units []store.RunUnit) error {
	var errs []error
	for _, u := range units {
		if u.State == jobrun.StateStarting {
			// The claim recorded the dispatch: queued → starting.
			if c := r.evalUnit(u.GenerationID, u.Path); c != nil {
				c.State, c.Attempt, c.ExitCode, c.Reason, c.NotBefore = u.State, u.Attempt, nil, "", nil
			}
		}
		if err := r.dispatch(ctx, u); err != nil {
			errs = append(errs, fmt.Errorf("dispatch unit %q of generation %s: %w", u.Path, u.GenerationID, err))
		}
	}
	return errors.Join(errs...)
}

// dispatch starts a claimed unit: a job unit comes with its dispatch key
// already recorded (ClaimForDispatch: queued → starting); a wait unit
// starts watching instead.
func (r *Runner) dispatch(ctx context.Context, u store.RunUnit) error {
	g, c, def, err := r.unitDef(ctx, u.GenerationID, u.Path)
	if err != nil {
		return err
	}
	if u.State == jobrun.StateQueued {
		if def.Kind != jobnet.UnitWait {
			return fmt.Errorf("unit %q of generation %s: claimed without a recorded dispatch", u.Path, g.ID)
		}
		delete(r.evals, g.ID)
		if err := r.p.Store.MarkRunning(ctx, u.ID, jobrun.StateQueued, nil, r.p.Now()); err != nil && !store.IsConflict(err) {
			return err
		}
		r.pollNow(u.ID)
		return nil
	}
	return r.start(ctx, g, c, def, u)
}

// start hands the executor call for a unit in starting with its recorded
// key (a first dispatch or a re-attach) to the unit's start lane. A job
// that cannot be turned into a request fails to start at once.
func (r *Runner) start(ctx context.Context, g store.Generation, c *compiled, def jobnet.Unit, u store.RunUnit) error {
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
	r.setInFlight(u.ID)
	r.lanes.submit(startLane(job), func() {
		cctx, cancel := context.WithTimeout(ctx, r.p.CallTimeout)
		h, err := ex.Start(cctx, req)
		cancel()
		r.deliver(func() { r.starts = append(r.starts, startDone{u: u, h: h, err: err, at: r.p.Now()}) })
	})
	return nil
}

// poll hands a status call for units on one watch lane to that lane: one
// Statuses call per batch when the executor has it, else one Status call
// per unit. The log tail of an execution whose end raises an alert is read
// in the same call, off the pass.
func (r *Runner) poll(ctx context.Context, k laneKey, ex dispatch.Executor, ps []watched) {
	for _, p := range ps {
		r.setInFlight(p.u.ID)
	}
	finish := func(p watched, st dispatch.Status, err error) pollDone {
		d := pollDone{u: p.u, st: st, err: err}
		if err == nil && st.State.IsTerminal() && alertsWithLog(endVerdict(p.def, p.u, st).State) {
			d.tail = r.logTail(ctx, ex, *p.u.Handle, LogTailLinesDefault)
		}
		return d
	}
	if bs, ok := ex.(dispatch.BatchStatuser); ok {
		for len(ps) > 0 {
			batch := ps[:min(len(ps), statusBatch)]
			ps = ps[len(batch):]
			r.lanes.submit(k, func() {
				hs := make([]dispatch.Handle, len(batch))
				for i, p := range batch {
					hs[i] = *p.u.Handle
				}
				cctx, cancel := context.WithTimeout(ctx, r.p.CallTimeout)
				sts, err := bs.Statuses(cctx, hs)
				cancel()
				if err == nil && len(sts) != len(hs) {
					err = fmt.Errorf("%s executor answered %d statuses for %d executions", ex.Type(), len(sts), len(hs))
				}
				done := make([]pollDone, len(batch))
				for i, p := range batch {
					if err != nil {
						done[i] = pollDone{u: p.u, err: fmt.Errorf("poll %s executions: %w", ex.Type(), err)}
						continue
					}
					done[i] = finish(p, sts[i], nil)
				}
				r.deliver(func() { r.polls = append(r.polls, done...) })
			})
		}
		return
	}
	for _, p := range ps {
		r.lanes.submit(k, func() {
			cctx, cancel := context.WithTimeout(ctx, r.p.CallTimeout)
			st, err := ex.Status(cctx, *p.u.Handle)
			cancel()
			d := finish(p, st, err)
			r.deliver(func() { r.polls = append(r.polls, d) })
		})
	}
}

// cancel hands a Cancel call to the unit's watch lane.
func (r *Runner) cancel(ctx context.Context, ex dispatch.Executor, u store.RunUnit, cause string) {
	r.setInFlight(u.ID)
	r.lanes.submit(watchLane(*u.Handle), func() {
		cctx, cancel := context.WithTimeout(ctx, r.p.CallTimeout)
		err := ex.Cancel(cctx, *u.Handle, r.p.KillGrace)
		cancel()
		r.deliver(func() { r.cancels = append(r.cancels, cancelDone{u: u, cause: cause, err: err}) })
	})
}

// deliver adds a call's result under the lock and wakes the loop.
func (r *Runner) deliver(add func()) {
	r.mu.Lock()
	add()
	r.mu.Unlock()
	r.wakeLoop()
}

func (r *Runner) setInFlight(id int64) {
	r.mu.Lock()
	r.inFlight[id] = true
	r.mu.Unlock()
}

// takeTold turns the terminal statuses executors notified (hint) into
// poll results of the units this node watches with no call out, so that
// record writes the ends in the same pass without asking the executor
// again. An end whose alert carries the log's tail is left to a poll: the
// tail is an executor call.
func (r *Runner) takeTold(ctx context.Context) {
	type told struct {
		handle string
		u      store.RunUnit
		st     dispatch.Status
	}
	var ts []told
	r.mu.Lock()
	for h, st := range r.told {
		id, ok := r.byHandle[h]
		if !ok || r.inFlight[id] {
			continue
		}
		ts = append(ts, told{handle: h, u: r.watching[id], st: st})
	}
	r.mu.Unlock()
	var done []pollDone
	for _, t := range ts {
		_, _, def, err := r.unitDef(ctx, t.u.GenerationID, t.u.Path)
		if err != nil || !toldSuffices(def, t.u, t.st) {
			r.mu.Lock()
			delete(r.told, t.handle)
			r.mu.Unlock()
			continue
		}
		done = append(done, pollDone{u: t.u, st: t.st})
	}
	r.mu.Lock()
	for _, d := range done {
		delete(r.told, d.u.Handle.ID)
		delete(r.hinted, d.u.Handle.ID)
	}
	r.polls = append(r.polls, done...)
	r.mu.Unlock()
}

// record writes what the executor calls returned since the last pass: the
// handles of started executions in one transaction (guarded starting →
// running), start errors, cancel causes, and the ends seen in one
// transaction. The units become free for the next call only then.
func (r *Runner) record(ctx context.Context) (n int, freed bool, err error) {
	r.mu.Lock()
	starts, polls, cancels := r.starts, r.polls, r.cancels
	r.starts, r.polls, r.cancels = nil, nil, nil
	r.mu.Unlock()
	if len(starts)+len(polls)+len(cancels) == 0 {
		return 0, false, nil
	}
	var ends []pendingEnd
	defer func() {
		r.mu.Lock()
		// Starts and cancels changed the units: the next pass re-reads
		// them. A poll changed nothing but what record wrote, which says
		// itself whether to re-read (pollNow) or forget (unwatch) the unit;
		// one that ended stays in flight until its evaluation wrote the end.
		for _, d := range starts {
			delete(r.inFlight, d.u.ID)
			r.recheck[d.u.ID] = true
		}
		for _, d := range polls {
			delete(r.inFlight, d.u.ID)
		}
		for _, e := range ends {
			r.inFlight[e.end.UnitID] = true
		}
		for _, d := range cancels {
			delete(r.inFlight, d.u.ID)
			r.recheck[d.u.ID] = true
		}
		r.mu.Unlock()
	}()
	var errs []error
	var ok []store.UnitStart
	var okStarts []startDone
	for _, d := range starts {
		if d.err != nil {
			errs = append(errs, r.startFailed(ctx, d))
			continue
		}
		ok = append(ok, store.UnitStart{UnitID: d.u.ID, From: jobrun.StateStarting, Handle: d.h, StartedAt: d.at})
		okStarts = append(okStarts, d)
		if r.p.OnDispatch != nil && d.u.QueuedAt != nil {
			r.p.OnDispatch(d.at.Sub(*d.u.QueuedAt))
		}
	}
	// Their keys were recorded before Start, so a crash before this write
	// re-attaches them.
	conflicts, err := r.p.Store.MarkRunningAll(ctx, ok)
	if err != nil {
		errs = append(errs, err)
	}
	for i, st := range ok {
		d := okStarts[i]
		r.pollAfterStart(st.UnitID, d.h, r.p.Now())
		if err != nil || conflicts[i] != nil {
			delete(r.evals, d.u.GenerationID)
		} else if u := r.evalUnit(d.u.GenerationID, d.u.Path); u != nil {
			at := st.StartedAt.UTC()
			u.State, u.StartedAt = jobrun.StateRunning, &at
		}
	}
	for _, d := range cancels {
		if d.err != nil {
			if ctx.Err() == nil {
				errs = append(errs, fmt.Errorf("cancel unit %q of generation %s: %w", d.u.Path, d.u.GenerationID, d.err))
			}
			continue
		}
		if err := r.p.Store.SetCancelCause(ctx, d.u.ID, d.u.State, d.cause); err != nil && !store.IsConflict(err) {
			errs = append(errs, err)
		}
		r.pollNow(d.u.ID)
	}
	now := r.p.Now()
	for _, d := range polls {
		st, err := d.st, d.err
		if err != nil {
			if !errors.Is(err, dispatch.ErrUnknownHandle) {
				if ctx.Err() == nil {
					errs = append(errs, fmt.Errorf("poll unit %q of generation %s: %w", d.u.Path, d.u.GenerationID, err))
				}
				r.pollLater(d.u.ID, now)
				continue
			}
			st = dispatch.Status{State: dispatch.StateLost, Reason: err.Error()}
		}
		if !st.State.IsTerminal() {
			// Why it still waits (unschedulable, pulling the image) shows while it waits.
			r.pollLater(d.u.ID, now)
			if st.Reason != d.u.Reason {
				if err := r.p.Store.SetUnitReason(ctx, d.u.ID, d.u.State, st.Reason); err != nil && !store.IsConflict(err) {
					errs = append(errs, err)
				}
				r.mu.Lock()
				r.recheck[d.u.ID] = true
				r.mu.Unlock()
			}
			continue
		}
		g, _, def, err := r.unitDef(ctx, d.u.GenerationID, d.u.Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		v := endVerdict(def, d.u, st)
		errs = append(errs, r.finishInto(ctx, &ends, g, def, d.u, v, endTime(st, d.u.StartedAt, now), d.tail))
	}
	// The ends seen are written by their generations' evaluations in this
	// pass (finishInto marked them dirty), each in one transaction with
	// what it made ready and the claim of it.
	for _, e := range ends {
		r.ends[e.gen] = append(r.ends[e.gen], e)
	}
	// Failed starts may be retried.
	freed = len(ok) < len(starts)
	return len(starts) + len(polls) + len(cancels), freed, errors.Join(errs...)
}

// writeEnds writes ends of one pass on their own, in one transaction
// (their generation's evaluation did not write them), and makes their
// units free for the next call.
func (r *Runner) writeEnds(ctx context.Context, ends []pendingEnd) error {
	if len(ends) == 0 {
		return nil
	}
	es := make([]store.UnitEnd, len(ends))
	for i, e := range ends {
		es[i] = e.end
	}
	conflicts, err := r.p.Store.MarkEndedAll(ctx, es)
	for i, e := range ends {
		if err != nil || conflicts[i] != nil {
			delete(r.evals, e.gen)
			r.pollNow(e.end.UnitID)
		} else {
			r.ended(e)
		}
		r.mu.Lock()
		delete(r.inFlight, e.end.UnitID)
		r.mu.Unlock()
	}
	// Ends free pool slots.
	r.evalClaim = claimAgain
	return err
}

// ended forgets a unit whose end was written: nothing more to watch.
func (r *Runner) ended(e pendingEnd) {
	r.unwatch(e.end.UnitID)
	if u := r.evalUnit(e.gen, e.path); u != nil {
		endInMemory(u, e.end)
	}
}

// endInMemory applies an end to a unit state kept for evaluation.
func endInMemory(u *store.UnitRun, e store.UnitEnd) {
	at := e.EndedAt.UTC()
	u.State, u.ExitCode, u.Reason, u.EndedAt = e.State, e.ExitCode, e.Reason, &at
	if u.StartedAt == nil {
		u.StartedAt = &at
	}
}

// startFailed records a Start that returned an error: a permanent one (or
// the StartErrorLimit-th retryable one) ends the attempt as failed to
// start; a retryable one keeps the unit starting with its key and retries
// with exponential backoff. A Start cut short by shutdown is left alone:
// the recorded key re-attaches after the restart.
func (r *Runner) startFailed(ctx context.Context, d startDone) error {
	if ctx.Err() != nil {
		return nil
	}
	u := d.u
	g, _, def, err := r.unitDef(ctx, u.GenerationID, u.Path)
	if err != nil {
		return err
	}
	var perm *dispatch.Permanent
	n := u.StartErrors + 1
	if errors.As(d.err, &perm) || errors.Is(d.err, fault.ErrInvalid) {
		return r.failStart(ctx, g, def, u, d.err.Error())
	}
	if dispatch.IsCapacity(d.err) && def.Job != nil {
		return r.capacityRetry(ctx, g, def, u, n, d.err)
	}
	if n >= StartErrorLimit {
		return r.failStart(ctx, g, def, u, d.err.Error())
	}
	backoff := min(time.Second<<min(n-1, 6), time.Minute)
	var evs []alert.Event
	if n == 1 {
		ev := r.event(g, alert.EventDispatchError, alert.SeverityWarning)
		ev.Job, ev.State, ev.Attempt, ev.Detail = u.Path, string(jobrun.StateStarting), u.Attempt, d.err.Error()
		evs = append(evs, ev)
	}
	at := r.p.Now().Add(backoff)
	r.setWake(at)
	delete(r.evals, g.ID)
	if err := r.p.Store.MarkStartError(ctx, u.ID, n, at, d.err.Error(), evs); err != nil && !store.IsConflict(err) {
		return err
	}
	return nil
}

// capacityRetry handles a start refused for want of capacity (or a full
// quota): the job's capacity budget (jobrun.CapacityDecision) says whether
// to try again, when, and what the unit shows meanwhile; every refused try
// is an event with its reason. Out of budget, the attempt fails to start
// with the last reason.
func (r *Runner) capacityRetry(ctx context.Context, g store.Generation, def jobnet.Unit, u store.RunUnit, n int, cause error) error {
	dec := jobrun.CapacityDecision(def.Job.CapacityBudget(), n, r.p.Now(), cause.Error())
	if !dec.Retry {
		return r.failStart(ctx, g, def, u, dec.Reason)
	}
	ev := r.event(g, alert.EventDispatchError, alert.SeverityWarning)
	ev.Job, ev.State, ev.Attempt, ev.Detail = u.Path, string(jobrun.StateStarting), u.Attempt, dec.Reason
	r.setWake(dec.At)
	delete(r.evals, g.ID)
	if err := r.p.Store.MarkStartError(ctx, u.ID, n, dec.At, dec.Reason, []alert.Event{ev}); err != nil && !store.IsConflict(err) {
		return err
	}
	return nil
}

// pollNow makes the next pass re-read the unit and poll it.
func (r *Runner) pollNow(id int64) {
	r.mu.Lock()
	delete(r.nextPoll, id)
	r.recheck[id] = true
	r.mu.Unlock()
}

// pollAfterStart schedules the first poll of an execution whose start was
// recorded: at once, unless its executor notifies (dispatch.Notifier),
// whose notification of an end that came before the start was recorded is
// kept until the unit is read with its handle; then after the poll
// interval, like every execution, in case a notification was lost.
func (r *Runner) pollAfterStart(id int64, h dispatch.Handle, now time.Time) {
	if ex, err := r.p.Executors.For(jobnet.JobType(h.Executor)); err == nil {
		if _, ok := ex.(dispatch.Notifier); ok {
			r.mu.Lock()
			r.recheck[id] = true
			r.mu.Unlock()
			r.pollLater(id, now)
			return
		}
	}
	r.pollNow(id)
}

// failStart ends an attempt that could not start: a retry when the job's
// policy retries failures to start, else failed to start.
func (r *Runner) failStart(ctx context.Context, g store.Generation, def jobnet.Unit, u store.RunUnit, reason string) error {
	return r.finish(ctx, g, def, u, verdict{State: jobrun.StateFailedToStart, Cause: jobrun.CauseStartFailed, Reason: reason})
}

// finish ends an attempt as v says (or retries it) with its events, now.
func (r *Runner) finish(ctx context.Context, g store.Generation, def jobnet.Unit, u store.RunUnit, v verdict) error {
	return r.finishInto(ctx, nil, g, def, u, v, r.p.Now(), nil)
}

// finishInto ends an attempt at endedAt as v says, or retries it when the
// job's retry policy retries the outcome. With a non-nil sink an end (not a
// retry) is collected there instead of written, for the caller to write
// several ends in one transaction (store.MarkEndedAll) before it evaluates.
// tail is the end of the job's log, carried by the alert.
func (r *Runner) finishInto(ctx context.Context, sink *[]pendingEnd, g store.Generation, def jobnet.Unit, u store.RunUnit, v verdict,
	endedAt time.Time, tail []string) error {
	defer r.markDirty(g.ID)
	state, exit, reason := v.State, v.Exit, v.Reason
	var retry *jobnet.Retry
	if def.Job != nil {
		retry = def.Job.Retry
	}
	if outcome, ok := jobrun.OutcomeOf(state, v.TimedOut); ok && retry != nil && v.Cause != jobrun.CauseKill {
		if again, at := jobrun.RetryDecision(retry, outcome, u.Tries, endedAt); again {
			if _, err := jobrun.Transition(u.Path, u.State, jobrun.StateWaiting, jobrun.CauseRetry); err != nil {
				return err
			}
			ev := r.event(g, alert.EventJobRetry, alert.SeverityWarning)
			ev.Job, ev.State, ev.ExitCode, ev.Attempt = u.Path, string(state), exit, u.Attempt
			ev.Detail = fmt.Sprintf("try %d of %d ended %s; retry at %s", u.Tries, retry.Count+1, strings.ReplaceAll(string(state), "_", " "), at.Format(time.RFC3339))
			r.setWake(at)
			delete(r.evals, g.ID)
			defer r.pollNow(u.ID)
			err := r.p.Store.MarkRetry(ctx, u.ID, u.State, at, exit, reason, []alert.Event{ev})
			if err != nil && !store.IsConflict(err) {
				return err
			}
			return nil
		}
	}
	if _, err := jobrun.Transition(u.Path, u.State, state, v.Cause); err != nil {
		return err
	}
	var evs []alert.Event
	add := func(kind alert.EventKind, sev alert.Severity) {
		ev := r.event(g, kind, sev)
		ev.Job, ev.State, ev.ExitCode, ev.Attempt, ev.Detail = u.Path, string(state), exit, u.Attempt, reason
		ev.LogTail = tail
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
	end := store.UnitEnd{UnitID: u.ID, From: u.State, State: state, ExitCode: exit, Reason: reason, EndedAt: endedAt, Events: evs}
	if sink != nil {
		// The caller re-reads or forgets the unit once it wrote the end.
		*sink = append(*sink, pendingEnd{end: end, gen: g.ID, path: u.Path})
		return nil
	}
	defer r.pollNow(u.ID)
	delete(r.evals, g.ID)
	err := r.p.Store.MarkEnded(ctx, end)
	if err != nil && !store.IsConflict(err) {
		return err
	}
	return nil
}

// watched is a unit due for a status call, with what judging it needs.
type watched struct {
	u   store.RunUnit
	def jobnet.Unit
}

// watch goes over this node's starting and running units and does what
// decideWatch says: re-attaches dispatches without a handle, cancels on
// kill requests and timeouts, checks wait units, ends executions nobody
// knows, and hands status calls to the lanes (grouped per lane). Executor
// calls are only handed out; record writes their results in a later pass.
//
// A full pass reads all of them (adopting orphans once per poll interval);
// an incremental pass re-reads only the units in recheck, and decides only
// about those, the ones an executor notified about and the ones whose poll
// or deadline came (kill requests come with the full pass their
// notification causes).
func (r *Runner) watch(ctx context.Context, full bool) (int, error) {
	now := r.p.Now()
	cands, err := r.watchCandidates(ctx, full, now)
	if err != nil {
		r.mu.Lock()
		r.full = true
		r.mu.Unlock()
		return 0, err
	}
	changed := 0
	var errs []error
	type group struct {
		ex dispatch.Executor
		ps []watched
	}
	due := map[laneKey]*group{}
	var order []laneKey
	for _, u := range cands {
		g, c, def, err := r.unitDef(ctx, u.GenerationID, u.Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		in := watchInput{Unit: u, Def: def, Away: u.JobType == jobnet.JobLocal && u.HostID != "" && u.HostID != r.p.HostID}
		var ex dispatch.Executor
		if u.Handle != nil {
			ex, err = r.p.Executors.For(jobnet.JobType(u.Handle.Executor))
			in.HasExecutor = err == nil
		}
		r.mu.Lock()
		in.InFlight = r.inFlight[u.ID]
		in.NextPoll, in.Polled = r.nextPoll[u.ID]
		if u.Handle != nil {
			_, in.Hinted = r.hinted[u.Handle.ID]
		}
		r.mu.Unlock()
		d := decideWatch(in, now)
		r.setWake(d.Wake)
		if d.Wake.IsZero() {
			delete(r.wakeAt, u.ID)
		} else {
			r.wakeAt[u.ID] = d.Wake
		}
		switch d.Action {
		case actWait:
			n, err := r.watchWait(ctx, g, def, u, now)
			changed += n
			errs = append(errs, err)
		case actStart:
			changed++
			errs = append(errs, r.start(ctx, g, c, def, u))
		case actLost:
			changed++
			errs = append(errs, r.finish(ctx, g, def, u, verdict{State: jobrun.StateUnknownEnd, Cause: jobrun.CauseLost,
				Reason: fmt.Sprintf("no executor for job type %q", u.Handle.Executor)}))
		case actKillAway:
			changed++
			errs = append(errs, r.finish(ctx, g, def, u, verdict{State: jobrun.StateKilled, Cause: jobrun.CauseKill,
				Reason: fmt.Sprintf("killed by an operator while the host that ran it (host id %s) was away; a process still running there was not stopped", u.HostID)}))
		case actCancel:
			changed++
			r.cancel(ctx, ex, u, d.Cause)
		case actPoll:
			r.mu.Lock()
			st, told := r.told[u.Handle.ID]
			delete(r.hinted, u.Handle.ID)
			delete(r.told, u.Handle.ID)
			if told && toldSuffices(def, u, st) {
				// The executor told how it ended: record that, no call.
				r.polls = append(r.polls, pollDone{u: u, st: st})
				r.mu.Unlock()
				r.wakeLoop()
				continue
			}
			r.mu.Unlock()
			k := watchLane(*u.Handle)
			gr := due[k]
			if gr == nil {
				gr = &group{ex: ex}
				due[k] = gr
				order = append(order, k)
			}
			gr.ps = append(gr.ps, watched{u: u, def: def})
		}
	}
	for _, k := range order {
		r.poll(ctx, k, due[k].ex, due[k].ps)
	}
	return changed, errors.Join(errs...)
}

// watchCandidates updates the watched units (all of them in a full pass,
// else those to re-read) and returns the ones to decide about, by id.
func (r *Runner) watchCandidates(ctx context.Context, full bool, now time.Time) ([]store.RunUnit, error) {
	r.mu.Lock()
	recheck := r.recheck
	r.recheck = map[int64]bool{}
	r.mu.Unlock()
	restore := func() {
		r.mu.Lock()
		for id := range recheck {
			r.recheck[id] = true
		}
		r.mu.Unlock()
	}
	put := func(u store.RunUnit) {
		if old, ok := r.watching[u.ID]; ok && old.Handle != nil {
			delete(r.byHandle, old.Handle.ID)
		}
		r.watching[u.ID] = u
		if u.Handle != nil {
			r.byHandle[u.Handle.ID] = u.ID
		}
	}
	drop := r.unwatch
	if full {
		var (
			units []store.RunUnit
			err   error
		)
		// Orphans (claims of dead nodes expire after ClaimLease) are adopted
		// once per poll interval; other passes only list this node's units.
		if now.Sub(r.lastAdopt) >= r.p.PollInterval {
			units, err = r.p.Store.ActiveUnits(ctx, r.p.Node, r.p.HostID, now, r.p.ClaimLease)
			if err == nil {
				r.lastAdopt = now
			}
		} else {
			units, err = r.p.Store.WatchedUnits(ctx, r.p.Node)
		}
		if err != nil {
			restore()
			return nil, err
		}
		live := make(map[int64]bool, len(units))
		for _, u := range units {
			live[u.ID] = true
		}
		for id := range r.watching {
			if !live[id] {
				drop(id)
			}
		}
		for _, u := range units {
			put(u)
		}
		r.mu.Lock()
		for id := range r.nextPoll {
			if !live[id] {
				delete(r.nextPoll, id)
			}
		}
		r.dropStaleHints(now)
		r.mu.Unlock()
		return units, nil
	}
	ids := make([]int64, 0, len(recheck))
	for id := range recheck {
		ids = append(ids, id)
	}
	var fresh []store.RunUnit
	if len(ids) > 0 {
		var err error
		if fresh, err = r.p.Store.WatchedUnitsByID(ctx, r.p.Node, ids); err != nil {
			restore()
			return nil, err
		}
	}
	// A re-read unit keeps its next poll time (pollNow is what asks for
	// a poll at once).
	r.mu.Lock()
	polls := make(map[int64]time.Time, len(ids))
	for _, id := range ids {
		if at, ok := r.nextPoll[id]; ok {
			polls[id] = at
		}
	}
	r.mu.Unlock()
	for _, id := range ids {
		drop(id)
	}
	cand := map[int64]bool{}
	r.mu.Lock()
	for _, u := range fresh {
		if at, ok := polls[u.ID]; ok {
			r.nextPoll[u.ID] = at
		}
	}
	r.mu.Unlock()
	for _, u := range fresh {
		put(u)
		cand[u.ID] = true
	}
	r.mu.Lock()
	for h := range r.hinted {
		if id, ok := r.byHandle[h]; ok {
			cand[id] = true
		}
	}
	r.dropStaleHints(now)
	for id, at := range r.nextPoll {
		if !now.Before(at) {
			cand[id] = true
		}
	}
	r.mu.Unlock()
	for id, at := range r.wakeAt {
		if !now.Before(at) {
			cand[id] = true
		}
	}
	out := make([]store.RunUnit, 0, len(cand))
	for id := range cand {
		if u, ok := r.watching[id]; ok {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b store.RunUnit) int { return cmp.Compare(a.ID, b.ID) })
	return out, nil
}

// dropStaleHints forgets the notifications about executions this node has
// not watched for a poll interval (another node's, or ended). One about an
// execution whose start is not recorded yet (a job that ended at once) is
// kept until its unit is read with its handle. Called with r.mu held.
func (r *Runner) dropStaleHints(now time.Time) {
	for h, at := range r.hinted {
		if _, ok := r.byHandle[h]; !ok && now.Sub(at) > r.p.PollInterval {
			delete(r.hinted, h)
			delete(r.told, h)
		}
	}
}

// unwatch forgets a unit that is no longer this node's to watch (it ended,
// or another node has it).
func (r *Runner) unwatch(id int64) {
	if old, ok := r.watching[id]; ok && old.Handle != nil {
		delete(r.byHandle, old.Handle.ID)
	}
	delete(r.watching, id)
	delete(r.wakeAt, id)
	r.mu.Lock()
	delete(r.nextPoll, id)
	delete(r.recheck, id)
	r.mu.Unlock()
}

func (r *Runner) pollLater(id int64, now time.Time) {
	at := now.Add(r.p.PollInterval)
	r.mu.Lock()
	r.nextPoll[id] = at
	r.mu.Unlock()
	r.setWake(at)
}

// watchWait ends a wait unit once the awaited unit of the other jobnet
// ended normally or with warning on the same business date, or abnormally
// when its limit passed; a kill request ends it killed.
func (r *Runner) watchWait(ctx context.Context, g store.Generation, def jobnet.Unit, u store.RunUnit, now time.Time) (int, error) {
	if u.KillRequested {
		return 1, r.finish(ctx, g, def, u, verdict{State: jobrun.StateKilled, Cause: jobrun.CauseKill, Reason: "killed by an operator"})
	}
	r.mu.Lock()
	next, seen := r.nextPoll[u.ID]
	r.mu.Unlock()
	if seen && now.Before(next) {
		return 0, nil
	}
	if def.Wait == nil {
		return 1, r.finish(ctx, g, def, u, verdict{State: jobrun.StateEndedAbnormal, Cause: jobrun.CauseExited, Reason: "the wait unit has no target"})
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
		return 1, r.finish(ctx, g, def, u, verdict{State: jobrun.StateEndedNormal, Cause: jobrun.CauseExited, Reason: what + " ended"})
	}
	if def.Wait.Limit > 0 && u.StartedAt != nil {
		limit := u.StartedAt.Add(def.Wait.Limit.D())
		if !now.Before(limit) {
			return 1, r.finish(ctx, g, def, u, verdict{State: jobrun.StateEndedAbnormal, Cause: jobrun.CauseExited,
				Reason: fmt.Sprintf("%s did not end within %s", what, def.Wait.Limit)})
		}
		r.setWake(limit)
	}
	r.pollLater(u.ID, now)
	return 0, nil
}
