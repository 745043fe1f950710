package local

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// Defaults.
const (
	// KillGraceDefault is the time between SIGTERM and SIGKILL when Cancel
	// is given no grace, or when the supervisor itself is asked to stop.
	KillGraceDefault = 10 * time.Second
	// StartTimeoutDefault bounds how long Start waits for the supervisor to
	// report that the job runs.
	StartTimeoutDefault = 30 * time.Second
	// LogLimitDefault is the most Logs returns when given no limit.
	LogLimitDefault = 64 << 10
	// LogLimitMax is the most Logs returns in one chunk.
	LogLimitMax = 4 << 20
)

// Config configures the local executor.
type Config struct {
	// StateDir holds one directory per execution (see the package doc). It
	// must survive a server restart.
	StateDir string
	// SupervisorCmd is the command line that runs SupervisorMain, e.g.
	// ["/usr/local/bin/koyomi", "supervise"]. The supervisor's own flags
	// and the execution's directory are appended.
	SupervisorCmd []string
	// KillGrace is used when Cancel is given no grace (KillGraceDefault if 0).
	KillGrace time.Duration
	// StartTimeout bounds Start's wait for the supervisor (StartTimeoutDefault if 0).
	StartTimeout time.Duration
	// Getenv reads the server's environment for the job's PATH and HOME
	// (os.Getenv if nil).
	Getenv func(string) string
}

// Executor runs jobs as local processes under a supervisor. It is safe for
// concurrent use, and several instances (or servers) may share a StateDir.
type Executor struct {
	cfg Config
}

// New checks cfg and creates the state directory.
func New(cfg Config) (*Executor, error) {
	if cfg.StateDir == "" {
		return nil, fmt.Errorf("local executor: state dir is empty: %w", fault.ErrInvalid)
	}
	if len(cfg.SupervisorCmd) == 0 || cfg.SupervisorCmd[0] == "" {
		return nil, fmt.Errorf("local executor: supervisor command is empty: %w", fault.ErrInvalid)
	}
	if cfg.KillGrace <= 0 {
		cfg.KillGrace = KillGraceDefault
	}
	if cfg.StartTimeout <= 0 {
		cfg.StartTimeout = StartTimeoutDefault
	}
	if cfg.Getenv == nil {
		cfg.Getenv = os.Getenv
	}
	abs, err := filepath.Abs(cfg.StateDir)
	if err != nil {
		return nil, fmt.Errorf("local executor: state dir %q: %w", cfg.StateDir, err)
	}
	cfg.StateDir = abs
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("local executor: create state dir: %w", err)
	}
	cfg.SupervisorCmd = append([]string(nil), cfg.SupervisorCmd...)
	return &Executor{cfg: cfg}, nil
}

var _ dispatch.Executor = (*Executor)(nil)

// Type returns jobnet.JobLocal.
func (e *Executor) Type() jobnet.JobType { return jobnet.JobLocal }

// StateDir returns the absolute state directory.
func (e *Executor) StateDir() string { return e.cfg.StateDir }

func (e *Executor) handle(key string) dispatch.Handle {
	return dispatch.Handle{Executor: string(jobnet.JobLocal), ID: key}
}

// dirOf returns the execution directory of a handle; an error unwraps to
// dispatch.ErrUnknownHandle.
func (e *Executor) dirOf(h dispatch.Handle) (string, error) {
	if h.Executor != string(jobnet.JobLocal) {
		return "", fmt.Errorf("local: handle of executor %q: %w", h.Executor, dispatch.ErrUnknownHandle)
	}
	if err := dispatch.CheckKey(h.ID); err != nil {
		return "", fmt.Errorf("local: handle id: %v: %w", err, dispatch.ErrUnknownHandle)
	}
	dir := filepath.Join(e.cfg.StateDir, h.ID)
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) || (err == nil && !fi.IsDir()) {
		return "", fmt.Errorf("local: no execution %q in %s: %w", h.ID, e.cfg.StateDir, dispatch.ErrUnknownHandle)
	}
	if err != nil {
		return "", fmt.Errorf("local: execution %q: %w", h.ID, err)
	}
	return dir, nil
}

// jobEnv is the job's environment: PATH and HOME from the server, then the
// request's variables (which win), sorted for a stable request file.
func (e *Executor) jobEnv(req dispatch.Request) []string {
	env := map[string]string{}
	for _, k := range []string{"PATH", "HOME"} {
		if v := e.cfg.Getenv(k); v != "" {
			env[k] = v
		}
	}
	for k, v := range req.Env {
		env[k] = v
	}
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// Start starts the job under a new supervisor, or returns the handle of the
// execution already started with req.Key. It returns once the job runs or
// is recorded as failed to start.
func (e *Executor) Start(ctx context.Context, req dispatch.Request) (dispatch.Handle, error) {
	if err := dispatch.CheckKey(req.Key); err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: fmt.Errorf("start local job %q: %w", req.Unit, err)}
	}
	if req.Job.Local == nil || strings.TrimSpace(req.Job.Local.Command) == "" {
		return dispatch.Handle{}, &dispatch.Permanent{Err: fmt.Errorf("start local job %q: no command: %w", req.Unit, fault.ErrInvalid)}
	}
	for k := range req.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return dispatch.Handle{}, &dispatch.Permanent{Err: fmt.Errorf("start local job %q: env name %q: %w", req.Unit, k, fault.ErrInvalid)}
		}
	}
	dir := filepath.Join(e.cfg.StateDir, req.Key)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return dispatch.Handle{}, fmt.Errorf("start local job %q: %w", req.Unit, err)
	}
	lock, err := e.lockStart(ctx, dir)
	if err != nil {
		return dispatch.Handle{}, fmt.Errorf("start local job %q: %w", req.Unit, err)
	}
	defer lock.unlock()
	// Under the start lock: a supervisor that got as far as recording
	// itself (or an outcome) owns the execution.
	if exists(dir, fileSupervisor) || exists(dir, fileExit) {
		return e.handle(req.Key), nil
	}
	sp := spec{Command: req.Job.Local.Command, WorkDir: req.Job.Local.WorkDir, Env: e.jobEnv(req)}
	if err := writeJSON(dir, fileRequest, sp); err != nil {
		return dispatch.Handle{}, fmt.Errorf("start local job %q: %w", req.Unit, err)
	}
	if err := e.spawn(ctx, dir); err != nil {
		return dispatch.Handle{}, fmt.Errorf("start local job %q: %w", req.Unit, err)
	}
	return e.handle(req.Key), nil
}

// lockStart takes the start lock, waiting for a concurrent Start.
func (e *Executor) lockStart(ctx context.Context, dir string) (*flockFile, error) {
	for {
		l, held, err := tryLock(dir, fileStartLock, syscall.LOCK_EX)
		if err != nil || !held {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait for a concurrent start: %w", ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// spawn starts a detached supervisor for dir and waits for its report.
func (e *Executor) spawn(ctx context.Context, dir string) error {
	supLog, err := os.OpenFile(filepath.Join(dir, fileSupLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("open supervisor log: %w", err)
	}
	defer supLog.Close()
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("supervisor pipe: %w", err)
	}
	defer pr.Close()
	args := append(append([]string(nil), e.cfg.SupervisorCmd[1:]...),
		"-ready-fd", "3", "-grace", e.cfg.KillGrace.String(), dir)
	cmd := exec.Command(e.cfg.SupervisorCmd[0], args...)
	cmd.Dir = dir
	cmd.Stdout = supLog
	cmd.Stderr = supLog
	cmd.ExtraFiles = []*os.File{pw}
	// A session of its own: no controlling terminal, and no signal meant
	// for the server's process group (Ctrl-C, a service manager stopping
	// the server) reaches it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		pw.Close()
		return fmt.Errorf("start supervisor %q: %w", e.cfg.SupervisorCmd[0], err)
	}
	pw.Close()
	// The server reaps its direct child; after a server restart the
	// supervisor is re-parented to init, which reaps it.
	go func() { _ = cmd.Wait() }()

	deadline := time.Now().Add(e.cfg.StartTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	wait := time.Until(deadline)
	_ = pr.SetReadDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = pr.SetReadDeadline(time.Now()) })
	defer stop()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil && line == "" {
		if errors.Is(err, io.EOF) {
			return fmt.Errorf("supervisor ended before it reported (see %s): %w", filepath.Join(dir, fileSupLog), errRetry)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			// It may still come up; the next Start or Status will see.
			if ctx.Err() != nil {
				return fmt.Errorf("wait for the supervisor: %w", ctx.Err())
			}
			return fmt.Errorf("supervisor did not report within %v: %w", wait.Round(time.Millisecond), errRetry)
		}
		return fmt.Errorf("read supervisor report: %w", err)
	}
	return nil
}

// errRetry marks a start that may succeed when tried again.
var errRetry = retryable{}

type retryable struct{}

func (retryable) Error() string   { return "retryable" }
func (retryable) Retryable() bool { return true }

// Status reports the execution's state from its state directory.
func (e *Executor) Status(ctx context.Context, h dispatch.Handle) (dispatch.Status, error) {
	dir, err := e.dirOf(h)
	if err != nil {
		return dispatch.Status{}, err
	}
	if st, ok, err := readExit(dir); ok || err != nil {
		return st, err
	}
	if !exists(dir, fileSupervisor) {
		// Start holds the start lock until the supervisor reports.
		l, held, err := tryLock(dir, fileStartLock, syscall.LOCK_SH)
		if err != nil {
			return dispatch.Status{}, fmt.Errorf("local: status of %q: %w", h.ID, err)
		}
		l.unlock()
		if held {
			return dispatch.Status{State: dispatch.StatePending, Reason: "starting"}, nil
		}
		if st, ok, err := readExit(dir); ok || err != nil {
			return st, err
		}
		if exists(dir, fileSupervisor) {
			return e.Status(ctx, h)
		}
		return dispatch.Status{State: dispatch.StateLost, Reason: "the supervisor never started"}, nil
	}
	alive, err := supervisorAlive(dir)
	if err != nil {
		return dispatch.Status{}, fmt.Errorf("local: status of %q: %w", h.ID, err)
	}
	var job jobRecord
	hasJob, err := readJSON(dir, fileJob, &job)
	if err != nil {
		return dispatch.Status{}, fmt.Errorf("local: status of %q: %w", h.ID, err)
	}
	if alive {
		if !hasJob {
			return dispatch.Status{State: dispatch.StatePending, Reason: "starting"}, nil
		}
		return dispatch.Status{State: dispatch.StateRunning, StartedAt: job.StartedAt}, nil
	}
	// The supervisor is gone; it writes the exit file before it ends.
	if st, ok, err := readExit(dir); ok || err != nil {
		return st, err
	}
	reason := "the supervisor ended without recording the job's exit"
	if hasJob && jobAlive(job) {
		reason += fmt.Sprintf("; the job (pid %d) still runs", job.PID)
	}
	return dispatch.Status{State: dispatch.StateLost, Reason: reason, StartedAt: job.StartedAt}, nil
}

func readExit(dir string) (dispatch.Status, bool, error) {
	var rec exitRecord
	ok, err := readJSON(dir, fileExit, &rec)
	if err != nil || !ok {
		return dispatch.Status{}, false, err
	}
	st := dispatch.Status{
		State:     dispatch.StateExited,
		ExitCode:  rec.Code,
		Reason:    rec.Reason,
		StartedAt: rec.StartedAt,
		EndedAt:   rec.EndedAt,
	}
	switch {
	case rec.FailedToStart:
		st.State = dispatch.StateFailedToStart
		st.ExitCode = nil
	case rec.Cancelled:
		st.State = dispatch.StateCancelled
	case rec.Code == nil:
		st.State = dispatch.StateLost
		st.Reason = "the exit record has no exit code"
	}
	return st, true, nil
}

// jobAlive reports whether the recorded job process still exists and is the
// same process (its start time matches), so that a reused pid is never
// taken for the job.
func jobAlive(job jobRecord) bool {
	if job.PID <= 0 || job.ProcStart == 0 {
		return false
	}
	state, start := procStat(job.PID)
	return start == job.ProcStart && state != 'Z' && state != 'X'
}

// Cancel asks the supervisor to stop the job: it records the cancel marker
// (which a supervisor that has not started the job yet obeys) and sends the
// supervisor SIGTERM; the supervisor sends the job's process group SIGTERM
// and, after grace, SIGKILL, so the escalation survives a server crash. An
// ended execution is left alone.
func (e *Executor) Cancel(ctx context.Context, h dispatch.Handle, grace time.Duration) error {
	dir, err := e.dirOf(h)
	if err != nil {
		return err
	}
	if exists(dir, fileExit) {
		return nil
	}
	if grace <= 0 {
		grace = e.cfg.KillGrace
	}
	if err := writeJSON(dir, fileCancel, cancelRecord{GraceMS: grace.Milliseconds(), At: time.Now().UTC()}); err != nil {
		return fmt.Errorf("local: cancel %q: %w", h.ID, err)
	}
	if !exists(dir, fileSupervisor) {
		return nil // a supervisor still to come reads the marker
	}
	alive, err := supervisorAlive(dir)
	if err != nil {
		return fmt.Errorf("local: cancel %q: %w", h.ID, err)
	}
	if alive {
		data, err := os.ReadFile(filepath.Join(dir, fileSupervisor))
		if err != nil {
			return fmt.Errorf("local: cancel %q: %w", h.ID, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			return fmt.Errorf("local: cancel %q: supervisor pid %q: %w", h.ID, data, fault.ErrInvalid)
		}
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("local: cancel %q: signal supervisor %d: %w", h.ID, pid, err)
		}
		return nil
	}
	// Lost: the supervisor is gone. Stop an orphaned job directly if it is
	// provably still the same process.
	var job jobRecord
	if ok, _ := readJSON(dir, fileJob, &job); ok && jobAlive(job) {
		_ = syscall.Kill(-job.PID, syscall.SIGTERM)
		go func() {
			time.Sleep(grace)
			if jobAlive(job) {
				_ = syscall.Kill(-job.PID, syscall.SIGKILL)
			}
		}()
	}
	return nil
}

// Logs reads the job's log from a byte offset cursor ("" is 0).
func (e *Executor) Logs(ctx context.Context, h dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	dir, err := e.dirOf(h)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	var off int64
	if cursor != "" {
		off, err = strconv.ParseInt(cursor, 10, 64)
		if err != nil || off < 0 {
			return dispatch.LogChunk{}, fmt.Errorf("local: log cursor %q is not a byte offset: %w", cursor, fault.ErrInvalid)
		}
	}
	if limit <= 0 {
		limit = LogLimitDefault
	}
	limit = min(limit, LogLimitMax)
	next := strconv.FormatInt(off, 10)
	f, err := os.Open(filepath.Join(dir, fileLog))
	if errors.Is(err, fs.ErrNotExist) {
		if off != 0 {
			return dispatch.LogChunk{}, fmt.Errorf("local: log cursor %d past the end of an empty log: %w", off, fault.ErrInvalid)
		}
		return dispatch.LogChunk{Next: next}, nil
	}
	if err != nil {
		return dispatch.LogChunk{}, fmt.Errorf("local: logs of %q: %w", h.ID, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return dispatch.LogChunk{}, fmt.Errorf("local: logs of %q: %w", h.ID, err)
	}
	size := fi.Size()
	if off > size {
		return dispatch.LogChunk{}, fmt.Errorf("local: log cursor %d past the end of the log (%d bytes): %w", off, size, fault.ErrInvalid)
	}
	n := min(int64(limit), size-off)
	buf := make([]byte, n)
	read, err := f.ReadAt(buf, off)
	if err != nil && !errors.Is(err, io.EOF) {
		return dispatch.LogChunk{}, fmt.Errorf("local: logs of %q: %w", h.ID, err)
	}
	end := off + int64(read)
	return dispatch.LogChunk{Data: buf[:read], Next: strconv.FormatInt(end, 10), More: end < size}, nil
}
