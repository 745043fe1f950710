package runner_test

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// gateExec is an executor double whose executions run until the test ends
// them (finish), like a job on a backend that outlives the runner. It keeps
// its executions across runners (like the local executor's state dir), is
// idempotent by key like every executor, and notifies its subscribers when
// an execution ends (dispatch.Notifier) unless quiet. A held Start blocks
// until release or its context ends, like a hung backend call.
type gateExec struct {
	typ   jobnet.JobType
	quiet bool
	// endAtOnce ends every execution with code 0 inside Start, notified
	// before Start returns (a job that ends at once); tell puts the
	// status in the notifications.
	endAtOnce, tell bool
	// onStatus, when set, is called with each handle Status is asked about.
	onStatus func(id string)

	mu      sync.Mutex
	runs    map[string]*gateRun // by key
	byUnit  map[string]string   // unit path → latest key
	starts  map[string]int      // Start calls per key
	subs    []func(string, *dispatch.Status)
	hold    chan struct{} // non-nil: Start blocks until closed
	holding chan string   // receives the key of each held Start
}

type gateRun struct {
	started time.Time
	ended   time.Time
	code    int
}

var (
	_ dispatch.Executor = (*gateExec)(nil)
	_ dispatch.Notifier = (*gateExec)(nil)
)

func newGate(typ jobnet.JobType) *gateExec {
	return &gateExec{typ: typ, runs: map[string]*gateRun{}, byUnit: map[string]string{}, starts: map[string]int{}, holding: make(chan string, 64)}
}

func (g *gateExec) Type() jobnet.JobType { return g.typ }

func (g *gateExec) Subscribe(fn func(string, *dispatch.Status)) {
	g.mu.Lock()
	g.subs = append(g.subs, fn)
	g.mu.Unlock()
}

// holdStarts makes every Start block until the returned func is called.
func (g *gateExec) holdStarts() (release func()) {
	ch := make(chan struct{})
	g.mu.Lock()
	g.hold = ch
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			g.hold = nil
			g.mu.Unlock()
			close(ch)
		})
	}
}

func (g *gateExec) Start(ctx context.Context, req dispatch.Request) (dispatch.Handle, error) {
	g.mu.Lock()
	g.starts[req.Key]++
	g.byUnit[req.Unit] = req.Key
	hold := g.hold
	g.mu.Unlock()
	if hold != nil {
		g.holding <- req.Key
		select {
		case <-hold:
		case <-ctx.Done():
			return dispatch.Handle{}, ctx.Err()
		}
	}
	g.mu.Lock()
	if _, ok := g.runs[req.Key]; !ok {
		g.runs[req.Key] = &gateRun{started: time.Now()}
	}
	atOnce := g.endAtOnce
	g.mu.Unlock()
	if atOnce {
		g.finishKey(req.Key, 0)
	}
	return dispatch.Handle{Executor: string(g.typ), ID: req.Key}, nil
}

func (g *gateExec) Status(ctx context.Context, h dispatch.Handle) (dispatch.Status, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.onStatus != nil {
		g.onStatus(h.ID)
	}
	r, ok := g.runs[h.ID]
	if !ok {
		return dispatch.Status{}, fmt.Errorf("gate: %q: %w", h.ID, dispatch.ErrUnknownHandle)
	}
	if r.ended.IsZero() {
		return dispatch.Status{State: dispatch.StateRunning, StartedAt: r.started}, nil
	}
	code := r.code
	return dispatch.Status{State: dispatch.StateExited, ExitCode: &code, StartedAt: r.started, EndedAt: r.ended}, nil
}

func (g *gateExec) Logs(ctx context.Context, h dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	return dispatch.LogChunk{Next: cursor}, nil
}

func (g *gateExec) Cancel(ctx context.Context, h dispatch.Handle, grace time.Duration) error {
	g.finishKey(h.ID, 143)
	return nil
}

// finish ends the running execution of a unit with code and returns the
// end time it recorded; false if the unit has no running execution.
func (g *gateExec) finish(unit string, code int) (time.Time, bool) {
	g.mu.Lock()
	key := g.byUnit[unit]
	g.mu.Unlock()
	return g.finishKey(key, code)
}

func (g *gateExec) finishKey(key string, code int) (time.Time, bool) {
	g.mu.Lock()
	r, ok := g.runs[key]
	if !ok || !r.ended.IsZero() {
		g.mu.Unlock()
		return time.Time{}, false
	}
	r.ended, r.code = time.Now().Truncate(time.Millisecond), code
	at := r.ended
	subs := append([]func(string, *dispatch.Status){}, g.subs...)
	quiet := g.quiet
	var st *dispatch.Status
	if g.tell {
		st = &dispatch.Status{State: dispatch.StateExited, ExitCode: &code, StartedAt: r.started, EndedAt: r.ended}
	}
	g.mu.Unlock()
	if !quiet {
		for _, fn := range subs {
			fn(key, st)
		}
	}
	return at, true
}

// running reports whether a unit has an execution that has not ended.
func (g *gateExec) running(unit string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.runs[g.byUnit[unit]]
	return ok && r.ended.IsZero()
}

// startCalls returns how often Start was called for the unit's latest key.
func (g *gateExec) startCalls(unit string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.starts[g.byUnit[unit]]
}

// executions returns how many distinct executions were started.
func (g *gateExec) executions() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.runs)
}
