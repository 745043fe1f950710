package local_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/dispatchtest"
	"github.com/koyomi-dev/koyomi/internal/dispatch/local"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// The test binary doubles as the supervisor ("koyomi supervise") and as a
// server that gets killed in the crash test.
const (
	roleSupervisor = "koyomi-test-supervise"
	roleServer     = "koyomi-test-server"
)

func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case roleSupervisor:
			os.Exit(local.SupervisorMain(os.Args[2:]))
		case roleServer:
			os.Exit(serverMain(os.Args[2:]))
		}
	}
	os.Exit(m.Run())
}

func supervisorCmd() []string { return []string{os.Args[0], roleSupervisor} }

// serverMain starts one job (args: state dir, key, command), prints its
// handle and waits to be killed.
func serverMain(args []string) int {
	ex, err := local.New(local.Config{StateDir: args[0], SupervisorCmd: supervisorCmd()})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	h, err := ex.Start(context.Background(), dispatchtest.NewRequest(args[1], localJob(args[2], "")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	data, _ := json.Marshal(h)
	fmt.Println(string(data))
	select {}
}

func localJob(command, workdir string) jobnet.Job {
	return jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: command, WorkDir: workdir}}
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func printLines(ls []string) string {
	q := make([]string, len(ls))
	for i, l := range ls {
		q[i] = shQuote(l)
	}
	return "printf '%s\\n' " + strings.Join(q, " ")
}

// newStateDir returns a state dir whose leftover processes are killed when
// the test ends (before the directory is removed).
func newStateDir(t *testing.T) string {
	dir := t.TempDir()
	t.Cleanup(func() { killAll(dir) })
	return dir
}

// killAll kills every supervisor and job recorded under dir.
func killAll(dir string) {
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		rec := readRecord(filepath.Join(dir, e.Name()))
		if rec.Supervisor > 0 {
			_ = syscall.Kill(rec.Supervisor, syscall.SIGKILL)
		}
		if rec.Job != nil && rec.Job.PID > 0 {
			_ = syscall.Kill(-rec.Job.PID, syscall.SIGKILL)
		}
	}
}

// record is an execution's run record as the supervisor appended it.
type record struct {
	Supervisor int
	Job        *struct{ PID int }
	Exit       map[string]any
}

// readRecord reads the run record of an execution directory (what it holds
// so far; empty when there is none).
func readRecord(dir string) record {
	var rec record
	data, _ := os.ReadFile(filepath.Join(dir, "run"))
	for _, l := range strings.SplitAfter(string(data), "\n") {
		var line record
		if !strings.HasSuffix(l, "\n") || json.Unmarshal([]byte(l), &line) != nil {
			continue
		}
		if line.Supervisor != 0 {
			rec.Supervisor = line.Supervisor
		}
		if line.Job != nil {
			rec.Job = line.Job
		}
		if line.Exit != nil {
			rec.Exit = line.Exit
		}
	}
	return rec
}

// supervisorPID returns the pid of the supervisor that took an execution.
func supervisorPID(t *testing.T, dir string) string {
	t.Helper()
	rec := readRecord(dir)
	require.NotZero(t, rec.Supervisor, "the run record of %s names its supervisor", dir)
	return strconv.Itoa(rec.Supervisor)
}

func newExecutor(t *testing.T, dir string) *local.Executor {
	ex, err := local.New(local.Config{StateDir: dir, SupervisorCmd: supervisorCmd(), KillGrace: 2 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	return ex
}

// runCounter gives each test a file that every harness job appends a line
// to, so that Executions counts the processes that really ran.
type runCounter struct {
	mu    sync.Mutex
	files map[*testing.T]string
}

func (c *runCounter) file(t *testing.T) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.files[t]; ok {
		return f
	}
	f := filepath.Join(t.TempDir(), "runs")
	c.files[t] = f
	return f
}

func (c *runCounter) count(t *testing.T) int {
	data, err := os.ReadFile(c.file(t))
	if errors.Is(err, os.ErrNotExist) {
		return 0
	}
	require.NoError(t, err)
	return strings.Count(string(data), "\n")
}

func (c *runCounter) cmd(t *testing.T, rest string) string {
	return "echo run >> " + shQuote(c.file(t)) + "; " + rest
}

func TestConformance(t *testing.T) {
	runs := &runCounter{files: map[*testing.T]string{}}
	dispatchtest.Run(t, dispatchtest.Harness{
		Type: jobnet.JobLocal,
		Setup: func(t *testing.T) dispatchtest.Backend {
			dir := newStateDir(t)
			return dispatchtest.Backend{
				New:        func(t *testing.T) dispatch.Executor { return newExecutor(t, dir) },
				Executions: runs.count,
			}
		},
		ExitJob: func(t *testing.T, code int) jobnet.Job {
			return localJob(runs.cmd(t, "exit "+strconv.Itoa(code)), "")
		},
		StagedJob: func(t *testing.T, first, second []string) (jobnet.Job, func()) {
			gate := filepath.Join(t.TempDir(), "gate")
			cmd := runs.cmd(t, printLines(first)+"; while [ ! -e "+shQuote(gate)+" ]; do sleep 0.02; done; "+printLines(second))
			return localJob(cmd, ""), func() { require.NoError(t, os.WriteFile(gate, nil, 0o600)) }
		},
		LongJob: func(t *testing.T) jobnet.Job {
			return localJob(runs.cmd(t, "sleep 600"), "")
		},
		StubbornJob: func(t *testing.T) jobnet.Job {
			return localJob(runs.cmd(t, "trap '' TERM; sleep 600"), "")
		},
		BadJob: func(t *testing.T) jobnet.Job {
			return localJob(runs.cmd(t, "true"), filepath.Join(t.TempDir(), "no-such-dir"))
		},
		EnvJob: func(t *testing.T, name string) jobnet.Job {
			return localJob(`printf '%s\n' "$`+name+`"`, "")
		},
		Grace:   500 * time.Millisecond,
		Timeout: 20 * time.Second,
	})
}

func start(t *testing.T, ex *local.Executor, key, command string) dispatch.Handle {
	t.Helper()
	h, err := ex.Start(context.Background(), dispatchtest.NewRequest(key, localJob(command, "")))
	require.NoError(t, err)
	return h
}

func readFile(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return string(data)
}

func TestExitRecords(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	for _, tc := range []struct {
		name, command string
		state         dispatch.State
		code          int
		reason        string
	}{
		{"zero", "true", dispatch.StateExited, 0, ""},
		{"code", "exit 42", dispatch.StateExited, 42, ""},
		{"not-found", "no-such-command-xyz", dispatch.StateExited, 127, ""},
		{"term", "kill -TERM $$", dispatch.StateExited, 143, "killed by signal TERM"},
		{"kill", "kill -KILL $$", dispatch.StateExited, 137, "killed by signal KILL"},
		{"segv", "kill -SEGV $$", dispatch.StateExited, 139, "killed by signal SEGV"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, ex, "rec-"+tc.name, tc.command)
			st := dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
			require.Equal(t, tc.state, st.State)
			require.Equal(t, tc.code, *st.ExitCode)
			require.Equal(t, tc.reason, st.Reason)
			require.False(t, st.StartedAt.IsZero())
		})
	}
}

func TestWorkDirAndHomeAndPath(t *testing.T) {
	dir := newStateDir(t)
	work := t.TempDir()
	ex, err := local.New(local.Config{
		StateDir: dir, SupervisorCmd: supervisorCmd(),
		Getenv: func(k string) string {
			return map[string]string{"PATH": "/usr/bin:/bin", "HOME": "/home/koyomi", "SECRET": "server-only"}[k]
		},
	})
	require.NoError(t, err)
	req := dispatchtest.NewRequest("wd-1", localJob(`pwd; echo "$HOME|$PATH|$SECRET|$KOYOMI_BUSINESS_DATE"`, work))
	h, err := ex.Start(context.Background(), req)
	require.NoError(t, err)
	st := dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.Equal(t, 0, *st.ExitCode)
	out, _ := dispatchtest.ReadLogs(t, ex, h, "", 0)
	require.Equal(t, work+"\n/home/koyomi|/usr/bin:/bin||2026-04-01\n", string(out))

	// The request's variables win over the server's.
	req = dispatchtest.NewRequest("wd-2", localJob(`echo "$HOME"`, ""))
	req.Env["HOME"] = "/override"
	h, err = ex.Start(context.Background(), req)
	require.NoError(t, err)
	dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	out, _ = dispatchtest.ReadLogs(t, ex, h, "", 0)
	require.Equal(t, "/override\n", string(out))
}

func TestStartRejectsBadRequests(t *testing.T) {
	ex := newExecutor(t, newStateDir(t))
	for name, req := range map[string]dispatch.Request{
		"bad key":    dispatchtest.NewRequest("../x", localJob("true", "")),
		"long key":   dispatchtest.NewRequest(strings.Repeat("a", 65), localJob("true", "")),
		"no spec":    dispatchtest.NewRequest("k", jobnet.Job{Type: jobnet.JobLocal}),
		"no command": dispatchtest.NewRequest("k", localJob("  ", "")),
		"env name": func() dispatch.Request {
			r := dispatchtest.NewRequest("k", localJob("true", ""))
			r.Env["A=B"] = "x"
			return r
		}(),
	} {
		_, err := ex.Start(context.Background(), req)
		var perm *dispatch.Permanent
		require.ErrorAs(t, err, &perm, name)
		require.ErrorIs(t, err, fault.ErrInvalid, name)
	}
	entries, err := os.ReadDir(ex.StateDir())
	require.NoError(t, err)
	require.Empty(t, entries, "a rejected request leaves no state")
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := local.New(local.Config{SupervisorCmd: supervisorCmd()})
	require.ErrorIs(t, err, fault.ErrInvalid)
	_, err = local.New(local.Config{StateDir: t.TempDir()})
	require.ErrorIs(t, err, fault.ErrInvalid)
}

func TestLogCursors(t *testing.T) {
	ex := newExecutor(t, newStateDir(t))
	h := start(t, ex, "logs-1", "printf 0123456789")
	dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	ctx := context.Background()
	for _, tc := range []struct {
		cursor string
		limit  int
		data   string
		next   string
		more   bool
	}{
		{"", 4, "0123", "4", true},
		{"4", 4, "4567", "8", true},
		{"8", 4, "89", "10", false},
		{"10", 4, "", "10", false},
		{"3", 0, "3456789", "10", false},
	} {
		c, err := ex.Logs(ctx, h, tc.cursor, tc.limit)
		require.NoError(t, err, tc.cursor)
		require.Equal(t, tc.data, string(c.Data), tc.cursor)
		require.Equal(t, tc.next, c.Next, tc.cursor)
		require.Equal(t, tc.more, c.More, tc.cursor)
	}
	for _, bad := range []string{"11", "-1", "x", "1.5"} {
		_, err := ex.Logs(ctx, h, bad, 0)
		require.ErrorIs(t, err, fault.ErrInvalid, bad)
	}
}

func TestSupervisorArgs(t *testing.T) {
	require.Equal(t, 2, local.SupervisorMain(nil))
	require.Equal(t, 2, local.SupervisorMain([]string{"a", "b"}))
	require.Equal(t, 2, local.SupervisorMain([]string{"-no-such-flag", "a"}))
}

// A stop signal to the supervisor without a cancel marker (a host shutdown)
// stops the job but is not a cancellation.
func TestSupervisorStoppedWithoutCancel(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	h := start(t, ex, "stop-1", "sleep 600")
	dispatchtest.WaitFor(t, ex, h, 20*time.Second, "running", func(st dispatch.Status) bool { return st.State == dispatch.StateRunning })
	pid, err := strconv.Atoi(supervisorPID(t, filepath.Join(dir, "stop-1")))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGTERM))
	st := dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.Equal(t, dispatch.StateExited, st.State)
	require.Equal(t, 143, *st.ExitCode)
	require.Equal(t, "killed by signal TERM", st.Reason)
}

// A start whose server died after creating the directory (no supervisor
// yet) is lost until the key is started again, which then runs it once.
func TestStartAfterCrashBeforeSpawn(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	// What a server of an earlier version left when it died after writing
	// the request and before its supervisor took it.
	require.NoError(t, os.Mkdir(filepath.Join(dir, "half-1"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "half-1", "request.json"), []byte(`{"command":"echo old"}`), 0o600))
	h := dispatch.Handle{Executor: "local", ID: "half-1"}
	st, err := ex.Status(context.Background(), h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateLost, st.State)
	require.Equal(t, "the supervisor never started", st.Reason)

	again := start(t, ex, "half-1", "echo once")
	require.Equal(t, h, again)
	st = dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.Equal(t, dispatch.StateExited, st.State)
	out, _ := dispatchtest.ReadLogs(t, ex, h, "", 0)
	require.Equal(t, "once\n", string(out))
}

// A directory that lost its start record (the host crashed after the
// supervisor created it, before the record was on disk) reads as lost, and
// the job is never started again: it may have run.
func TestStartRecordLost(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	mark := filepath.Join(t.TempDir(), "ran")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "crashed-1"), 0o700))
	h := dispatch.Handle{Executor: "local", ID: "crashed-1"}
	again := start(t, ex, "crashed-1", "touch "+shQuote(mark))
	require.Equal(t, h, again)
	st, err := ex.Status(context.Background(), h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateLost, st.State)
	require.Contains(t, st.Reason, "the start was not recorded")
	time.Sleep(100 * time.Millisecond)
	require.NoFileExists(t, mark)
}

// A cancel recorded before the supervisor starts keeps the job from running
// (a directory an earlier version's server left before its supervisor took
// it).
func TestCancelBeforeStart(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	mark := filepath.Join(t.TempDir(), "ran")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "early-1"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "early-1", "start.lock"), nil, 0o600))
	h := dispatch.Handle{Executor: "local", ID: "early-1"}
	require.NoError(t, ex.Cancel(context.Background(), h, time.Second))
	start(t, ex, "early-1", "touch "+shQuote(mark))
	st := dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.Equal(t, dispatch.StateCancelled, st.State)
	require.Nil(t, st.ExitCode)
	require.Equal(t, "cancelled before the job started", st.Reason)
	require.NoFileExists(t, mark)
}

// An idle supervisor exits once no executor is connected, and the server
// reaps it: none is left as a zombie.
func TestSupervisorReaped(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	h := start(t, ex, "reap-1", "true")
	dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.NoError(t, ex.Close())
	pid := supervisorPID(t, filepath.Join(dir, "reap-1"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := os.Stat("/proc/" + pid)
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		require.True(t, time.Now().Before(deadline), "supervisor %s still exists (zombie?)", pid)
		time.Sleep(10 * time.Millisecond)
	}
}

// The server is killed with SIGKILL while the job runs; a new server over
// the same state dir learns how the job ended.
func TestServerCrash(t *testing.T) {
	dir := newStateDir(t)
	gate := filepath.Join(t.TempDir(), "gate")
	srv := exec.Command(os.Args[0], roleServer, dir, "crash-1",
		"echo before; while [ ! -e "+shQuote(gate)+" ]; do sleep 0.02; done; echo after; exit 7")
	srv.Stderr = os.Stderr
	stdout, err := srv.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, srv.Start())
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err, "the server prints the handle")
	var h dispatch.Handle
	require.NoError(t, json.Unmarshal([]byte(line), &h))

	require.NoError(t, srv.Process.Signal(syscall.SIGKILL))
	_ = srv.Wait()

	ex := newExecutor(t, dir)
	st, err := ex.Status(context.Background(), h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateRunning, st.State, "the job outlives the server")
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	st = dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.Equal(t, dispatch.StateExited, st.State)
	require.Equal(t, 7, *st.ExitCode)
	out, _ := dispatchtest.ReadLogs(t, ex, h, "", 0)
	require.Equal(t, "before\nafter\n", string(out))
}

// The executor instance is dropped while the job runs (a server restart
// inside one process); a new instance reports the exit code.
func TestExecutorDropped(t *testing.T) {
	dir := newStateDir(t)
	gate := filepath.Join(t.TempDir(), "gate")
	h := start(t, newExecutor(t, dir), "drop-1", "while [ ! -e "+shQuote(gate)+" ]; do sleep 0.02; done; exit 5")
	ex := newExecutor(t, dir)
	st, err := ex.Status(context.Background(), h)
	require.NoError(t, err)
	require.False(t, st.State.IsTerminal())
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	st = dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.Equal(t, dispatch.StateExited, st.State)
	require.Equal(t, 5, *st.ExitCode)
}

// The supervisor is killed with SIGKILL: a running job becomes lost (and
// Cancel still stops the orphaned job); a job that had already ended keeps
// its recorded exit.
func TestSupervisorKilled(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)

	h := start(t, ex, "orphan-1", "sleep 600")
	dispatchtest.WaitFor(t, ex, h, 20*time.Second, "running", func(st dispatch.Status) bool { return st.State == dispatch.StateRunning })
	pid, err := strconv.Atoi(supervisorPID(t, filepath.Join(dir, "orphan-1")))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	st := dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.Equal(t, dispatch.StateLost, st.State)
	require.Nil(t, st.ExitCode)
	require.Contains(t, st.Reason, "the supervisor ended without recording the job's exit")
	require.Contains(t, st.Reason, "still runs")

	job := readRecord(filepath.Join(dir, "orphan-1")).Job
	require.NotNil(t, job)
	require.NoError(t, ex.Cancel(context.Background(), h, 100*time.Millisecond))
	deadline := time.Now().Add(20 * time.Second)
	for {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", job.PID))
		if err != nil || strings.Contains(string(data), ") Z ") {
			break
		}
		require.True(t, time.Now().Before(deadline), "the orphaned job %d was not stopped", job.PID)
		time.Sleep(10 * time.Millisecond)
	}
	st, err = ex.Status(context.Background(), h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateLost, st.State)
	require.NotContains(t, st.Reason, "still runs")

	done := start(t, ex, "ended-1", "exit 9")
	st = dispatchtest.WaitTerminal(t, ex, done, 20*time.Second)
	require.Equal(t, 9, *st.ExitCode)
	pid, err = strconv.Atoi(supervisorPID(t, filepath.Join(dir, "ended-1")))
	require.NoError(t, err)
	_ = syscall.Kill(pid, syscall.SIGKILL) // already gone, or killed now: the outcome is on disk
	st, err = ex.Status(context.Background(), done)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, st.State)
	require.Equal(t, 9, *st.ExitCode)
}

// BenchmarkStartExitTrue runs `true` jobs one after another, each started
// when the previous one's end is notified: the cost of one chain hop in the
// executor. Compare with BenchmarkForkExecTrue.
func BenchmarkStartExitTrue(b *testing.B) {
	dir := b.TempDir()
	ex, err := local.New(local.Config{StateDir: dir, SupervisorCmd: supervisorCmd()})
	require.NoError(b, err)
	b.Cleanup(func() { _ = ex.Close() })
	ended := make(chan string, 1)
	ex.Subscribe(func(id string, _ *dispatch.Status) { ended <- id })
	ctx := context.Background()
	// The supervisor starts once per node, not per job.
	h, err := ex.Start(ctx, dispatchtest.NewRequest("warm", localJob("true", "")))
	require.NoError(b, err)
	require.Equal(b, h.ID, <-ended)
	i := 0
	for b.Loop() {
		i++
		h, err := ex.Start(ctx, dispatchtest.NewRequest("bench-"+strconv.Itoa(i), localJob("true", "")))
		if err != nil {
			b.Fatal(err)
		}
		if id := <-ended; id != h.ID {
			b.Fatalf("ended %s, want %s", id, h.ID)
		}
		st, err := ex.Status(ctx, h)
		if err != nil {
			b.Fatal(err)
		}
		if st.State != dispatch.StateExited || *st.ExitCode != 0 {
			b.Fatalf("status %+v", st)
		}
	}
}

// BenchmarkStartParallelTrue starts `true` jobs 16 at a time, as the
// runner's start lane does in a fan-out, and waits for each one's end
// notification (jobs/s).
func BenchmarkStartParallelTrue(b *testing.B) {
	dir := b.TempDir()
	ex, err := local.New(local.Config{StateDir: dir, SupervisorCmd: supervisorCmd()})
	require.NoError(b, err)
	b.Cleanup(func() { _ = ex.Close() })
	var mu sync.Mutex
	waiting := map[string]chan struct{}{}
	ex.Subscribe(func(id string, _ *dispatch.Status) {
		mu.Lock()
		ch := waiting[id]
		delete(waiting, id)
		mu.Unlock()
		if ch != nil {
			close(ch)
		}
	})
	ctx := context.Background()
	_, err = ex.Start(ctx, dispatchtest.NewRequest("warm", localJob("true", "")))
	require.NoError(b, err)
	var n atomic.Int64
	b.SetParallelism(8) // 16 on two cores, as DispatchWorkersDefault
	t0 := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := dispatchtest.NewRequest("par-"+strconv.FormatInt(n.Add(1), 10), localJob("true", ""))
			ch := make(chan struct{})
			mu.Lock()
			waiting[req.Key] = ch
			mu.Unlock()
			if _, err := ex.Start(ctx, req); err != nil {
				b.Error(err)
				return
			}
			<-ch
		}
	})
	b.ReportMetric(float64(n.Load())/time.Since(t0).Seconds(), "jobs/s")
}

// BenchmarkForkExecTrue is the floor: the server itself running `/bin/sh
// -c true` and waiting for it, with no record of anything.
func BenchmarkForkExecTrue(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("/bin/sh", "-c", "true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// subscribe collects the notified handle IDs.
func subscribe(ex *local.Executor) <-chan string {
	ch := make(chan string, 100)
	ex.Subscribe(func(id string, _ *dispatch.Status) { ch <- id })
	return ch
}

func waitNotified(t *testing.T, ch <-chan string, id string) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		select {
		case got := <-ch:
			if got == id {
				return
			}
		case <-timeout:
			require.Failf(t, "no notification", "for %s", id)
		}
	}
}

// The executor tells its subscribers when a job's outcome is recorded,
// and the outcome is there when it does.
func TestNotifiesEnd(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	ended := subscribe(ex)
	gate := filepath.Join(t.TempDir(), "gate")
	h := start(t, ex, "notify-1", "while [ ! -e "+shQuote(gate)+" ]; do sleep 0.02; done; exit 3")
	select {
	case id := <-ended:
		require.Failf(t, "notified before the end", "%s", id)
	case <-time.After(100 * time.Millisecond):
	}
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	waitNotified(t, ended, h.ID)
	// The notification carried the outcome Status reads.
	ex.Subscribe(func(string, *dispatch.Status) {}) // (a late subscriber is fine)
	st, err := ex.Status(context.Background(), h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, st.State)
	require.Equal(t, 3, *st.ExitCode)

	// Failing to start and cancelling before the start are ends too.
	bad, err := ex.Start(context.Background(), dispatchtest.NewRequest("notify-2", localJob("true", filepath.Join(t.TempDir(), "missing"))))
	require.NoError(t, err)
	waitNotified(t, ended, bad.ID)
}

// An executor of a restarted server, subscribed before it starts anything,
// hears of the end of a job started by its predecessor.
func TestNotifiesAdoptedJob(t *testing.T) {
	dir := newStateDir(t)
	gate := filepath.Join(t.TempDir(), "gate")
	first := newExecutor(t, dir)
	h := start(t, first, "adopt-1", "while [ ! -e "+shQuote(gate)+" ]; do sleep 0.02; done")
	second := newExecutor(t, dir)
	ended := subscribe(second)
	require.NoError(t, first.Close())
	// The second executor connects in the background; give the
	// supervisor a way to tell when it has.
	require.Eventually(t, func() bool { return supervisorConns(t, dir) >= 1 }, 20*time.Second, 10*time.Millisecond)
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	waitNotified(t, ended, h.ID)
}

// supervisorConns counts the unix connections the supervisor of dir
// accepted that are still open, from /proc/net/unix.
func supervisorConns(t *testing.T, dir string) int {
	data, err := os.ReadFile("/proc/net/unix")
	require.NoError(t, err)
	n := 0
	for _, l := range strings.Split(string(data), "\n") {
		// Accepted sockets carry the listener's path, state 03 (connected).
		f := strings.Fields(l)
		if len(f) == 8 && f[5] == "03" && f[7] == filepath.Join(dir, "supervisor.sock") {
			n++
		}
	}
	return n
}

func pidAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(data), ") Z ")
}

// A background process left by a job that ended normally is stopped with
// the job, unless the job keeps its children.
func TestChildrenLeftBehind(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	ctx := context.Background()
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep=%v", keep), func(t *testing.T) {
			pidFile := filepath.Join(t.TempDir(), "pid")
			job := localJob("sleep 300 & echo $! > "+shQuote(pidFile), "")
			job.Local.KeepChildren = keep
			h, err := ex.Start(ctx, dispatchtest.NewRequest(fmt.Sprintf("child-%v", keep), job))
			require.NoError(t, err)
			st := dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
			require.Equal(t, 0, *st.ExitCode)
			pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
			require.NoError(t, err)
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
			out, _ := dispatchtest.ReadLogs(t, ex, h, "", 0)
			if keep {
				require.True(t, pidAlive(pid), "the child is kept")
				require.Empty(t, string(out))
				return
			}
			require.Eventually(t, func() bool { return !pidAlive(pid) }, 20*time.Second, 10*time.Millisecond, "the child %d is stopped", pid)
			require.Contains(t, string(out), "left processes running in its process group")
			require.Contains(t, string(out), "keep_children: true")
		})
	}
}

// A child that ignores SIGTERM is killed after the grace period, even when
// the grace outlasts the supervisor's idle time and no server is connected.
func TestStubbornChildKilled(t *testing.T) {
	dir := newStateDir(t)
	ex, err := local.New(local.Config{StateDir: dir, SupervisorCmd: supervisorCmd(), KillGrace: 3 * time.Second})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	pidFile := filepath.Join(t.TempDir(), "pid")
	h := start(t, ex, "stubborn-child", "(trap '' TERM; sleep 300) & echo $! > "+shQuote(pidFile))
	dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.NoError(t, ex.Close())
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, pidFile)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	require.Eventually(t, func() bool { return !pidAlive(pid) }, 20*time.Second, 10*time.Millisecond)
}

// A log over its cap keeps its start and its end, says where it was cut,
// and takes no more disk than the cap; cursors stay valid.
func TestLogCap(t *testing.T) {
	dir := newStateDir(t)
	const max = 64 << 10
	ex, err := local.New(local.Config{StateDir: dir, SupervisorCmd: supervisorCmd(), LogMax: max})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	// 4000 numbered lines of 100 bytes: 400 kB.
	h := start(t, ex, "cap-1", `i=0; while [ $i -lt 4000 ]; do printf '%099d\n' $i; i=$((i+1)); done`)
	st := dispatchtest.WaitTerminal(t, ex, h, 60*time.Second)
	require.Equal(t, 0, *st.ExitCode)

	out, _ := dispatchtest.ReadLogs(t, ex, h, "", 1000)
	text := string(out)
	head, rest, ok := strings.Cut(text, "\n[koyomi: log truncated here, ")
	require.True(t, ok, "the log says where it was cut")
	require.True(t, strings.HasPrefix(head, fmt.Sprintf("%099d\n%099d\n", 0, 1)), "the start is kept")
	require.Len(t, head, max/4)
	marker, tail, ok := strings.Cut(rest, "]\n")
	require.True(t, ok)
	require.Contains(t, marker, "left out: a job's log is capped at 64 KiB, its first 16 KiB and its last 48 KiB are kept")
	require.Len(t, tail, max-max/4)
	require.True(t, strings.HasSuffix(tail, fmt.Sprintf("%099d\n", 3999)), "the end is kept")

	var fst syscall.Stat_t
	require.NoError(t, syscall.Stat(filepath.Join(dir, "cap-1", "log"), &fst))
	require.Equal(t, int64(400_000), fst.Size, "offsets are kept")
	require.LessOrEqual(t, fst.Blocks*512, int64(max+64<<10), "the disk holds about the cap")
}

// A supervisor started from another binary is retired: it supervises its
// running job to the end while a new supervisor takes new jobs.
func TestSupervisorOfAnotherBinaryRetired(t *testing.T) {
	dir := newStateDir(t)
	other := filepath.Join(t.TempDir(), "koyomi-old")
	data, err := os.ReadFile(os.Args[0])
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(other, data, 0o700))
	old, err := local.New(local.Config{StateDir: dir, SupervisorCmd: []string{other, roleSupervisor}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = old.Close() })
	gate := filepath.Join(t.TempDir(), "gate")
	h := start(t, old, "old-1", "while [ ! -e "+shQuote(gate)+" ]; do sleep 0.02; done; exit 4")
	oldPID := supervisorPID(t, filepath.Join(dir, "old-1"))

	// The new server subscribes first (as a runner does): it connects to
	// the old supervisor to hear of its job; its start still goes to a
	// supervisor of its own build.
	ex := newExecutor(t, dir)
	subscribe(ex)
	require.Eventually(t, func() bool { return supervisorConns(t, dir) >= 2 }, 20*time.Second, 10*time.Millisecond)
	h2 := start(t, ex, "new-1", "exit 6")
	newPID := supervisorPID(t, filepath.Join(dir, "new-1"))
	require.NotEqual(t, oldPID, newPID)
	st := dispatchtest.WaitTerminal(t, ex, h2, 20*time.Second)
	require.Equal(t, 6, *st.ExitCode)

	st, err = ex.Status(context.Background(), h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateRunning, st.State)
	require.NoError(t, os.WriteFile(gate, nil, 0o600))
	st = dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.Equal(t, 4, *st.ExitCode)
	// The retired supervisor exits once its job has ended.
	require.Eventually(t, func() bool { _, err := os.Stat("/proc/" + oldPID); return err != nil }, 20*time.Second, 10*time.Millisecond)
}

// Many jobs started at once from one executor share one supervisor and
// all run, once each.
func TestFanOut(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	ended := subscribe(ex)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := ex.Start(context.Background(), dispatchtest.NewRequest(fmt.Sprintf("fan-%d", i), localJob("exit "+strconv.Itoa(i%3), "")))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	seen := map[string]bool{}
	timeout := time.After(30 * time.Second)
	for len(seen) < n {
		select {
		case id := <-ended:
			seen[id] = true
		case <-timeout:
			require.Failf(t, "missing notifications", "got %d of %d", len(seen), n)
		}
	}
	sups := map[string]bool{}
	for i := range n {
		h := dispatch.Handle{Executor: "local", ID: fmt.Sprintf("fan-%d", i)}
		st, err := ex.Status(context.Background(), h)
		require.NoError(t, err)
		require.Equal(t, i%3, *st.ExitCode)
		sups[supervisorPID(t, filepath.Join(dir, h.ID))] = true
	}
	require.Len(t, sups, 1, "one supervisor")
}

// Prune removes what ended before the cutoff and keeps what ended after it,
// what runs and what is being started.
func TestPrune(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	ctx := context.Background()
	old := start(t, ex, "prune-old", "true")
	dispatchtest.WaitTerminal(t, ex, old, 20*time.Second)
	// Age the outcome by rewriting its end time.
	runPath := filepath.Join(dir, old.ID, "run")
	lines := strings.SplitAfter(readFile(t, runPath), "\n")
	var aged strings.Builder
	for _, l := range lines {
		var line map[string]map[string]any
		if json.Unmarshal([]byte(l), &line) == nil && line["exit"] != nil {
			line["exit"]["ended_at"] = time.Now().Add(-48 * time.Hour).UTC().Format(time.RFC3339Nano)
			data, err := json.Marshal(line)
			require.NoError(t, err)
			l = string(data) + "\n"
		}
		aged.WriteString(l)
	}
	require.Contains(t, aged.String(), `"exit"`)
	require.NoError(t, os.WriteFile(runPath, []byte(aged.String()), 0o600))

	recent := start(t, ex, "prune-recent", "true")
	dispatchtest.WaitTerminal(t, ex, recent, 20*time.Second)
	running := start(t, ex, "prune-running", "sleep 600")
	// An abandoned directory (the server died before the supervisor got it), old.
	abandoned := filepath.Join(dir, "prune-abandoned")
	require.NoError(t, os.Mkdir(abandoned, 0o700))
	require.NoError(t, os.Chtimes(abandoned, time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour)))
	// Its running job's directory is untouched for long too.
	require.NoError(t, os.Chtimes(filepath.Join(dir, running.ID), time.Now().Add(-48*time.Hour), time.Now().Add(-48*time.Hour)))

	n, err := ex.Prune(ctx, time.Now().Add(-24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.NoDirExists(t, filepath.Join(dir, old.ID))
	require.NoDirExists(t, abandoned)
	require.DirExists(t, filepath.Join(dir, recent.ID))
	require.DirExists(t, filepath.Join(dir, running.ID))
	_, err = ex.Status(ctx, old)
	require.ErrorIs(t, err, dispatch.ErrUnknownHandle)
	st, err := ex.Status(ctx, running)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateRunning, st.State)
}

// A notification carries the outcome as recorded, the same Status returns.
func TestNotificationCarriesOutcome(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	got := make(chan dispatch.Status, 10)
	ex.Subscribe(func(id string, st *dispatch.Status) {
		if id == "carry-1" && st != nil {
			got <- *st
		}
	})
	h := start(t, ex, "carry-1", "echo x; exit 4")
	var st dispatch.Status
	select {
	case st = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("no notification with an outcome")
	}
	require.Equal(t, dispatch.StateExited, st.State)
	require.Equal(t, 4, *st.ExitCode)
	polled, err := ex.Status(context.Background(), h)
	require.NoError(t, err)
	require.Equal(t, polled, st)
}

// The job's environment (which may hold secrets) is handed to the
// supervisor over its socket and never written to the state directory.
func TestEnvironmentNotOnDisk(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	req := dispatchtest.NewRequest("env-1", localJob("true", ""))
	req.Env["DB_PASSWORD"] = "s3cr3t-value-on-no-disk"
	h, err := ex.Start(context.Background(), req)
	require.NoError(t, err)
	dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || d.Type()&fs.ModeSocket != 0 {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		require.NotContains(t, string(data), "s3cr3t-value-on-no-disk", "in %s", path)
		return nil
	}))
}

// Executions recorded in the layout of earlier versions (one file per
// record, lock files) are still read: their outcome, their log, a second
// Start that must not run them again, and their retention.
func TestEarlierLayout(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	ctx := context.Background()
	mark := filepath.Join(t.TempDir(), "ran")
	write := func(key, name, content string) {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, key), 0o700))
		require.NoError(t, os.WriteFile(filepath.Join(dir, key, name), []byte(content), 0o600))
	}
	ended := time.Now().Add(-time.Hour).UTC()
	write("old-ended", "supervisor", "999999")
	write("old-ended", "job", `{"pid":999998,"started_at":"`+ended.Add(-time.Minute).Format(time.RFC3339Nano)+`"}`)
	write("old-ended", "exit", `{"code":3,"ended_at":"`+ended.Format(time.RFC3339Nano)+`"}`)
	write("old-ended", "log", "from before\n")
	write("old-ended", "run.lock", "")
	h := dispatch.Handle{Executor: "local", ID: "old-ended"}
	st, err := ex.Status(ctx, h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, st.State)
	require.Equal(t, 3, *st.ExitCode)
	require.True(t, st.EndedAt.Equal(ended))
	out, _ := dispatchtest.ReadLogs(t, ex, h, "", 0)
	require.Equal(t, "from before\n", string(out))
	again, err := ex.Start(ctx, dispatchtest.NewRequest("old-ended", localJob("touch "+shQuote(mark), "")))
	require.NoError(t, err)
	require.Equal(t, h, again)

	// Its supervisor died (kill -9) without recording the outcome.
	write("old-lost", "supervisor", "999999")
	write("old-lost", "run.lock", "")
	st, err = ex.Status(ctx, dispatch.Handle{Executor: "local", ID: "old-lost"})
	require.NoError(t, err)
	require.Equal(t, dispatch.StateLost, st.State)
	_, err = ex.Start(ctx, dispatchtest.NewRequest("old-lost", localJob("touch "+shQuote(mark), "")))
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond)
	require.NoFileExists(t, mark, "never run twice")

	n, err := ex.Prune(ctx, time.Now().Add(-2*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 0, n, "ended or untouched within the retention")
	old := time.Now().Add(-48 * time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "old-lost"), old, old))
	n, err = ex.Prune(ctx, time.Now().Add(-30*time.Minute))
	require.NoError(t, err)
	require.Equal(t, 2, n)
}
