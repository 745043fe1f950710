package runner

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Defaults.
const (
	PollIntervalDefault = time.Second
	KillGraceDefault    = 10 * time.Second
	// ClaimLeaseDefault is how long a claim outlives a silent node.
	ClaimLeaseDefault = 30 * time.Second
	// ClaimBatch is how many queued units one pass claims at most.
	ClaimBatch = 256
	// DueBatch is how many due generations one pass starts at most.
	DueBatch = 200
	// DispatchWorkersDefault is how many executor calls run in parallel on
	// one lane (an executor, one of its connections, starts or watching).
	DispatchWorkersDefault = 16
	// CallTimeoutDefault bounds one executor call made by the runner (Start,
	// Status, Statuses, Cancel); a Start cut off by it is a retryable
	// dispatch error, retried with the same key.
	CallTimeoutDefault = 5 * time.Minute
	// CatchUpGraceDefault is how late a generation may start before it
	// counts as missed (the scheduler's default Grace).
	CatchUpGraceDefault = time.Minute
	// StartErrorLimit ends an attempt as failed to start after this many
	// consecutive retryable dispatch errors.
	StartErrorLimit = 10
	// statusBatch is the most executions one Statuses call asks about.
	statusBatch = 100
)

// Params configures a Runner.
type Params struct {
	Store     *store.Store
	Executors dispatch.Registry
	// Node names this replica in claims (config.Node).
	Node         string
	PollInterval time.Duration
	KillGrace    time.Duration
	// ClaimLease is the lifetime of a claim; renewed every pass.
	ClaimLease time.Duration
	// BaseURL prefixes links in alerts (<BaseURL>/runs/<generation id>).
	BaseURL string
	Logger  *slog.Logger
	Now     func() time.Time
	// Stat reports whether a path exists, for file_exists judgments
	// (os.Stat if nil).
	Stat func(path string) bool
	// HostID names the host whose disk holds this replica's local job state
	// (the data directory): replicas that share it may adopt each other's
	// local units; a replica with another one never does (store.ActiveUnits).
	// Empty: local units are not bound to a host.
	HostID string
	// DispatchWorkers bounds the executor calls in flight per lane: per
	// executor and connection, separately for starts and for status and
	// cancel calls (DispatchWorkersDefault if 0).
	DispatchWorkers int
	// CallTimeout bounds each executor call (CallTimeoutDefault if 0).
	CallTimeout time.Duration
	// CatchUpGrace is the scheduler's grace period (CatchUpGraceDefault if
	// 0): a generation overdue by more than it starts only once its
	// catch-up was decided. It must exceed PollInterval.
	CatchUpGrace time.Duration
	// OnDispatch, if set, is called once per job unit whose executor
	// accepted the start, with the time since the unit was queued.
	OnDispatch func(queuedFor time.Duration)
}

// Runner drives running generations: it starts due generations, evaluates
// them, dispatches their queued units and watches what runs.
type Runner struct {
	p      Params
	notify chan struct{}
	lanes  *lanes

	mu     sync.Mutex
	graphs map[versionKey]*compiled
	gens   map[string]store.Generation // active generations by id (cache)
	dirty  map[string]bool
	// nextPoll says when to ask an executor about a unit again.
	nextPoll  map[int64]time.Time
	lastSweep time.Time
	lastRenew time.Time
	lastAdopt time.Time
	wake      time.Time
	attached  bool
	// inFlight holds the units with an executor call out; hinted the
	// handle ids executors notified (dispatch.Notifier) with when, told the
	// terminal statuses they notified with.
	inFlight map[int64]bool
	hinted   map[string]time.Time
	told     map[string]dispatch.Status
	// full asks the next pass of Run to read everything again (an operator
	// or another process changed something); lastFull is the last one.
	full     bool
	lastFull time.Time
	// claimMore: the last claim took a full batch, or another replica
	// queued units; the next pass claims even if nothing else changed.
	claimMore bool
	// othersWrote: another runner changed unit states since the last
	// evaluation (store.UnitsChangedBy); origin names this runner's writes.
	othersWrote bool
	origin      string

	// The pass's own view of what it watches and evaluates (touched by the
	// pass only; see incremental passes in the package doc).
	//
	// watching holds this node's starting and running units as last read,
	// byHandle their ids by handle id; recheck the units a pass wrote or
	// an executor call returned about (re-read by the next pass), wakeAt
	// when a unit's own deadline (timeout, retry time) comes.
	watching map[int64]store.RunUnit
	byHandle map[string]int64
	recheck  map[int64]bool
	wakeAt   map[int64]time.Time
	// evals holds the unit states of active generations as last read and
	// since written by this runner.
	evals map[string]*evalState
	// ends holds, per generation, the ends record saw in this pass; the
	// generation's evaluation writes them with its step and the claim of
	// what they made ready (store.ApplyStepAndClaim). evalClaim says what
	// the evaluations of the pass left to claim.
	ends      map[string][]pendingEnd
	evalClaim claimNeed
	// Results of executor calls, recorded by the next pass.
	starts  []startDone
	polls   []pollDone
	cancels []cancelDone
}

type versionKey struct {
	id      int64
	version int
}

// compiled is one pinned jobnet version, ready to evaluate.
type compiled struct {
	def   *jobnet.Jobnet
	graph *jobrun.Graph
	loc   *time.Location
}

// New returns a runner. Store and Executors are required.
func New(p Params) (*Runner, error) {
	if p.Store == nil {
		return nil, errors.New("runner: no store")
	}
	if p.Executors == nil {
		p.Executors = dispatch.Registry{}
	}
	if p.PollInterval <= 0 {
		p.PollInterval = PollIntervalDefault
	}
	if p.KillGrace <= 0 {
		p.KillGrace = KillGraceDefault
	}
	if p.ClaimLease <= 0 {
		p.ClaimLease = ClaimLeaseDefault
	}
	if p.Node == "" {
		host, _ := os.Hostname()
		p.Node = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Stat == nil {
		p.Stat = func(path string) bool { _, err := os.Stat(path); return err == nil }
	}
	if p.CatchUpGrace <= 0 {
		p.CatchUpGrace = CatchUpGraceDefault
	}
	if p.DispatchWorkers <= 0 {
		p.DispatchWorkers = DispatchWorkersDefault
	}
	if p.CallTimeout <= 0 {
		p.CallTimeout = CallTimeoutDefault
	}
	p.BaseURL = strings.TrimRight(p.BaseURL, "/")
	r := &Runner{p: p, notify: make(chan struct{}, 1), lanes: newLanes(p.DispatchWorkers), graphs: map[versionKey]*compiled{},
		gens: map[string]store.Generation{}, dirty: map[string]bool{}, nextPoll: map[int64]time.Time{},
		inFlight: map[int64]bool{}, hinted: map[string]time.Time{}, told: map[string]dispatch.Status{}, watching: map[int64]store.RunUnit{}, byHandle: map[string]int64{},
		recheck: map[int64]bool{}, wakeAt: map[int64]time.Time{}, evals: map[string]*evalState{}, ends: map[string][]pendingEnd{}}
	var nonce [8]byte
	_, _ = rand.Read(nonce[:])
	r.origin = fmt.Sprintf("%s/%d/%x", p.Node, os.Getpid(), nonce)
	for _, ex := range p.Executors {
		if n, ok := ex.(dispatch.Notifier); ok {
			n.Subscribe(r.hint)
		}
	}
	return r, nil
}

// hint is the runner's dispatch.Notifier callback: the execution with
// handle id changed, so it is polled in the next pass, which starts at once;
// a terminal status it was told is recorded without a poll (takeTold).
func (r *Runner) hint(handleID string, st *dispatch.Status) {
	r.mu.Lock()
	r.hinted[handleID] = r.p.Now()
	if st != nil && st.State.IsTerminal() {
		r.told[handleID] = *st
	}
	r.mu.Unlock()
	r.wakeLoop()
}

// Notify wakes the loop at once for a full pass: something changed that
// the runner did not do itself (an operator's action, a generation
// inserted by another process).
func (r *Runner) Notify() {
	r.mu.Lock()
	r.full = true
	r.mu.Unlock()
	r.wakeLoop()
}

// othersChanged is told that another runner changed unit states: the unit
// states kept for evaluation may be stale, so the next pass drops them and
// evaluates their generations again from the database.
func (r *Runner) othersChanged() {
	r.mu.Lock()
	r.othersWrote = true
	r.mu.Unlock()
	r.wakeLoop()
}

// notifyQueued wakes the loop to claim units another replica queued.
func (r *Runner) notifyQueued() {
	r.mu.Lock()
	r.claimMore = true
	r.mu.Unlock()
	r.wakeLoop()
}

// wakeLoop wakes the loop at once for an incremental pass.
func (r *Runner) wakeLoop() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Run loops until ctx ends: a pass, then another at once if the pass changed
// anything, else after PollInterval, a Notify (an executor call returned, an
// executor notified a change, an operator acted) or the next due wake-up.
// It returns once the executor calls still out have returned (ctx cancels
// them).
func (r *Runner) Run(ctx context.Context) error {
	timer := time.NewTimer(0)
	defer timer.Stop()
	defer r.lanes.wait()
	// On PostgreSQL other replicas' changes (units queued, generations
	// inserted, operators' actions) wake this runner at once.
	lctx, stopListen := context.WithCancel(ctx)
	listening := make(chan struct{})
	go func() {
		defer close(listening)
		_ = r.p.Store.ListenRunners(lctx, func(what string) {
			if origin, ok := store.UnitsChangedBy(what); ok {
				if origin != r.origin {
					r.othersChanged()
				}
				return
			}
			if what == store.NotifyQueued {
				r.notifyQueued()
				return
			}
			r.Notify()
		})
	}()
	defer func() { stopListen(); <-listening }()
	r.mu.Lock()
	r.full = true
	r.mu.Unlock()
	for {
		r.mu.Lock()
		full := r.full || r.p.Now().Sub(r.lastFull) >= r.p.PollInterval
		r.full = false
		r.mu.Unlock()
		busy, err := r.pass(ctx, full)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			r.p.Logger.Error("runner pass", "err", err)
		}
		if busy && err == nil {
			continue
		}
		wait := r.p.PollInterval
		r.mu.Lock()
		if !r.wake.IsZero() {
			if d := r.wake.Sub(r.p.Now()); d < wait {
				wait = max(d, time.Millisecond)
			}
		}
		r.mu.Unlock()
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return nil
		case <-r.notify:
			if !timer.Stop() {
				<-timer.C
			}
		case <-timer.C:
		}
	}
}

// Pass does one full round of work (it reads everything again, see
// incremental passes in the package doc) and reports whether it changed
// anything (so that another pass should follow at once).
func (r *Runner) Pass(ctx context.Context) (bool, error) {
	return r.pass(ctx, true)
}

// pass does one round of work, full or incremental.
func (r *Runner) pass(ctx context.Context, full bool) (bool, error) {
	ctx = store.WithOrigin(ctx, r.origin)
	now := r.p.Now()
	r.mu.Lock()
	// A retry time or backoff that came may have made units claimable.
	claim := full || r.claimMore || (!r.wake.IsZero() && !now.Before(r.wake))
	r.wake = time.Time{}
	r.claimMore = false
	r.mu.Unlock()
	if !r.attached {
		if err := r.attach(ctx, now); err != nil {
			return false, err
		}
		r.attached = true
	}
	if full {
		clear(r.evals)
	}
	changed := false
	var errs []error
	if full {
		n, err := r.startDue(ctx, now)
		changed = changed || n > 0
		errs = append(errs, err)
	}
	if now.Sub(r.lastSweep) >= r.p.PollInterval {
		if err := r.sweep(ctx, now); err != nil {
			errs = append(errs, err)
		} else {
			r.lastSweep = now
		}
	}
	r.takeTold(ctx)
	n, freed, err := r.record(ctx)
	errs = append(errs, err)
	// Units become claimable when an evaluation queued them, a unit ended
	// (pool slots and max_concurrent_jobs free up), a start failed (its
	// retry), the watch or the generations' starts changed something,
	// another replica queued them or a retry time came (full passes); a
	// pass that only recorded starts or polls made nothing claimable.
	claim = claim || changed || freed
	changed = changed || n > 0
	n, err = r.watch(ctx, full)
	changed = changed || n > 0
	claim = claim || n > 0
	errs = append(errs, err)
	n, err = r.evaluateDirty(ctx)
	changed = changed || n > 0
	switch r.evalClaim {
	case claimDrained:
		// An evaluation claimed, after every cause above, all it could.
		claim = false
	case claimAgain:
		claim = true
	default:
		claim = claim || n > 0
	}
	errs = append(errs, err)
	if claim {
		n, err = r.claimAndDispatch(ctx)
		changed = changed || n > 0
		errs = append(errs, err)
	}
	if full && errors.Join(errs...) == nil {
		r.lastFull = now
	}
	if now.Sub(r.lastRenew) >= r.p.ClaimLease/3 {
		if err := r.p.Store.RenewClaims(ctx, r.p.Node, r.p.Now().Add(r.p.ClaimLease)); err != nil {
			errs = append(errs, err)
		} else {
			r.lastRenew = now
		}
	}
	return changed, errors.Join(errs...)
}

func (r *Runner) setWake(t time.Time) {
	if t.IsZero() {
		return
	}
	r.mu.Lock()
	if r.wake.IsZero() || t.Before(r.wake) {
		r.wake = t
	}
	r.mu.Unlock()
}

func (r *Runner) markDirty(genID string) {
	r.mu.Lock()
	r.dirty[genID] = true
	r.mu.Unlock()
}

// version returns the compiled pinned version of a generation (cached).
func (r *Runner) version(ctx context.Context, g store.Generation) (*compiled, error) {
	k := versionKey{g.JobnetID, g.JobnetVersion}
	r.mu.Lock()
	c, ok := r.graphs[k]
	r.mu.Unlock()
	if ok {
		return c, nil
	}
	v, err := r.p.Store.JobnetVersionByID(ctx, g.JobnetID, g.JobnetVersion)
	if err != nil {
		return nil, fmt.Errorf("generation %s: %w", g.ID, err)
	}
	graph, err := jobrun.Compile(v.Jobnet.Net)
	if err != nil {
		return nil, fmt.Errorf("generation %s: jobnet %s version %d: %w", g.ID, g.Jobnet, g.JobnetVersion, err)
	}
	c = &compiled{def: v.Jobnet, graph: graph, loc: time.UTC}
	calName := v.Jobnet.Calendar
	if calName == "" {
		if f, err := r.p.Store.Folder(ctx, v.Jobnet.Folder); err == nil {
			calName = f.Calendar
		}
	}
	// A calendar without a zone has its parent's (calendar.Build).
	for hops := 0; calName != "" && hops < 32; hops++ {
		def, _, err := r.p.Store.CalendarDef(ctx, calName)
		if err != nil {
			break
		}
		if def.TimeZone != "" {
			if loc, err := time.LoadLocation(def.TimeZone); err == nil {
				c.loc = loc
			}
			break
		}
		calName = def.Parent
	}
	r.mu.Lock()
	r.graphs[k] = c
	r.mu.Unlock()
	return c, nil
}

// generation returns an active generation from the cache or the store.
func (r *Runner) generation(ctx context.Context, id string) (store.Generation, error) {
	r.mu.Lock()
	g, ok := r.gens[id]
	r.mu.Unlock()
	if ok {
		return g, nil
	}
	g, err := r.p.Store.Generation(ctx, id)
	if err != nil {
		return g, err
	}
	r.mu.Lock()
	r.gens[id] = g
	r.mu.Unlock()
	return g, nil
}

func (r *Runner) forget(id string) {
	r.mu.Lock()
	delete(r.gens, id)
	r.mu.Unlock()
	delete(r.evals, id)
}

// startDue starts the generations whose start time came.
func (r *Runner) startDue(ctx context.Context, now time.Time) (int, error) {
	due, err := r.p.Store.StartableGenerations(ctx, now, r.p.CatchUpGrace, DueBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, g := range due {
		c, err := r.version(ctx, g)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := r.p.Store.StartGenerationWith(ctx, g.ID, now, c.def, c.graph); err != nil {
			if !store.IsConflict(err) {
				errs = append(errs, err)
			}
			continue
		}
		r.forget(g.ID)
		r.markDirty(g.ID)
		n++
	}
	return n, errors.Join(errs...)
}

// sweep marks every active generation for evaluation: operators' changes
// (release, rerun, mark) and delay deadlines are picked up at least once per
// poll interval.
func (r *Runner) sweep(ctx context.Context, now time.Time) error {
	if _, err := r.p.Store.MarkSeenInTime(ctx, now, r.p.CatchUpGrace); err != nil {
		return err
	}
	gs, err := r.p.Store.ActiveGenerations(ctx)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	clear(r.gens)
	for _, g := range gs {
		r.gens[g.ID] = g
		r.dirty[g.ID] = true
	}
	return nil
}

func (r *Runner) runURL(genID string) string {
	if r.p.BaseURL == "" {
		return ""
	}
	return r.p.BaseURL + "/runs/" + genID
}

// event fills the facts every event of a generation carries.
func (r *Runner) event(g store.Generation, kind alert.EventKind, sev alert.Severity) alert.Event {
	return alert.Event{Kind: kind, Severity: sev, At: r.p.Now(), Folder: g.Folder, Jobnet: strings.TrimPrefix(g.Jobnet, g.Folder+"/"), RunID: g.ID,
		BusinessDate: g.BusinessDate.String(), URL: r.runURL(g.ID)}
}

// vars returns the variables of one unit attempt.
func (r *Runner) vars(g store.Generation, c *compiled, path string, attempt int) map[string]string {
	params := maps.Clone(c.def.Params)
	if params == nil {
		params = map[string]string{}
	}
	maps.Copy(params, g.Params)
	return jobrun.Variables(jobrun.GenVars{BusinessDate: g.BusinessDate, Jobnet: g.Jobnet, Job: path, RunID: g.ID, Attempt: attempt, Params: params})
}

// attach takes up what this node left in an earlier life, before its first
// pass. A runner that is the only process on its database (an exclusively
// locked SQLite file) adopts every starting and running unit at once, since
// whoever claimed them was an earlier life of this process, and releases
// every queued unit's claim; otherwise it releases the claims its own node
// name holds on queued units, and adopts the units of other nodes only when
// their claims expire (ActiveUnits), except nodes of its own machine and
// PID namespace whose process is gone, which it adopts at once (node.go).
// Its own starting and running units it watches at once in either case.
func (r *Runner) attach(ctx context.Context, now time.Time) error {
	if r.p.Store.Exclusive() {
		return r.p.Store.AdoptAll(ctx, r.p.Node, r.p.HostID, now.Add(r.p.ClaimLease))
	}
	if space := processSpace(); space != "" {
		// Nodes of this space whose process is gone are adopted at once
		// (see node.go).
		nodes, err := r.p.Store.RunnerNodes(ctx, space)
		if err != nil {
			return err
		}
		starts := make(map[int]uint64, len(nodes))
		for _, n := range nodes {
			starts[n.PID] = procStart(n.PID)
		}
		if err := r.p.Store.AdoptFrom(ctx, deadNodes(nodes, r.p.Node, starts), r.p.Node, r.p.HostID, now.Add(r.p.ClaimLease)); err != nil {
			return err
		}
		if err := r.p.Store.RegisterNode(ctx, store.RunnerNode{Node: r.p.Node, Space: space, PID: os.Getpid(), Start: procStart(os.Getpid())}); err != nil {
			return err
		}
	}
	return r.p.Store.ReleaseClaims(ctx, r.p.Node)
}
