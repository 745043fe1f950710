package connect

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// RefreshDefault is how often a Live executor looks for changed connections.
const RefreshDefault = 5 * time.Second

// Snapshot is the stored connections of one kind and a fingerprint that
// changes whenever any of them is created, changed or deleted.
type Snapshot struct {
	Connections []jobnet.Connection
	Fingerprint string
}

// LiveParams configures a Live executor.
type LiveParams struct {
	Type jobnet.JobType
	// Load reads the current connections.
	Load func(ctx context.Context) (Snapshot, error)
	// Build makes the executor of a set of connections; it returns an
	// executor that rejects starts with the reason when none is usable.
	Build func(conns []jobnet.Connection) dispatch.Executor
	// Refresh is the most time that passes before a change is seen
	// (RefreshDefault when zero).
	Refresh time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Batch makes the Live executor a dispatch.BatchStatuser (for executors
	// that are one, like ecs).
	Batch bool
}

// Live is an executor rebuilt from the stored connections whenever they
// change, so that a connection edited in the GUI or by apply takes effect
// without a restart. Handles name their connection and stay valid across
// rebuilds. When the connections cannot be read, the last executor goes on
// serving.
type Live struct {
	p LiveParams

	mu      sync.Mutex
	cur     dispatch.Executor
	fp      string
	checked time.Time
}

// liveBatch is a Live executor that reports statuses in batches.
type liveBatch struct{ *Live }

var (
	_ dispatch.Executor      = (*Live)(nil)
	_ dispatch.LineTailer    = (*Live)(nil)
	_ dispatch.BatchStatuser = liveBatch{}
)

// NewLive returns a Live executor (a dispatch.BatchStatuser too when
// p.Batch); it reads the connections on first use.
func NewLive(p LiveParams) dispatch.Executor {
	if p.Refresh <= 0 {
		p.Refresh = RefreshDefault
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	l := &Live{p: p}
	if p.Batch {
		return liveBatch{l}
	}
	return l
}

// current returns the executor for the connections as stored now (at most
// Refresh old).
func (l *Live) current(ctx context.Context) (dispatch.Executor, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.p.Now()
	if l.cur != nil && now.Sub(l.checked) < l.p.Refresh {
		return l.cur, nil
	}
	snap, err := l.p.Load(ctx)
	if err != nil {
		if l.cur != nil {
			return l.cur, nil
		}
		return nil, fmt.Errorf("%s executor: read connections: %w", l.p.Type, err)
	}
	l.checked = now
	if l.cur != nil && snap.Fingerprint == l.fp {
		return l.cur, nil
	}
	old := l.cur
	l.cur, l.fp = l.p.Build(snap.Connections), snap.Fingerprint
	if c, ok := old.(interface{ Close() error }); ok {
		_ = c.Close()
	}
	return l.cur, nil
}

// Type is the job type the executor serves.
func (l *Live) Type() jobnet.JobType { return l.p.Type }

// Start starts req on the executor of the current connections.
func (l *Live) Start(ctx context.Context, req dispatch.Request) (dispatch.Handle, error) {
	ex, err := l.current(ctx)
	if err != nil {
		return dispatch.Handle{}, err
	}
	return ex.Start(ctx, req)
}

// Status reports an execution's state.
func (l *Live) Status(ctx context.Context, h dispatch.Handle) (dispatch.Status, error) {
	ex, err := l.current(ctx)
	if err != nil {
		return dispatch.Status{}, err
	}
	return ex.Status(ctx, h)
}

// Statuses reports many executions, in one batch when the executor can.
func (l liveBatch) Statuses(ctx context.Context, hs []dispatch.Handle) ([]dispatch.Status, error) {
	ex, err := l.current(ctx)
	if err != nil {
		return nil, err
	}
	if bs, ok := ex.(dispatch.BatchStatuser); ok {
		return bs.Statuses(ctx, hs)
	}
	out := make([]dispatch.Status, len(hs))
	var errs []error
	for i, h := range hs {
		st, err := ex.Status(ctx, h)
		if errors.Is(err, dispatch.ErrUnknownHandle) {
			st, err = dispatch.Status{State: dispatch.StateLost, Reason: err.Error()}, nil
		}
		out[i] = st
		errs = append(errs, err)
	}
	return out, errors.Join(errs...)
}

// Logs reads an execution's log.
func (l *Live) Logs(ctx context.Context, h dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	ex, err := l.current(ctx)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	return ex.Logs(ctx, h, cursor, limit)
}

// TailLines reads the end of an execution's log, directly when the executor
// can (dispatch.LineTailer), else from the whole log.
func (l *Live) TailLines(ctx context.Context, h dispatch.Handle, lines int) ([]string, error) {
	ex, err := l.current(ctx)
	if err != nil {
		return nil, err
	}
	if t, ok := ex.(dispatch.LineTailer); ok {
		return t.TailLines(ctx, h, lines)
	}
	return nil, fmt.Errorf("%s executor: %w", l.p.Type, dispatch.ErrNoLogTail)
}

// Cancel stops an execution.
func (l *Live) Cancel(ctx context.Context, h dispatch.Handle, grace time.Duration) error {
	ex, err := l.current(ctx)
	if err != nil {
		return err
	}
	return ex.Cancel(ctx, h, grace)
}

// Close closes the current executor when it holds resources (informers).
func (l *Live) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c, ok := l.cur.(interface{ Close() error }); ok {
		return c.Close()
	}
	return nil
}
