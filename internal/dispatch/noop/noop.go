// Package noop is an executor whose jobs end at once with exit code 0. It
// exists for benchmarks and dry runs of the runner: it measures everything
// around dispatch without starting anything.
//
// Start records the key (idempotent: a key seen before returns the same
// handle and does not count a second execution); Status of a recorded key is
// exited with code 0; Logs are empty; Cancel is a no-op because every job
// has already ended. State is in memory and belongs to one instance: a
// handle from another instance, or from before a restart, is unknown.
package noop

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// Executor runs noop jobs in memory. It is safe for concurrent use.
type Executor struct {
	now func() time.Time

	mu      sync.Mutex
	started map[string]time.Time
}

// New returns an executor; now is the clock (time.Now if nil).
func New(now func() time.Time) *Executor {
	if now == nil {
		now = time.Now
	}
	return &Executor{now: now, started: make(map[string]time.Time)}
}

var _ dispatch.Executor = (*Executor)(nil)

// Type returns jobnet.JobNoop.
func (e *Executor) Type() jobnet.JobType { return jobnet.JobNoop }

// Start records the key and returns its handle.
func (e *Executor) Start(ctx context.Context, req dispatch.Request) (dispatch.Handle, error) {
	if err := dispatch.CheckKey(req.Key); err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: fmt.Errorf("start noop job %q: %w", req.Unit, err)}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.started[req.Key]; !ok {
		e.started[req.Key] = e.now()
	}
	return dispatch.Handle{Executor: string(jobnet.JobNoop), ID: req.Key}, nil
}

func (e *Executor) lookup(h dispatch.Handle) (time.Time, error) {
	if h.Executor != string(jobnet.JobNoop) {
		return time.Time{}, fmt.Errorf("noop: handle of executor %q: %w", h.Executor, dispatch.ErrUnknownHandle)
	}
	e.mu.Lock()
	at, ok := e.started[h.ID]
	e.mu.Unlock()
	if !ok {
		return time.Time{}, fmt.Errorf("noop: key %q: %w", h.ID, dispatch.ErrUnknownHandle)
	}
	return at, nil
}

// Status reports a started job as exited with code 0.
func (e *Executor) Status(ctx context.Context, h dispatch.Handle) (dispatch.Status, error) {
	at, err := e.lookup(h)
	if err != nil {
		return dispatch.Status{}, err
	}
	code := 0
	return dispatch.Status{State: dispatch.StateExited, ExitCode: &code, StartedAt: at, EndedAt: at}, nil
}

// Logs returns an empty log; the only valid cursors are "" and "0".
func (e *Executor) Logs(ctx context.Context, h dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	if _, err := e.lookup(h); err != nil {
		return dispatch.LogChunk{}, err
	}
	if cursor != "" {
		if n, err := strconv.Atoi(cursor); err != nil || n != 0 {
			return dispatch.LogChunk{}, fmt.Errorf("noop: log cursor %q: %w", cursor, fault.ErrInvalid)
		}
	}
	return dispatch.LogChunk{Next: "0"}, nil
}

// Cancel does nothing: every noop job has already ended.
func (e *Executor) Cancel(ctx context.Context, h dispatch.Handle, grace time.Duration) error {
	_, err := e.lookup(h)
	return err
}

// Executions reports how many distinct keys were started.
func (e *Executor) Executions() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.started)
}
