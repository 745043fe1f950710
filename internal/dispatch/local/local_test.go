package local_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
		if data, err := os.ReadFile(filepath.Join(dir, e.Name(), "supervisor")); err == nil {
			if pid, err := strconv.Atoi(string(data)); err == nil && pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		var job struct{ PID int }
		if data, err := os.ReadFile(filepath.Join(dir, e.Name(), "job")); err == nil && json.Unmarshal(data, &job) == nil && job.PID > 0 {
			_ = syscall.Kill(-job.PID, syscall.SIGKILL)
		}
	}
}

func newExecutor(t *testing.T, dir string) *local.Executor {
	ex, err := local.New(local.Config{StateDir: dir, SupervisorCmd: supervisorCmd(), KillGrace: 2 * time.Second})
	require.NoError(t, err)
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
	pid, err := strconv.Atoi(readFile(t, filepath.Join(dir, "stop-1", "supervisor")))
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
	require.NoError(t, os.Mkdir(filepath.Join(dir, "half-1"), 0o700))
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

// A cancel recorded before the supervisor starts keeps the job from running.
func TestCancelBeforeStart(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	mark := filepath.Join(t.TempDir(), "ran")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "early-1"), 0o700))
	h := dispatch.Handle{Executor: "local", ID: "early-1"}
	require.NoError(t, ex.Cancel(context.Background(), h, time.Second))
	start(t, ex, "early-1", "touch "+shQuote(mark))
	st := dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.Equal(t, dispatch.StateCancelled, st.State)
	require.Nil(t, st.ExitCode)
	require.Equal(t, "cancelled before the job started", st.Reason)
	require.NoFileExists(t, mark)
}

// The server reaps its supervisors: none is left as a zombie.
func TestSupervisorReaped(t *testing.T) {
	dir := newStateDir(t)
	ex := newExecutor(t, dir)
	h := start(t, ex, "reap-1", "true")
	dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	pid := readFile(t, filepath.Join(dir, "reap-1", "supervisor"))
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
	pid, err := strconv.Atoi(readFile(t, filepath.Join(dir, "orphan-1", "supervisor")))
	require.NoError(t, err)
	require.NoError(t, syscall.Kill(pid, syscall.SIGKILL))
	st := dispatchtest.WaitTerminal(t, ex, h, 20*time.Second)
	require.Equal(t, dispatch.StateLost, st.State)
	require.Nil(t, st.ExitCode)
	require.Contains(t, st.Reason, "the supervisor ended without recording the job's exit")
	require.Contains(t, st.Reason, "still runs")

	var job struct{ PID int }
	require.NoError(t, json.Unmarshal([]byte(readFile(t, filepath.Join(dir, "orphan-1", "job"))), &job))
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
	pid, err = strconv.Atoi(readFile(t, filepath.Join(dir, "ended-1", "supervisor")))
	require.NoError(t, err)
	_ = syscall.Kill(pid, syscall.SIGKILL) // already gone, or killed now: the outcome is on disk
	st, err = ex.Status(context.Background(), done)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, st.State)
	require.Equal(t, 9, *st.ExitCode)
}

func BenchmarkStartExitTrue(b *testing.B) {
	dir := b.TempDir()
	ex, err := local.New(local.Config{StateDir: dir, SupervisorCmd: supervisorCmd()})
	require.NoError(b, err)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		h, err := ex.Start(ctx, dispatchtest.NewRequest("bench-"+strconv.Itoa(i), localJob("true", "")))
		if err != nil {
			b.Fatal(err)
		}
		for {
			st, err := ex.Status(ctx, h)
			if err != nil {
				b.Fatal(err)
			}
			if st.State.IsTerminal() {
				if st.State != dispatch.StateExited || *st.ExitCode != 0 {
					b.Fatalf("status %+v", st)
				}
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
}
