package local

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/logcap"
)

// Supervisor timings.
const (
	// supervisorLinger is how long an idle supervisor (no job, no
	// connection) waits before it exits.
	supervisorLinger = 2 * time.Second
	// logCapEvery is how often the supervisor checks the logs of running
	// jobs against their size cap.
	logCapEvery = 250 * time.Millisecond
	// notifyWriteTimeout bounds a write to one connection; a server that
	// does not read is dropped rather than slowing every job down.
	notifyWriteTimeout = 2 * time.Second
)

// SupervisorMain is the body of the hidden `koyomi supervise` subcommand:
// the supervisor of every local job of one state directory. It listens on
// <state dir>/supervisor.sock, starts the jobs executors ask for, records
// their outcomes and tells the connected executors when a job has ended.
// args are the arguments after the subcommand name:
//
//	[-ready-fd N] [-grace D] [-id S] <state dir>
//
// It returns the process exit code: 0 when it ended normally or found
// another supervisor owning the directory, 1 when it could not serve, 2 for
// bad arguments. Diagnostics go to stderr (supervisor.log in the state dir).
func SupervisorMain(args []string) int {
	fl := flag.NewFlagSet("supervise", flag.ContinueOnError)
	fl.SetOutput(os.Stderr)
	readyFD := fl.Int("ready-fd", -1, "file descriptor to report on once listening (\"ready\") or when another supervisor owns the directory (\"busy\"), then close")
	grace := fl.Duration("grace", KillGraceDefault, "time between SIGTERM and SIGKILL when stopped without a cancel marker, and for processes a job leaves behind")
	id := fl.String("id", "", "identity of the binary, reported to executors")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "supervise: want exactly one argument, the state directory")
		return 2
	}
	var ready io.WriteCloser = nopWriteCloser{}
	if *readyFD >= 0 {
		// The descriptor was inherited without close-on-exec: keep it
		// out of the jobs.
		syscall.CloseOnExec(*readyFD)
		ready = os.NewFile(uintptr(*readyFD), "ready")
	}
	dir, err := filepath.Abs(fl.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "supervise:", err)
		return 2
	}
	d := &daemon{
		dir: dir, grace: *grace, id: *id, ready: ready, stateSync: newDirSyncer(dir),
		jobs: map[int]*job{}, early: map[int]reaped{}, byKey: map[string]*job{}, busy: map[string]chan struct{}{}, conns: map[*dconn]struct{}{},
	}
	return d.run()
}

type nopWriteCloser struct{}

func (nopWriteCloser) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriteCloser) Close() error                { return nil }

// daemon is the supervisor process of one state directory.
type daemon struct {
	dir   string
	grace time.Duration
	id    string
	ready io.WriteCloser

	devnull   *os.File
	lock      *flockFile // supervisor.lock, while the socket is ours
	stateSync *dirSyncer // fsyncs of the state directory
	ln        net.Listener

	mu    sync.Mutex
	jobs  map[int]*job    // running jobs by pid
	early map[int]reaped  // jobs reaped before their start registered them, by pid
	byKey map[string]*job // running jobs by key
	busy  map[string]chan struct{}
	conns map[*dconn]struct{}
	// pending counts work that must not be cut short by an idle exit:
	// outcomes of reaped jobs being recorded, and SIGKILLs due to the
	// processes ended jobs left behind.
	pending  int
	retired  bool // no longer accepts starts
	shutdown bool // stopping every job (SIGTERM to the supervisor)
	idleAt   time.Time
}

// reaped is how a process ended, as the reaper saw it.
type reaped struct {
	ws syscall.WaitStatus
	at time.Time
}

// job is one running job.
type job struct {
	key, dir  string
	pid       int
	spec      spec
	lock      *flockFile // the execution directory's lock
	run       *os.File   // the run record, appended to
	log       *os.File
	started   time.Time
	stopping  bool
	cancelled bool

	capMu       sync.Mutex // guards what follows
	cut         logcap.Cut
	logClosed   bool
	punchFailed bool
}

// dconn is one executor's connection.
type dconn struct {
	c   net.Conn
	wmu sync.Mutex
}

func (c *dconn) send(m message) error {
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	data = append(data, '\n')
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.c.SetWriteDeadline(time.Now().Add(notifyWriteTimeout))
	_, err = c.c.Write(data)
	return err
}

func (d *daemon) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s supervise[%d] %s: %s\n", time.Now().UTC().Format(time.RFC3339Nano), os.Getpid(), d.dir, fmt.Sprintf(format, args...))
}

func (d *daemon) report(msg string) {
	_, _ = io.WriteString(d.ready, msg+"\n")
	_ = d.ready.Close()
}

func (d *daemon) run() int {
	// Stop requests are caught from the start so none is lost.
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1)
	chld := make(chan os.Signal, 1)
	signal.Notify(chld, syscall.SIGCHLD)

	lock, held, err := tryLock(d.dir, fileSupLock, syscall.LOCK_EX)
	if err != nil {
		d.logf("%v", err)
		d.report("error")
		return 1
	}
	if held {
		d.report("busy")
		return 0
	}
	d.lock = lock
	d.devnull, err = os.Open(os.DevNull)
	if err != nil {
		d.logf("%v", err)
		d.report("error")
		return 1
	}
	path, done, err := socketPath(d.dir)
	if err != nil {
		d.logf("%v", err)
		d.report("error")
		return 1
	}
	_ = os.Remove(filepath.Join(d.dir, fileSocket))
	ln, err := net.Listen("unix", path)
	done()
	if err != nil {
		d.logf("listen: %v", err)
		d.report("error")
		return 1
	}
	// The listener must not remove the socket when it closes: after a
	// retire it belongs to the next supervisor.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	d.ln = ln
	d.idleAt = time.Now()
	d.report("ready")

	go d.accept(ln)
	go d.reap(chld)
	capTick := time.NewTicker(logCapEvery)
	defer capTick.Stop()
	idleTick := time.NewTicker(supervisorLinger / 4)
	defer idleTick.Stop()
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGUSR1 {
				d.checkCancels()
				continue
			}
			d.stopAll(sig)
		case <-capTick.C:
			d.capLogs()
		case <-idleTick.C:
			if d.idleFor() >= supervisorLinger {
				d.retire()
				d.logf("idle: exiting")
				return 0
			}
		}
	}
}

// idleFor reports how long the supervisor has had nothing to do (0 while
// it has jobs, starts or connections; shutdown and retire do not wait for
// connections).
func (d *daemon) idleFor() time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.jobs) > 0 || len(d.busy) > 0 || d.pending > 0 || (len(d.conns) > 0 && !d.retired) {
		d.idleAt = time.Time{}
		return 0
	}
	if d.idleAt.IsZero() {
		d.idleAt = time.Now()
	}
	if d.retired {
		return supervisorLinger
	}
	return time.Since(d.idleAt)
}

func (d *daemon) accept(ln net.Listener) {
	for {
		c, err := ln.Accept()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				d.logf("accept: %v", err)
			}
			return
		}
		go d.serve(c)
	}
}

func (d *daemon) serve(c net.Conn) {
	dc := &dconn{c: c}
	d.mu.Lock()
	if d.retired {
		d.mu.Unlock()
		c.Close()
		return
	}
	d.conns[dc] = struct{}{}
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		delete(d.conns, dc)
		d.mu.Unlock()
		c.Close()
	}()
	if err := dc.send(message{Hello: &hello{ID: d.id, PID: os.Getpid()}}); err != nil {
		return
	}
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return
		}
		var m message
		if err := json.Unmarshal(line, &m); err != nil {
			d.logf("bad message %q: %v", line, err)
			return
		}
		switch m.Op {
		case opStart:
			go func() {
				rep := message{Re: m.Seq}
				if err := d.start(m.Key, m.Spec); err != nil {
					rep.Err = err.Error()
					rep.Retry = errors.Is(err, errRetired)
				}
				_ = dc.send(rep)
			}()
		case opRetire:
			d.logf("retired by an executor of another binary")
			d.retire()
			return
		default:
			_ = dc.send(message{Re: m.Seq, Err: fmt.Sprintf("unknown op %q", m.Op)})
		}
	}
}

// errRetired answers starts sent to a supervisor that no longer accepts them.
var errRetired = errors.New("the supervisor is retiring; start again")

// retire stops accepting connections and starts, releases the socket to
// the next supervisor and drops the connections; running jobs are still
// supervised to their end.
func (d *daemon) retire() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.retired {
		return
	}
	d.retired = true
	_ = d.ln.Close()
	d.lock.unlock()
	for c := range d.conns {
		_ = c.c.Close()
	}
}

// start starts the job of the execution key once: a job that runs, ran or
// is supervised by another supervisor is left alone.
func (d *daemon) start(key string, sp *spec) error {
	if err := dispatch.CheckKey(key); err != nil {
		return err
	}
	if sp == nil {
		return errors.New("the start request holds no job")
	}
	for {
		d.mu.Lock()
		if d.retired || d.shutdown {
			d.mu.Unlock()
			return errRetired
		}
		ch, busy := d.busy[key]
		if !busy {
			d.busy[key] = make(chan struct{})
			d.mu.Unlock()
			break
		}
		d.mu.Unlock()
		<-ch
	}
	defer func() {
		d.mu.Lock()
		close(d.busy[key])
		delete(d.busy, key)
		d.mu.Unlock()
	}()
	d.mu.Lock()
	_, running := d.byKey[key]
	d.mu.Unlock()
	if running {
		return nil
	}
	dir := filepath.Join(d.dir, key)
	lock, run, fresh, err := d.claim(dir)
	if err != nil || lock == nil {
		return err
	}
	if !fresh && exists(dir, fileCancel) {
		return d.finishEarly(key, lock, run, exitRecord{Cancelled: true, Reason: "cancelled before the job started"})
	}
	logf, err := os.OpenFile(filepath.Join(dir, fileLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return d.finishEarly(key, lock, run, exitRecord{FailedToStart: true, Reason: "open the log: " + err.Error()})
	}
	j := &job{key: key, dir: dir, spec: *sp, lock: lock, run: run, log: logf}
	if !fresh {
		if _, err := readJSON(dir, fileLogCut, &j.cut); err != nil {
			d.logf("%s: %v", key, err)
		}
	}
	attr := &syscall.ProcAttr{
		Dir:   sp.WorkDir,
		Env:   sp.Env,
		Files: []uintptr{d.devnull.Fd(), logf.Fd(), logf.Fd()},
		// Its own process group, so that a stop reaches everything it started.
		Sys: &syscall.SysProcAttr{Setpgid: true},
	}
	// The start time is taken before the fork: a job that ends at once is
	// reaped (and its end time taken) before ForkExec returns here. Forks
	// are not made under d.mu: the reaper and other starts go on meanwhile.
	started := time.Now().UTC()
	pid, err := syscall.ForkExec("/bin/sh", []string{"/bin/sh", "-c", sp.Command}, attr)
	if err != nil {
		logf.Close()
		reason := err.Error()
		if sp.WorkDir != "" {
			if _, serr := os.Stat(sp.WorkDir); serr != nil {
				reason = fmt.Sprintf("workdir %q: %v", sp.WorkDir, serr)
			}
		}
		return d.finishEarly(key, lock, run, exitRecord{FailedToStart: true, Reason: reason})
	}
	j.pid = pid
	j.started = started
	// The job line goes in before the job is registered, so before the
	// reaper can append the exit line.
	if err := appendLine(run, runLine{Job: &jobRecord{PID: pid, StartedAt: started, ProcStart: procStart(pid)}}); err != nil {
		d.logf("%s: %v", key, err)
	}
	d.mu.Lock()
	early, reaped := d.early[pid]
	delete(d.early, pid)
	if reaped {
		d.pending++
	} else {
		d.jobs[pid] = j
	}
	d.byKey[key] = j
	shutdown := d.shutdown
	d.mu.Unlock()
	if reaped {
		// It ended before it was registered.
		go d.finish(j, early.ws, early.at)
		return nil
	}
	if shutdown {
		// stopAll ran during the fork and did not see it.
		d.stop(j, false, d.grace)
	}
	// A cancel marker written after the check above and before the job
	// was registered has found no job to stop (see checkCancels).
	var c cancelRecord
	if ok, _ := readJSON(dir, fileCancel, &c); ok {
		d.stop(j, true, time.Duration(c.GraceMS)*time.Millisecond)
	}
	return nil
}

// claim takes the execution directory dir for a start. It creates the
// directory, locks it and creates the run record with this supervisor's
// pid, and makes the directory's entry durable before the job can start:
// from then on, even after a host crash, the execution reads as started
// (lost if nothing more was recorded), so it is never run twice. A
// directory that exists already was taken before and is left alone (a nil
// lock: nothing to do), unless an earlier version's server left it without
// asking its supervisor (request.json or start.lock, no record): that
// execution never started, and is started now. fresh tells that the
// directory was created here.
func (d *daemon) claim(dir string) (lock *flockFile, run *os.File, fresh bool, err error) {
	err = os.Mkdir(dir, 0o700)
	fresh = err == nil
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, nil, false, err
	}
	lock, held, err := lockDir(dir, syscall.LOCK_EX)
	if err != nil || held {
		return nil, nil, false, err
	}
	if !fresh {
		taken := exists(dir, fileRun) || legacy(dir) || !legacyUnstarted(dir)
		if !taken {
			// An earlier version's supervisor supervises under run.lock.
			held, err := legacyLocked(dir, legacyRunLock)
			if err != nil {
				lock.unlock()
				return nil, nil, false, err
			}
			taken = held
		}
		if taken {
			lock.unlock()
			return nil, nil, false, nil
		}
	}
	run, err = os.OpenFile(filepath.Join(dir, fileRun), os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		lock.unlock()
		return nil, nil, false, err
	}
	fail := func(err error) (*flockFile, *os.File, bool, error) {
		run.Close()
		lock.unlock()
		return nil, nil, false, err
	}
	if err := appendLine(run, runLine{Supervisor: os.Getpid()}); err != nil {
		return fail(err)
	}
	if fresh {
		// The directory's entry: concurrent claims share one fsync.
		err = d.stateSync.sync()
	} else {
		// The run record's entry in a directory that was there.
		err = lock.f.Sync()
	}
	if err != nil {
		return fail(fmt.Errorf("sync %s: %w", dir, err))
	}
	return lock, run, fresh, nil
}

// finishEarly records the outcome of a job that never ran.
func (d *daemon) finishEarly(key string, lock *flockFile, run *os.File, rec exitRecord) error {
	defer lock.unlock()
	defer run.Close()
	rec.EndedAt = time.Now().UTC()
	return d.record(key, run, rec)
}

// reap collects ended jobs on SIGCHLD.
func (d *daemon) reap(chld <-chan os.Signal) {
	for range chld {
		for {
			var ws syscall.WaitStatus
			pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			if err != nil || pid <= 0 {
				break
			}
			ended := time.Now().UTC()
			d.mu.Lock()
			j := d.jobs[pid]
			delete(d.jobs, pid)
			if j != nil {
				d.pending++
			} else {
				// A job whose start has not registered it yet.
				d.early[pid] = reaped{ws: ws, at: ended}
			}
			d.mu.Unlock()
			if j != nil {
				go d.finish(j, ws, ended)
			}
		}
	}
}

// finish handles what the job left in its process group, records the
// outcome durably, releases the execution and tells the executors.
func (d *daemon) finish(j *job, ws syscall.WaitStatus, ended time.Time) {
	defer d.done()
	d.mu.Lock()
	stopping, cancelled := j.stopping, j.cancelled
	d.mu.Unlock()
	// The job's process group outlives its leader while anything it
	// started runs there. The pid stays allocated while the group has a
	// member, so the group id cannot name anyone else.
	if syscall.Kill(-j.pid, 0) == nil {
		switch {
		case stopping:
			_ = syscall.Kill(-j.pid, syscall.SIGKILL)
		case !j.spec.KeepChildren:
			fmt.Fprintf(j.log, "\n[koyomi: the job ended and left processes running in its process group %d: sent them SIGTERM, SIGKILL after %v (keep_children: true keeps them)]\n", j.pid, d.grace)
			_ = syscall.Kill(-j.pid, syscall.SIGTERM)
			pgid := j.pid
			d.mu.Lock()
			d.pending++
			d.mu.Unlock()
			time.AfterFunc(d.grace, func() {
				defer d.done()
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
			})
		}
	}
	d.capLog(j)
	rec := exitRecord{StartedAt: j.started, EndedAt: ended, Cancelled: cancelled}
	switch {
	case ws.Signaled():
		code := 128 + int(ws.Signal())
		rec.Code = &code
		rec.Signal = SignalName(ws.Signal())
		rec.Reason = "killed by signal " + rec.Signal
	default:
		code := ws.ExitStatus()
		rec.Code = &code
		if stopping {
			rec.Reason = "exited with code " + strconv.Itoa(code) + " after a stop request"
		}
	}
	if cancelled {
		rec.Reason = "cancelled: " + rec.Reason
	}
	_ = d.record(j.key, j.run, rec) // logged; Status reports lost without it
	j.closeLog()
	j.run.Close()
	j.lock.unlock()
	d.mu.Lock()
	delete(d.byKey, j.key)
	d.mu.Unlock()
}

// record appends the outcome to the run record, tells the executors and
// then makes it durable, all while the execution's lock is held: Status
// reads the outcome as soon as it is there, and it is on disk before the
// lock says the supervisor is done. Until it is durable only a host crash
// can lose it, and that kills the job too; a server that recorded the
// outcome meanwhile holds it in its database.
func (d *daemon) record(key string, run *os.File, rec exitRecord) error {
	if err := appendLine(run, runLine{Exit: &rec}); err != nil {
		d.logf("%s: %v", key, err)
		return err
	}
	d.notify(key, rec)
	if err := run.Sync(); err != nil {
		d.logf("%s: sync %s: %v", key, fileRun, err)
		return err
	}
	return nil
}

// done ends one piece of pending work.
func (d *daemon) done() {
	d.mu.Lock()
	d.pending--
	d.mu.Unlock()
}

// notify tells every connected executor key's recorded outcome.
func (d *daemon) notify(key string, rec exitRecord) {
	d.mu.Lock()
	conns := make([]*dconn, 0, len(d.conns))
	for c := range d.conns {
		conns = append(conns, c)
	}
	d.mu.Unlock()
	for _, c := range conns {
		if err := c.send(message{Ended: key, Exit: &rec}); err != nil {
			_ = c.c.Close()
		}
	}
}

// stop sends the job's process group SIGTERM and, after grace, SIGKILL.
// The escalation lives here, so it happens even if the server is gone.
func (d *daemon) stop(j *job, cancelled bool, grace time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cancelled {
		j.cancelled = true
	}
	if j.stopping || d.jobs[j.pid] != j {
		return
	}
	j.stopping = true
	d.logf("%s: SIGTERM to process group %d (cancel: %v), SIGKILL after %v", j.key, j.pid, j.cancelled, grace)
	_ = syscall.Kill(-j.pid, syscall.SIGTERM)
	time.AfterFunc(grace, func() {
		d.mu.Lock()
		alive := d.jobs[j.pid] == j
		d.mu.Unlock()
		if alive {
			d.logf("%s: grace period over: SIGKILL to process group %d", j.key, j.pid)
			_ = syscall.Kill(-j.pid, syscall.SIGKILL)
		}
	})
}

// running returns the running jobs.
func (d *daemon) running() []*job {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]*job, 0, len(d.jobs))
	for _, j := range d.jobs {
		out = append(out, j)
	}
	return out
}

// checkCancels stops the running jobs that have a cancel marker (Cancel
// writes the marker, then sends SIGUSR1).
func (d *daemon) checkCancels() {
	for _, j := range d.running() {
		var c cancelRecord
		if ok, _ := readJSON(j.dir, fileCancel, &c); ok {
			d.stop(j, true, time.Duration(c.GraceMS)*time.Millisecond)
		}
	}
}

// stopAll handles SIGTERM, SIGINT and SIGHUP (a host shutdown): no more
// starts, every job is stopped (a cancelled one with its own grace) and
// the supervisor exits once they are recorded.
func (d *daemon) stopAll(sig os.Signal) {
	d.mu.Lock()
	first := !d.shutdown
	d.shutdown = true
	d.mu.Unlock()
	if first {
		d.logf("%v received: stopping every job, SIGKILL after %v", sig, d.grace)
	}
	d.retire()
	for _, j := range d.running() {
		var c cancelRecord
		if ok, _ := readJSON(j.dir, fileCancel, &c); ok {
			d.stop(j, true, time.Duration(c.GraceMS)*time.Millisecond)
		} else {
			d.stop(j, false, d.grace)
		}
	}
}
