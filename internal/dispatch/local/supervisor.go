package local

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// SupervisorMain is the body of the hidden `koyomi supervise` subcommand:
// it supervises one execution and records its outcome in the state
// directory. args are the arguments after the subcommand name:
//
//	[-ready-fd N] [-grace D] <state dir of the execution>
//
// It returns the process exit code: 0 when it recorded an outcome or found
// the execution already supervised, 1 when it could not record one, 2 for
// bad arguments. Diagnostics go to stderr (supervisor.log in the state dir).
func SupervisorMain(args []string) int {
	fl := flag.NewFlagSet("supervise", flag.ContinueOnError)
	fl.SetOutput(os.Stderr)
	readyFD := fl.Int("ready-fd", -1, "file descriptor to report on once the job runs (or could not start), then close")
	grace := fl.Duration("grace", KillGraceDefault, "time between SIGTERM and SIGKILL when stopped without a cancel marker")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	if fl.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "supervise: want exactly one argument, the execution's state directory")
		return 2
	}
	var ready io.WriteCloser = nopWriteCloser{}
	if *readyFD >= 0 {
		// The descriptor was inherited without close-on-exec: keep it
		// out of the job.
		syscall.CloseOnExec(*readyFD)
		ready = os.NewFile(uintptr(*readyFD), "ready")
	}
	s := &supervisor{dir: fl.Arg(0), grace: *grace, ready: ready}
	code := s.run()
	s.report("done")
	return code
}

type nopWriteCloser struct{}

func (nopWriteCloser) Write(p []byte) (int, error) { return len(p), nil }
func (nopWriteCloser) Close() error                { return nil }

type supervisor struct {
	dir      string
	grace    time.Duration
	ready    io.WriteCloser
	reported bool
}

// report tells the starting executor that the start phase is over (the job
// runs, could not start, or another supervisor has it) and closes the pipe.
// A server that died meanwhile makes the write fail; that is ignored.
func (s *supervisor) report(msg string) {
	if s.reported {
		return
	}
	s.reported = true
	_, _ = io.WriteString(s.ready, msg+"\n")
	_ = s.ready.Close()
}

func (s *supervisor) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s supervise %s: %s\n", time.Now().UTC().Format(time.RFC3339Nano), s.dir, fmt.Sprintf(format, args...))
}

func (s *supervisor) run() int {
	// Stop requests are caught from the start so none is lost while the
	// job is being started.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)

	lock, held, err := tryLock(s.dir, fileRunLock, syscall.LOCK_EX)
	if err != nil {
		s.logf("%v", err)
		return 1
	}
	if held {
		s.logf("another supervisor holds %s; leaving the execution to it", fileRunLock)
		return 0
	}
	defer lock.unlock()
	if exists(s.dir, fileJob) || exists(s.dir, fileExit) {
		// An earlier supervisor started the job: never run it twice.
		s.logf("the job was already started by an earlier supervisor")
		return 0
	}
	if err := writeAtomic(s.dir, fileSupervisor, []byte(strconv.Itoa(os.Getpid()))); err != nil {
		s.logf("%v", err)
		return 1
	}

	var sp spec
	ok, err := readJSON(s.dir, fileRequest, &sp)
	if err == nil && !ok {
		err = errors.New("request.json is missing")
	}
	if err != nil {
		return s.finish(exitRecord{FailedToStart: true, Reason: "read the request: " + err.Error()})
	}
	var pending []os.Signal
	select {
	case sig := <-sigs:
		pending = append(pending, sig)
	default:
	}
	if exists(s.dir, fileCancel) {
		return s.finish(exitRecord{Cancelled: true, Reason: "cancelled before the job started"})
	}

	logf, err := os.OpenFile(filepath.Join(s.dir, fileLog), os.O_WRONLY|os.O_CREATE|os.O_APPEND|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return s.finish(exitRecord{FailedToStart: true, Reason: "open the log: " + err.Error()})
	}
	defer logf.Close()

	cmd := exec.Command("/bin/sh", "-c", sp.Command)
	cmd.Dir = sp.WorkDir
	cmd.Env = sp.Env
	cmd.Stdout = logf
	cmd.Stderr = logf
	// Its own process group, so that a stop reaches everything it started.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		reason := err.Error()
		if sp.WorkDir != "" {
			if _, serr := os.Stat(sp.WorkDir); serr != nil {
				reason = fmt.Sprintf("workdir %q: %v", sp.WorkDir, serr)
			}
		}
		return s.finish(exitRecord{FailedToStart: true, Reason: reason})
	}
	started := time.Now().UTC()
	pid := cmd.Process.Pid
	if err := writeJSON(s.dir, fileJob, jobRecord{PID: pid, StartedAt: started, ProcStart: procStart(pid)}); err != nil {
		s.logf("%v", err)
	}
	s.report("ok")

	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	for _, sig := range pending {
		go func() { sigs <- sig }()
	}

	var (
		stopping  bool
		cancelled bool
		killAt    <-chan time.Time
	)
wait:
	for {
		select {
		case sig := <-sigs:
			grace := s.grace
			var c cancelRecord
			if ok, _ := readJSON(s.dir, fileCancel, &c); ok {
				cancelled = true
				grace = time.Duration(c.GraceMS) * time.Millisecond
			}
			if stopping {
				continue
			}
			stopping = true
			s.logf("%v received (cancel: %v): SIGTERM to process group %d, SIGKILL after %v", sig, cancelled, pid, grace)
			_ = syscall.Kill(-pid, syscall.SIGTERM)
			killAt = time.After(grace)
		case <-killAt:
			s.logf("grace period over: SIGKILL to process group %d", pid)
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		case <-done:
			break wait
		}
	}
	if stopping {
		// What the job left behind in its group goes with it.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}

	rec := exitRecord{StartedAt: started, Cancelled: cancelled}
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
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
	return s.finish(rec)
}

// finish records the outcome atomically and reports the start phase over.
func (s *supervisor) finish(rec exitRecord) int {
	rec.EndedAt = time.Now().UTC()
	if err := writeJSON(s.dir, fileExit, rec); err != nil {
		s.logf("%v", err)
		return 1
	}
	return 0
}
