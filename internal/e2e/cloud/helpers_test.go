package cloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/runner"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// examples is the repository's examples directory, seen from this package.
var examples = filepath.Join("..", "..", "..", "examples")

var admin = ops.Actor{Username: "e2e", Role: store.RoleAdmin}

// endTimeout bounds the wait for one generation's end.
const endTimeout = 30 * time.Second

// load reads the named files and directories under examples/ into one bundle.
func load(t *testing.T, paths ...string) *jobnet.Bundle {
	t.Helper()
	b := &jobnet.Bundle{}
	for _, p := range paths {
		part, err := jobnet.LoadPath(filepath.Join(examples, p))
		require.NoError(t, err, "load examples/%s", p)
		b.Add(part)
	}
	return b
}

func apply(t *testing.T, svc *ops.Service, b *jobnet.Bundle) {
	t.Helper()
	_, err := svc.Apply(context.Background(), admin, b, false)
	require.NoError(t, err, "apply the examples")
}

// findJob returns the job of unit name in jobnet name of b.
func findJob(t *testing.T, b *jobnet.Bundle, net, unit string) *jobnet.Job {
	t.Helper()
	for i := range b.Jobnets {
		if b.Jobnets[i].Name != net {
			continue
		}
		for j := range b.Jobnets[i].Units {
			if u := &b.Jobnets[i].Units[j]; u.Name == unit {
				require.NotNil(t, u.Job, "unit %s/%s is a job", net, unit)
				return u.Job
			}
		}
	}
	require.FailNowf(t, "no such unit", "%s/%s", net, unit)
	return nil
}

// engine is one runner running in a goroutine.
type engine struct {
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

func startRunner(t *testing.T, st *store.Store, reg dispatch.Registry) *engine {
	t.Helper()
	r, err := runner.New(runner.Params{
		Store:        st,
		Executors:    reg,
		Node:         "e2e-cloud",
		PollInterval: 50 * time.Millisecond,
		KillGrace:    200 * time.Millisecond,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	e := &engine{cancel: cancel, done: make(chan error, 1)}
	go func() { e.done <- r.Run(ctx) }()
	t.Cleanup(func() { e.stop(t) })
	return e
}

// stop cancels the runner and waits for Run to return.
func (e *engine) stop(t *testing.T) {
	e.once.Do(func() {
		e.cancel()
		select {
		case err := <-e.done:
			if err != nil && !errors.Is(err, context.Canceled) {
				t.Errorf("runner: %v", err)
			}
		case <-time.After(endTimeout):
			t.Errorf("runner did not stop within %s", endTimeout)
		}
	})
}

func runNow(t *testing.T, svc *ops.Service, net string) string {
	t.Helper()
	g, err := svc.RunNow(context.Background(), admin, ops.RunNowRequest{Jobnet: net})
	require.NoError(t, err, "run %s now", net)
	return g.ID
}

func unitStates(st *store.Store, id string) map[string]jobrun.JobState {
	us, _ := st.UnitRuns(context.Background(), id)
	out := map[string]jobrun.JobState{}
	for _, u := range us {
		out[u.Path] = u.State
	}
	return out
}

// waitUnit polls the store until pred holds for the unit at path.
func waitUnit(t *testing.T, st *store.Store, id, path string, what string, pred func(store.UnitRun) bool) store.UnitRun {
	t.Helper()
	deadline := time.Now().Add(endTimeout)
	for {
		us, err := st.UnitRuns(context.Background(), id)
		require.NoError(t, err)
		for _, u := range us {
			if u.Path == path && pred(u) {
				return u
			}
		}
		if time.Now().After(deadline) {
			require.FailNowf(t, "timed out", "unit %s of %s not %s within %s: units %v", path, id, what, endTimeout, unitStates(st, id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEnd polls the store until the generation has ended.
func waitEnd(t *testing.T, st *store.Store, id string) store.Generation {
	t.Helper()
	deadline := time.Now().Add(endTimeout)
	for {
		g, err := st.Generation(context.Background(), id)
		require.NoError(t, err)
		if g.State.IsTerminal() {
			return g
		}
		if time.Now().After(deadline) {
			require.FailNowf(t, "timed out", "generation %s did not end within %s: %s, units %v", id, endTimeout, g.State, unitStates(st, id))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func requireUnits(t *testing.T, st *store.Store, id string, want map[string]jobrun.JobState) {
	t.Helper()
	got := unitStates(st, id)
	for path, s := range want {
		require.Equal(t, s, got[path], "unit %s of %s (all: %v)", path, id, got)
	}
}

// crashingExecutor lets Start reach the backend and then cancels the
// runner before it can record the handle, as if the process died between
// the call and the write. Only the first Start crashes.
type crashingExecutor struct {
	dispatch.Executor
	crash   func()
	mu      sync.Mutex
	crashed bool
	started chan string // the key of the start that crashed
}

func newCrashing(ex dispatch.Executor, crash func()) *crashingExecutor {
	return &crashingExecutor{Executor: ex, crash: crash, started: make(chan string, 1)}
}

func (c *crashingExecutor) Start(ctx context.Context, req dispatch.Request) (dispatch.Handle, error) {
	c.mu.Lock()
	first := !c.crashed
	c.crashed = true
	c.mu.Unlock()
	h, err := c.Executor.Start(ctx, req)
	if !first {
		return h, err
	}
	if err != nil {
		return h, err
	}
	c.started <- req.Key
	c.crash()
	return dispatch.Handle{}, fmt.Errorf("process died after starting %s: %w", req.Key, ctx.Err())
}
