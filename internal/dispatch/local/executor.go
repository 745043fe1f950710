package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/logcap"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// Defaults.
const (
	// KillGraceDefault is the time between SIGTERM and SIGKILL when Cancel
	// is given no grace, when the supervisor itself is asked to stop, and
	// for the processes a job leaves behind.
	KillGraceDefault = 10 * time.Second
	// StartTimeoutDefault bounds how long Start waits for the supervisor
	// to come up and start the job.
	StartTimeoutDefault = 30 * time.Second
	// LogLimitDefault is the most Logs returns when given no limit.
	LogLimitDefault = 64 << 10
	// LogLimitMax is the most Logs returns in one chunk.
	LogLimitMax = 4 << 20
)

// Config configures the local executor.
type Config struct {
	// StateDir holds one directory per execution and the supervisor's
	// socket (see the package doc). It must survive a server restart.
	StateDir string
	// SupervisorCmd is the command line that runs SupervisorMain, e.g.
	// ["/usr/local/bin/koyomi", "supervise"]. The supervisor's own flags
	// and the state directory are appended.
	SupervisorCmd []string
	// KillGrace is used when Cancel is given no grace (KillGraceDefault if 0).
	KillGrace time.Duration
	// StartTimeout bounds Start's wait for the supervisor (StartTimeoutDefault if 0).
	StartTimeout time.Duration
	// LogMax caps the bytes kept of each job's log (0: no cap): the first
	// quarter and the end are kept, and readers see where it was cut.
	LogMax int64
	// Getenv reads the server's environment for the job's PATH and HOME
	// (os.Getenv if nil).
	Getenv func(string) string
}

// Executor runs jobs as local processes under the state directory's
// supervisor. It is safe for concurrent use, and several instances (or
// servers) may share a StateDir.
type Executor struct {
	cfg Config
	id  string // binaryID of the supervisor command

	connMu sync.Mutex // serialises connecting and spawning
	mu     sync.Mutex // guards what follows
	cl     *client
	subs   []func(string, *dispatch.Status)
	closed bool
}

// New checks cfg and creates the state directory.
func New(cfg Config) (*Executor, error) {
	if cfg.StateDir == "" {
		return nil, fmt.Errorf("local executor: state dir is empty: %w", fault.ErrInvalid)
	}
	if len(cfg.SupervisorCmd) == 0 || cfg.SupervisorCmd[0] == "" {
		return nil, fmt.Errorf("local executor: supervisor command is empty: %w", fault.ErrInvalid)
	}
	if cfg.LogMax < 0 {
		return nil, fmt.Errorf("local executor: log cap %d is negative: %w", cfg.LogMax, fault.ErrInvalid)
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
	bin := cfg.SupervisorCmd[0]
	if p, err := exec.LookPath(bin); err == nil {
		bin = p
	}
	return &Executor{cfg: cfg, id: binaryID(bin)}, nil
}

var (
	_ dispatch.Executor = (*Executor)(nil)
	_ dispatch.Notifier = (*Executor)(nil)
)

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
		return "", fmt.Errorf("local: no execution %q in %s (not started on this host, or removed after the --job-retention period): %w", h.ID, e.cfg.StateDir, dispatch.ErrUnknownHandle)
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

// Start hands the job to the supervisor, or returns the handle of the
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
	// One that started or ran before is not handed over again (the
	// supervisor would refuse to run it twice; this spares it the message).
	dir := filepath.Join(e.cfg.StateDir, req.Key)
	if _, err := os.Lstat(dir); err == nil {
		if rec, err := recorded(dir); err == nil && (rec.Supervisor != 0 || rec.Exit != nil) {
			return e.handle(req.Key), nil
		}
	}
	sp := &spec{Command: req.Job.Local.Command, WorkDir: req.Job.Local.WorkDir, Env: e.jobEnv(req),
		KeepChildren: req.Job.Local.KeepChildren, LogMax: e.cfg.LogMax}
	if err := e.startOn(ctx, req.Key, sp); err != nil {
		return dispatch.Handle{}, fmt.Errorf("start local job %q: %w", req.Unit, err)
	}
	return e.handle(req.Key), nil
}

// startOn asks the supervisor to start key, connecting (and starting the
// supervisor) as needed. A connection lost before the reply is retried:
// the supervisor starts a key once, however often it is asked.
func (e *Executor) startOn(ctx context.Context, key string, sp *spec) error {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.StartTimeout)
	defer cancel()
	var last error
	for attempt := 0; attempt < 4; attempt++ {
		if ctx.Err() != nil {
			break
		}
		cl, err := e.client(ctx, true)
		if err != nil {
			last = err
			continue
		}
		rep, err := cl.call(ctx, message{Op: opStart, Key: key, Spec: sp})
		if err != nil {
			last = err
			e.drop(cl)
			continue
		}
		if rep.Err != "" {
			if rep.Retry {
				last = errors.New(rep.Err)
				e.drop(cl)
				continue
			}
			return fmt.Errorf("supervisor: %s", rep.Err)
		}
		return nil
	}
	if ctx.Err() != nil && last == nil {
		last = ctx.Err()
	}
	return fmt.Errorf("%w (see %s): %w", last, filepath.Join(e.cfg.StateDir, fileSupDaemon), errRetry)
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
	for {
		st, err := status(dir, h.ID)
		if !errors.Is(err, errRecheck) {
			return st, err
		}
		if ctx.Err() != nil {
			return dispatch.Status{}, ctx.Err()
		}
	}
}

func status(dir, id string) (dispatch.Status, error) {
	rec, ok, err := readRun(dir)
	if err != nil {
		return dispatch.Status{}, fmt.Errorf("local: status of %q: %w", id, err)
	}
	if !ok {
		return legacyStatus(dir, id)
	}
	if rec.Exit != nil {
		return exitStatus(*rec.Exit), nil
	}
	held, err := dirLocked(dir)
	if err != nil {
		return dispatch.Status{}, fmt.Errorf("local: status of %q: %w", id, err)
	}
	if held {
		if rec.Job == nil {
			return dispatch.Status{State: dispatch.StatePending, Reason: "starting"}, nil
		}
		return dispatch.Status{State: dispatch.StateRunning, StartedAt: rec.Job.StartedAt}, nil
	}
	// The supervisor appends the outcome before it lets go of the lock.
	if rec, _, err = readRun(dir); err != nil {
		return dispatch.Status{}, fmt.Errorf("local: status of %q: %w", id, err)
	}
	if rec.Exit != nil {
		return exitStatus(*rec.Exit), nil
	}
	return lostStatus(rec.Job), nil
}

// lostStatus is the status of an execution whose supervisor died (kill -9)
// without recording the outcome.
func lostStatus(job *jobRecord) dispatch.Status {
	st := dispatch.Status{State: dispatch.StateLost, Reason: "the supervisor ended without recording the job's exit"}
	if job != nil {
		st.StartedAt = job.StartedAt
		if jobAlive(*job) {
			st.Reason += fmt.Sprintf("; the job (pid %d) still runs", job.PID)
		}
	}
	return st
}

// exitStatus is the status an exit record tells.
func exitStatus(rec exitRecord) dispatch.Status {
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
	return st
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
// (which the supervisor obeys if it has not started the job yet) and sends
// the supervisor SIGUSR1; the supervisor sends the job's process group
// SIGTERM and, after grace, SIGKILL, so the escalation survives a server
// crash. An ended execution is left alone.
func (e *Executor) Cancel(ctx context.Context, h dispatch.Handle, grace time.Duration) error {
	dir, err := e.dirOf(h)
	if err != nil {
		return err
	}
	rec, err := recorded(dir)
	if err != nil {
		return fmt.Errorf("local: cancel %q: %w", h.ID, err)
	}
	if rec.Exit != nil {
		return nil
	}
	if grace <= 0 {
		grace = e.cfg.KillGrace
	}
	if err := writeJSONFile(dir, fileCancel, cancelRecord{GraceMS: grace.Milliseconds(), At: time.Now().UTC()}, true); err != nil {
		return fmt.Errorf("local: cancel %q: %w", h.ID, err)
	}
	// Read again after the marker is down: a supervisor that took the
	// execution meanwhile gets the signal, one that takes it later reads
	// the marker before it starts the job, and again once it runs.
	if rec, err = recorded(dir); err != nil {
		return fmt.Errorf("local: cancel %q: %w", h.ID, err)
	}
	if rec.Supervisor == 0 || rec.Exit != nil {
		return nil
	}
	alive, err := inUse(dir)
	if err != nil {
		return fmt.Errorf("local: cancel %q: %w", h.ID, err)
	}
	if alive {
		if err := syscall.Kill(rec.Supervisor, syscall.SIGUSR1); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("local: cancel %q: signal supervisor %d: %w", h.ID, rec.Supervisor, err)
		}
		return nil
	}
	// Lost: the supervisor is gone. Stop an orphaned job directly if it is
	// provably still the same process.
	if job := rec.Job; job != nil && jobAlive(*job) {
		_ = syscall.Kill(-job.PID, syscall.SIGTERM)
		go func() {
			time.Sleep(grace)
			if jobAlive(*job) {
				_ = syscall.Kill(-job.PID, syscall.SIGKILL)
			}
		}()
	}
	return nil
}

// Logs reads the job's log from a byte offset cursor ("" is 0). Where the
// size cap left a part out, the chunk holds a line that says so and the
// cursor jumps past the part.
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
	f, err := os.Open(filepath.Join(dir, fileLog))
	if errors.Is(err, fs.ErrNotExist) {
		if off != 0 {
			return dispatch.LogChunk{}, fmt.Errorf("local: log cursor %d past the end of an empty log: %w", off, fault.ErrInvalid)
		}
		return dispatch.LogChunk{Next: "0"}, nil
	}
	if err != nil {
		return dispatch.LogChunk{}, fmt.Errorf("local: logs of %q: %w", h.ID, err)
	}
	defer f.Close()
	// The supervisor records a new cut before it frees the range: a read
	// that saw the cut change reads again.
	for range 3 {
		before, err := readCut(dir)
		if err != nil {
			return dispatch.LogChunk{}, fmt.Errorf("local: logs of %q: %w", h.ID, err)
		}
		chunk, err := readLog(f, before, off, limit)
		if err != nil {
			return dispatch.LogChunk{}, fmt.Errorf("local: logs of %q: %w", h.ID, err)
		}
		after, err := readCut(dir)
		if err != nil {
			return dispatch.LogChunk{}, fmt.Errorf("local: logs of %q: %w", h.ID, err)
		}
		if after == before {
			return chunk, nil
		}
	}
	return dispatch.LogChunk{Next: strconv.FormatInt(off, 10), More: true}, nil
}

// readLog reads at most limit bytes of the log from off, skipping the cut.
func readLog(f *os.File, cut logcap.Cut, off int64, limit int) (dispatch.LogChunk, error) {
	size, err := statLog(f)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	if off > size {
		return dispatch.LogChunk{}, fmt.Errorf("log cursor %d past the end of the log (%d bytes): %w", off, size, fault.ErrInvalid)
	}
	data, next, err := logcap.Read(f, size, cut, off, limit, false)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	return dispatch.LogChunk{Data: data, Next: strconv.FormatInt(next, 10), More: next < size}, nil
}

// LogTail reads the log after cursor, or, when more than limit bytes
// follow it, the last limit bytes from the first line that starts in them
// (dispatch.LogTailer): a viewer that fell behind a job writing fast, or
// one opening a large log, reads the end without reading what is before.
func (e *Executor) LogTail(ctx context.Context, h dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	dir, err := e.dirOf(h)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	var off int64
	if cursor != "" {
		if off, err = strconv.ParseInt(cursor, 10, 64); err != nil || off < 0 {
			return dispatch.LogChunk{}, fmt.Errorf("local: log cursor %q is not a byte offset: %w", cursor, fault.ErrInvalid)
		}
	}
	if limit <= 0 {
		limit = LogLimitDefault
	}
	var size int64
	if fi, err := os.Stat(filepath.Join(dir, fileLog)); err == nil {
		size = fi.Size()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return dispatch.LogChunk{}, fmt.Errorf("local: logs of %q: %w", h.ID, err)
	}
	from := off
	if size-off > int64(limit) {
		from = size - int64(limit)
		if cut, err := readCut(dir); err == nil && !cut.Empty() && from >= cut.From && from < cut.To {
			from = cut.To
		}
	}
	var out dispatch.LogChunk
	cur := strconv.FormatInt(from, 10)
	for len(out.Data) < limit {
		c, err := e.Logs(ctx, h, cur, min(limit-len(out.Data), LogLimitMax))
		if err != nil {
			return dispatch.LogChunk{}, err
		}
		out.Data = append(out.Data, c.Data...)
		cur, out.More = c.Next, c.More
		if !c.More || len(c.Data) == 0 {
			break
		}
	}
	out.Next = cur
	if from > off {
		// Start at a line: drop the rest of the line the cut fell into.
		if i := bytes.IndexByte(out.Data, '\n'); i >= 0 && i+1 < len(out.Data) {
			out.Data = out.Data[i+1:]
			from += int64(i + 1)
		}
		out.Skipped = from - off
	}
	return out, nil
}
