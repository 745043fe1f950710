package web_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/runner"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// shellExec runs local jobs with /bin/sh -c inside the test process (no
// supervisor): real commands, real exit codes and output, kill by signal.
type shellExec struct {
	mu   sync.Mutex
	runs map[string]*shellRun
}

type shellRun struct {
	mu      sync.Mutex
	cmd     *exec.Cmd
	out     bytes.Buffer
	done    bool
	code    int
	started time.Time
	ended   time.Time
	killed  bool
}

func (r *shellRun) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.out.Write(p)
}

func newShellExec() *shellExec { return &shellExec{runs: map[string]*shellRun{}} }

func (e *shellExec) Type() jobnet.JobType { return jobnet.JobLocal }

func (e *shellExec) Start(_ context.Context, req dispatch.Request) (dispatch.Handle, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	h := dispatch.Handle{Executor: string(jobnet.JobLocal), ID: req.Key}
	if _, ok := e.runs[req.Key]; ok {
		return h, nil
	}
	if req.Job.Local == nil {
		return h, &dispatch.Permanent{Err: fmt.Errorf("no local spec")}
	}
	r := &shellRun{started: time.Now()}
	r.cmd = exec.Command("/bin/sh", "-c", req.Job.Local.Command)
	for k, v := range req.Env {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	r.cmd.Env = append(r.cmd.Env, "PATH=/usr/bin:/bin")
	r.cmd.Stdout, r.cmd.Stderr = r, r
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return h, &dispatch.Permanent{Err: err}
	}
	e.runs[req.Key] = r
	go func() {
		err := r.cmd.Wait()
		r.mu.Lock()
		defer r.mu.Unlock()
		r.done, r.ended = true, time.Now()
		r.code = r.cmd.ProcessState.ExitCode()
		if err != nil && r.code == -1 {
			r.code = 137
		}
	}()
	return h, nil
}

func (e *shellExec) run(h dispatch.Handle) (*shellRun, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.runs[h.ID]
	if !ok {
		return nil, fmt.Errorf("handle %q: %w", h.ID, dispatch.ErrUnknownHandle)
	}
	return r, nil
}

func (e *shellExec) Status(_ context.Context, h dispatch.Handle) (dispatch.Status, error) {
	r, err := e.run(h)
	if err != nil {
		return dispatch.Status{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.done {
		return dispatch.Status{State: dispatch.StateRunning, StartedAt: r.started}, nil
	}
	code := r.code
	st := dispatch.Status{State: dispatch.StateExited, ExitCode: &code, StartedAt: r.started, EndedAt: r.ended}
	if r.killed {
		st.State = dispatch.StateCancelled
	}
	return st, nil
}

func (e *shellExec) Logs(_ context.Context, h dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	r, err := e.run(h)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	off := 0
	if cursor != "" {
		if off, err = strconv.Atoi(cursor); err != nil {
			return dispatch.LogChunk{}, fmt.Errorf("cursor %q: %w", cursor, err)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	b := r.out.Bytes()
	if off > len(b) {
		off = len(b)
	}
	end := len(b)
	if limit > 0 && off+limit < end {
		end = off + limit
	}
	data := append([]byte(nil), b[off:end]...)
	return dispatch.LogChunk{Data: data, Next: strconv.Itoa(end), More: end < len(b)}, nil
}

func (e *shellExec) Cancel(_ context.Context, h dispatch.Handle, _ time.Duration) error {
	r, err := e.run(h)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.done {
		return nil
	}
	r.killed = true
	return syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
}

// newOpsRunner builds a real runner over st with the shell executor.
func newOpsRunner(t testing.TB, st *store.Store, ex *shellExec) *runner.Runner {
	t.Helper()
	r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobLocal: ex}, Node: "test",
		PollInterval: 50 * time.Millisecond, KillGrace: time.Second, ClaimLease: time.Minute})
	require.NoError(t, err)
	return r
}

// settle runs runner passes until cond holds (real processes run between passes).
func settle(t testing.TB, r *runner.Runner, cond func() bool) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		_, err := r.Pass(ctx)
		require.NoError(t, err)
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("runner did not reach the expected state in 20s")
}
