package local

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Files in an execution's state directory <StateDir>/<key>/. The
// supervisor holds an flock on the directory itself while it supervises the
// execution.
const (
	fileRun    = "run"     // the execution's record: JSON lines appended by the supervisor (runLine)
	fileLog    = "log"     // the job's stdout and stderr
	fileLogCut = "log.cut" // the byte range left out of the log by the size cap
	fileCancel = "cancel"  // marker: Cancel was asked, with the grace period
)

// Files of executions recorded by earlier versions, read so that their
// outcomes, logs and retention carry on (see legacy.go).
const (
	legacyRequest    = "request.json"
	legacyStartLock  = "start.lock"
	legacyRunLock    = "run.lock"
	legacySupervisor = "supervisor"
	legacyJob        = "job"
	legacyExit       = "exit"
)

// spec is what the executor sends with a start: everything the supervisor
// needs. It is kept in the supervisor's memory only (the environment may
// hold secrets).
type spec struct {
	Command string   `json:"command"`
	WorkDir string   `json:"workdir,omitempty"`
	Env     []string `json:"env"`
	// KeepChildren leaves what the job started in its process group
	// running after the job ends (jobnet.LocalSpec.KeepChildren).
	KeepChildren bool `json:"keep_children,omitempty"`
	// LogMax caps the bytes kept of the log (0: no cap).
	LogMax int64 `json:"log_max,omitempty"`
}

// runLine is one line of the run record, and what the lines read so far
// hold together (readRun). The supervisor appends, in order: its pid when
// it takes the execution (durable before the job starts), the job once it
// runs, and the outcome last (durable before the supervisor lets go of the
// directory's lock).
type runLine struct {
	Supervisor int         `json:"supervisor,omitempty"`
	Job        *jobRecord  `json:"job,omitempty"`
	Exit       *exitRecord `json:"exit,omitempty"`
}

// readRun reads dir's run record; ok is false when there is none. A last
// line still being written (no newline yet) is not read.
func readRun(dir string) (rec runLine, ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, fileRun))
	if errors.Is(err, fs.ErrNotExist) {
		return runLine{}, false, nil
	}
	if err != nil {
		return runLine{}, false, fmt.Errorf("read %s: %w", fileRun, err)
	}
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		var l runLine
		if err := json.Unmarshal(data[:i], &l); err != nil {
			return runLine{}, false, fmt.Errorf("read %s: %w", filepath.Join(dir, fileRun), err)
		}
		data = data[i+1:]
		if l.Supervisor != 0 {
			rec.Supervisor = l.Supervisor
		}
		if l.Job != nil {
			rec.Job = l.Job
		}
		if l.Exit != nil {
			rec.Exit = l.Exit
		}
	}
	return rec, true, nil
}

// appendLine appends one line to an open run record.
func appendLine(f *os.File, l runLine) error {
	data, err := json.Marshal(l)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", fileRun, err)
	}
	return nil
}

// jobRecord is the job line of the run record.
type jobRecord struct {
	PID       int       `json:"pid"`
	StartedAt time.Time `json:"started_at"`
	// ProcStart is the process start time from /proc/<pid>/stat (clock
	// ticks since boot), 0 where unavailable. It tells the job apart from a
	// later process that reuses its pid.
	ProcStart uint64 `json:"proc_start,omitempty"`
}

// cancelRecord is the content of the cancel marker.
type cancelRecord struct {
	GraceMS int64     `json:"grace_ms"`
	At      time.Time `json:"at"`
}

// exitRecord is the exit line of the run record: the outcome.
type exitRecord struct {
	// Code is the exit code; a death by signal N is 128+N.
	Code *int `json:"code,omitempty"`
	// Signal names the signal that killed the job ("TERM"), if one did.
	Signal string `json:"signal,omitempty"`
	Reason string `json:"reason,omitempty"`
	// FailedToStart: the command could not be started (Code is nil).
	FailedToStart bool `json:"failed_to_start,omitempty"`
	// Cancelled: the supervisor stopped the job because Cancel asked.
	Cancelled bool      `json:"cancelled,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	EndedAt   time.Time `json:"ended_at"`
}

// writeFile writes data to dir/name through a temporary file and rename;
// durable adds the fsyncs of the file and the directory. Without them the
// content still survives a crash of any process, but not of the host.
func writeFile(dir, name string, data []byte, durable bool) error {
	tmp, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if durable {
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return fmt.Errorf("write %s: %w", name, err)
		}
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if durable {
		return syncDir(dir)
	}
	return nil
}

// dirSyncer makes a directory's entries durable for concurrent callers with
// as few fsyncs as it can: a caller waits for an fsync that began after its
// call, and every caller waiting meanwhile shares the next one.
type dirSyncer struct {
	dir  string
	mu   sync.Mutex
	cond *sync.Cond
	// begun and ended count the fsyncs; failed is the last that failed.
	begun, ended, failed uint64
	running              bool
	err                  error
}

func newDirSyncer(dir string) *dirSyncer {
	s := &dirSyncer{dir: dir}
	s.cond = sync.NewCond(&s.mu)
	return s
}

// sync returns once an fsync of the directory that began after the call
// has ended.
func (s *dirSyncer) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	target := s.begun + 1
	for s.ended < target {
		if s.running {
			s.cond.Wait()
			continue
		}
		s.running = true
		s.begun++
		n := s.begun
		s.mu.Unlock()
		err := syncDir(s.dir)
		s.mu.Lock()
		s.running = false
		s.ended = n
		if err != nil {
			s.failed, s.err = n, err
		}
		s.cond.Broadcast()
	}
	if s.failed >= target {
		return s.err
	}
	return nil
}

// syncDir makes the entries of dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func writeJSONFile(dir, name string, v any, durable bool) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return writeFile(dir, name, data, durable)
}

// readJSON reads dir/name into v; ok is false when the file does not exist.
func readJSON(dir, name string, v any) (ok bool, err error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read %s: %w", name, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("read %s: %w", filepath.Join(dir, name), err)
	}
	return true, nil
}

func exists(dir, name string) bool {
	_, err := os.Lstat(filepath.Join(dir, name))
	return err == nil
}

// flockFile is an open lock file.
type flockFile struct{ f *os.File }

// tryLock takes dir/name with flock(how|LOCK_NB), creating the file.
// held reports that another open file holds a conflicting lock.
func tryLock(dir, name string, how int) (l *flockFile, held bool, err error) {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("open %s: %w", name, err)
	}
	return flock(f, name, how)
}

func flock(f *os.File, name string, how int) (l *flockFile, held bool, err error) {
	for {
		err = syscall.Flock(int(f.Fd()), how|syscall.LOCK_NB)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if errors.Is(err, syscall.EWOULDBLOCK) {
		f.Close()
		return nil, true, nil
	}
	if err != nil {
		f.Close()
		return nil, false, fmt.Errorf("lock %s: %w", name, err)
	}
	return &flockFile{f: f}, false, nil
}

// unlock releases the lock by closing the file.
func (l *flockFile) unlock() {
	if l != nil {
		l.f.Close()
	}
}

// lockDir takes flock(how|LOCK_NB) on the directory itself. held reports
// that another open file holds a conflicting lock.
func lockDir(dir string, how int) (l *flockFile, held bool, err error) {
	f, err := os.OpenFile(dir, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, false, err
	}
	return flock(f, filepath.Base(dir), how)
}

// dirLocked reports whether a supervisor of this version holds dir's lock.
// The probe takes a shared lock, so concurrent probes do not disturb each
// other.
func dirLocked(dir string) (bool, error) {
	l, held, err := lockDir(dir, syscall.LOCK_SH)
	if err != nil {
		return false, err
	}
	l.unlock()
	return held, nil
}

// signalNames maps the signals a job commonly dies of to their short names.
var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP: "HUP", syscall.SIGINT: "INT", syscall.SIGQUIT: "QUIT", syscall.SIGILL: "ILL",
	syscall.SIGTRAP: "TRAP", syscall.SIGABRT: "ABRT", syscall.SIGBUS: "BUS", syscall.SIGFPE: "FPE",
	syscall.SIGKILL: "KILL", syscall.SIGUSR1: "USR1", syscall.SIGSEGV: "SEGV", syscall.SIGUSR2: "USR2",
	syscall.SIGPIPE: "PIPE", syscall.SIGALRM: "ALRM", syscall.SIGTERM: "TERM", syscall.SIGXCPU: "XCPU",
	syscall.SIGXFSZ: "XFSZ", syscall.SIGSYS: "SYS",
}

// SignalName returns the short name of a signal ("TERM"), or its number.
func SignalName(s syscall.Signal) string {
	if n, ok := signalNames[s]; ok {
		return n
	}
	return strconv.Itoa(int(s))
}

// procStart returns the start time of pid from /proc (clock ticks since
// boot), or 0 when it cannot be read.
func procStart(pid int) uint64 {
	_, start := procStat(pid)
	return start
}

// procStat returns the state letter (R, S, Z…) and start time of pid from
// /proc/<pid>/stat, or 0, 0 when it cannot be read.
func procStat(pid int) (state byte, start uint64) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0
	}
	// The command name in parentheses may contain spaces; fields follow
	// the last ')'. starttime is field 22, the 20th after it.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0
	}
	fields := strings.Fields(s[i+1:])
	if len(fields) < 20 || len(fields[0]) != 1 {
		return 0, 0
	}
	v, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return 0, 0
	}
	return fields[0][0], v
}
