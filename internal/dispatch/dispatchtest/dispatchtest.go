package dispatchtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// TimeoutDefault is how long the suite waits for a state change when the
// harness does not say.
const TimeoutDefault = 20 * time.Second

// PollIntervalDefault is the pause between two polls.
const PollIntervalDefault = 20 * time.Millisecond

// Backend is one isolated backend instance (a state directory, a fake
// cluster) prepared for one case.
type Backend struct {
	// New returns a new executor instance over this backend. The suite calls
	// it more than once to simulate a server restart: every instance must
	// see the executions the others started.
	New func(t *testing.T) dispatch.Executor
	// Executions reports how many executions the backend has actually
	// started (processes, tasks, pods), for the idempotency case.
	Executions func(t *testing.T) int
}

// Harness describes the executor under test. Setup, ExitJob and Type are
// required; a nil job hook means the backend cannot express that kind of job
// and the cases needing it are skipped with a message.
type Harness struct {
	// Type is the job type the executor reports.
	Type jobnet.JobType
	// Setup prepares a fresh, isolated backend for one case.
	Setup func(t *testing.T) Backend
	// ExitCodes are the codes ExitJob can produce; nil means 0, 3 and 255.
	ExitCodes []int
	// ExitJob returns a job that exits with code.
	ExitJob func(t *testing.T, code int) jobnet.Job
	// StagedJob returns a job that prints the first lines, waits until
	// release is called, prints the second lines and exits 0.
	StagedJob func(t *testing.T, first, second []string) (job jobnet.Job, release func())
	// LongJob returns a job that runs until it is killed.
	LongJob func(t *testing.T) jobnet.Job
	// StubbornJob returns a job that ignores the graceful stop and runs
	// until it is killed.
	StubbornJob func(t *testing.T) jobnet.Job
	// BadJob returns a job that cannot start.
	BadJob func(t *testing.T) jobnet.Job
	// EnvJob returns a job that prints the value of the variable name and
	// exits 0.
	EnvJob func(t *testing.T, name string) jobnet.Job
	// Timeout bounds every wait for a state change (TimeoutDefault if 0).
	Timeout time.Duration
	// Grace is the cancel grace period the suite uses (1s if 0).
	Grace time.Duration
}

func (h Harness) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return TimeoutDefault
}

func (h Harness) grace() time.Duration {
	if h.Grace > 0 {
		return h.Grace
	}
	return time.Second
}

// Run runs the conformance suite against the harness.
func Run(t *testing.T, h Harness) {
	t.Helper()
	require.NotNil(t, h.Setup, "Harness.Setup is required")
	require.NotNil(t, h.ExitJob, "Harness.ExitJob is required")
	require.NotEmpty(t, h.Type, "Harness.Type is required")
	s := &suite{h: h}
	t.Run("Type", s.testType)
	t.Run("ExitCodes", s.testExitCodes)
	t.Run("IdempotentStart", s.testIdempotentStart)
	t.Run("ConcurrentStart", s.testConcurrentStart)
	t.Run("LogsWhileRunning", s.testLogsWhileRunning)
	t.Run("CancelRunning", s.testCancelRunning)
	t.Run("CancelStubborn", s.testCancelStubborn)
	t.Run("CancelEnded", s.testCancelEnded)
	t.Run("FailedToStart", s.testFailedToStart)
	t.Run("UnknownHandle", s.testUnknownHandle)
	t.Run("Env", s.testEnv)
	t.Run("Restart", s.testRestart)
}

type suite struct {
	h   Harness
	seq atomic.Int64
}

// key returns a fresh idempotency key for a case.
func (s *suite) key(name string) string {
	return fmt.Sprintf("ct-%s-%d-%d", name, time.Now().UnixNano()%1_000_000_000, s.seq.Add(1))
}

// NewRequest returns a request with the Koyomi variables set for key and job.
func NewRequest(key string, job jobnet.Job) dispatch.Request {
	return dispatch.Request{
		Key:          key,
		RunID:        "run-" + key,
		Jobnet:       "conformance/net",
		Unit:         "job",
		Attempt:      1,
		BusinessDate: "2026-04-01",
		Job:          job,
		Env: map[string]string{
			"KOYOMI_BUSINESS_DATE": "2026-04-01",
			"KOYOMI_JOBNET":        "conformance/net",
			"KOYOMI_JOB":           "job",
			"KOYOMI_RUN_ID":        "run-" + key,
			"KOYOMI_ATTEMPT":       "1",
		},
	}
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// WaitFor polls Status until pred holds and returns that status. It fails
// the test when timeout passes first, showing the last status seen.
func WaitFor(t *testing.T, ex dispatch.Executor, h dispatch.Handle, timeout time.Duration, what string, pred func(dispatch.Status) bool) dispatch.Status {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last dispatch.Status
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		st, err := ex.Status(ctx, h)
		cancel()
		if err == nil {
			last, lastErr = st, nil
			if pred(st) {
				return st
			}
		} else {
			lastErr = err
		}
		if time.Now().After(deadline) {
			require.FailNowf(t, "timed out", "waiting %s for %s: last status %+v, last error %v", timeout, what, last, lastErr)
		}
		time.Sleep(PollIntervalDefault)
	}
}

// WaitTerminal polls Status until the execution has ended.
func WaitTerminal(t *testing.T, ex dispatch.Executor, h dispatch.Handle, timeout time.Duration) dispatch.Status {
	t.Helper()
	return WaitFor(t, ex, h, timeout, "a terminal state", func(st dispatch.Status) bool { return st.State.IsTerminal() })
}

// ReadLogs reads the log from cursor to its current end in pages of limit
// bytes and returns the data and the cursor after it.
func ReadLogs(t *testing.T, ex dispatch.Executor, h dispatch.Handle, cursor string, limit int) ([]byte, string) {
	t.Helper()
	var out []byte
	for range 1_000_000 {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		chunk, err := ex.Logs(ctx, h, cursor, limit)
		cancel()
		require.NoError(t, err, "logs from cursor %q", cursor)
		if limit > 0 {
			require.LessOrEqual(t, len(chunk.Data), limit, "a chunk is at most limit bytes")
		}
		out = append(out, chunk.Data...)
		require.NotEmpty(t, chunk.Next, "logs return a cursor")
		if !chunk.More {
			return out, chunk.Next
		}
		require.True(t, len(chunk.Data) > 0 || chunk.Next != cursor, "a chunk with More set makes progress")
		cursor = chunk.Next
	}
	require.FailNow(t, "log never ended")
	return nil, ""
}

func (s *suite) start(t *testing.T, ex dispatch.Executor, key string, job jobnet.Job) dispatch.Handle {
	t.Helper()
	hd, err := ex.Start(ctxFor(t, s.h.timeout()), NewRequest(key, job))
	require.NoError(t, err, "start %s", key)
	require.Equal(t, string(s.h.Type), hd.Executor, "handle names the executor")
	require.NotEmpty(t, hd.ID, "handle has an id")
	return hd
}

// stopAtEnd cancels the execution when the test ends, so that no long job
// outlives its case.
func (s *suite) stopAtEnd(t *testing.T, ex dispatch.Executor, hd dispatch.Handle) {
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.h.timeout())
		defer cancel()
		_ = ex.Cancel(ctx, hd, 10*time.Millisecond)
		deadline := time.Now().Add(s.h.timeout())
		for time.Now().Before(deadline) {
			st, err := ex.Status(ctx, hd)
			if err != nil || st.State.IsTerminal() {
				return
			}
			time.Sleep(PollIntervalDefault)
		}
	})
}

func (s *suite) testType(t *testing.T) {
	b := s.h.Setup(t)
	require.Equal(t, s.h.Type, b.New(t).Type())
}

func (s *suite) testExitCodes(t *testing.T) {
	codes := s.h.ExitCodes
	if codes == nil {
		codes = []int{0, 3, 255}
	}
	for _, code := range codes {
		t.Run(strconv.Itoa(code), func(t *testing.T) {
			b := s.h.Setup(t)
			ex := b.New(t)
			hd := s.start(t, ex, s.key("exit"), s.h.ExitJob(t, code))
			st, err := ex.Status(ctxFor(t, s.h.timeout()), hd)
			require.NoError(t, err)
			require.Contains(t, []dispatch.State{dispatch.StatePending, dispatch.StateRunning, dispatch.StateExited}, st.State)
			st = WaitTerminal(t, ex, hd, s.h.timeout())
			require.Equal(t, dispatch.StateExited, st.State, "reason %q", st.Reason)
			require.NotNil(t, st.ExitCode)
			require.Equal(t, code, *st.ExitCode)
			require.False(t, st.EndedAt.IsZero(), "an ended execution has EndedAt")
			if !st.StartedAt.IsZero() {
				require.False(t, st.EndedAt.Before(st.StartedAt), "EndedAt %v is not before StartedAt %v", st.EndedAt, st.StartedAt)
			}
		})
	}
}

func (s *suite) testIdempotentStart(t *testing.T) {
	b := s.h.Setup(t)
	ex := b.New(t)
	key := s.key("idem")
	job := s.h.ExitJob(t, 0)
	h1 := s.start(t, ex, key, job)
	h2 := s.start(t, ex, key, job)
	require.Equal(t, h1, h2, "the same key returns the same handle")
	st := WaitTerminal(t, ex, h1, s.h.timeout())
	require.Equal(t, dispatch.StateExited, st.State, "reason %q", st.Reason)
	// After the end, and from another instance over the same backend.
	h3 := s.start(t, ex, key, job)
	require.Equal(t, h1, h3, "the same key returns the same handle after the end")
	h4 := s.start(t, b.New(t), key, job)
	require.Equal(t, h1, h4, "the same key returns the same handle from a new instance")
	require.Equal(t, 1, b.Executions(t), "the same key starts one execution")
	st, err := ex.Status(ctxFor(t, s.h.timeout()), h1)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, st.State, "a repeated start does not disturb the outcome")

	other := s.start(t, ex, s.key("idem"), s.h.ExitJob(t, 0))
	require.NotEqual(t, h1, other, "another key gets another handle")
	WaitTerminal(t, ex, other, s.h.timeout())
	require.Equal(t, 2, b.Executions(t), "another key starts another execution")
}

func (s *suite) testConcurrentStart(t *testing.T) {
	b := s.h.Setup(t)
	const n = 8
	exs := make([]dispatch.Executor, n)
	for i := range exs {
		// Half share an instance, half are separate instances.
		if i%2 == 0 || i == 1 {
			exs[i] = b.New(t)
		} else {
			exs[i] = exs[i-1]
		}
	}
	key := s.key("conc")
	job := s.h.ExitJob(t, 0)
	handles := make([]dispatch.Handle, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			handles[i], errs[i] = exs[i].Start(ctxFor(t, s.h.timeout()), NewRequest(key, job))
		})
	}
	wg.Wait()
	for i := range n {
		require.NoError(t, errs[i], "start %d", i)
		require.Equal(t, handles[0], handles[i], "start %d returns the same handle", i)
	}
	st := WaitTerminal(t, exs[0], handles[0], s.h.timeout())
	require.Equal(t, dispatch.StateExited, st.State, "reason %q", st.Reason)
	require.Equal(t, 1, b.Executions(t), "concurrent starts with one key start one execution")
}

func lines(ls []string) string {
	var sb strings.Builder
	for _, l := range ls {
		sb.WriteString(l)
		sb.WriteByte('\n')
	}
	return sb.String()
}

func (s *suite) testLogsWhileRunning(t *testing.T) {
	if s.h.StagedJob == nil {
		t.Skip("the backend has no jobs that wait while running (Harness.StagedJob is nil)")
	}
	b := s.h.Setup(t)
	ex := b.New(t)
	first := []string{"first line", "zweite Zeile", "三行目"}
	second := []string{"after release 1", "after release 2"}
	job, release := s.h.StagedJob(t, first, second)
	hd := s.start(t, ex, s.key("logs"), job)
	s.stopAtEnd(t, ex, hd)

	// Poll until the first lines are there, resuming from the cursor.
	var got []byte
	cursor := ""
	deadline := time.Now().Add(s.h.timeout())
	for len(got) < len(lines(first)) {
		data, next := ReadLogs(t, ex, hd, cursor, 7)
		got = append(got, data...)
		cursor = next
		require.True(t, strings.HasPrefix(lines(first), string(got)) || strings.HasPrefix(string(got), lines(first)),
			"log so far %q is a prefix of the first lines", got)
		if time.Now().After(deadline) {
			require.FailNowf(t, "timed out", "waiting for the first lines; have %q", got)
		}
		time.Sleep(PollIntervalDefault)
	}
	require.Equal(t, lines(first), string(got))
	st, err := ex.Status(ctxFor(t, s.h.timeout()), hd)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateRunning, st.State, "the job waits for its release")

	// Nothing new while it waits.
	data, next := ReadLogs(t, ex, hd, cursor, 0)
	require.Empty(t, data, "no output before the release")
	require.Equal(t, cursor, next, "an empty read keeps the cursor")

	release()
	st = WaitTerminal(t, ex, hd, s.h.timeout())
	require.Equal(t, dispatch.StateExited, st.State, "reason %q", st.Reason)
	require.Equal(t, 0, *st.ExitCode)

	rest, _ := ReadLogs(t, ex, hd, cursor, 0)
	require.Equal(t, lines(first)+lines(second), string(got)+string(rest), "the cursor resumes without duplication or loss")

	all, _ := ReadLogs(t, ex, hd, "", 0)
	require.Equal(t, lines(first)+lines(second), string(all), "after the end the whole log reads from the start")
	paged, _ := ReadLogs(t, ex, hd, "", 3)
	require.Equal(t, string(all), string(paged), "small pages read the same log")
}

func (s *suite) cancelCase(t *testing.T, job jobnet.Job) {
	b := s.h.Setup(t)
	ex := b.New(t)
	hd := s.start(t, ex, s.key("cancel"), job)
	s.stopAtEnd(t, ex, hd)
	WaitFor(t, ex, hd, s.h.timeout(), "running", func(st dispatch.Status) bool {
		require.False(t, st.State.IsTerminal(), "the job ended before it was cancelled: %+v", st)
		return st.State == dispatch.StateRunning
	})
	grace := s.h.grace()
	begin := time.Now()
	require.NoError(t, ex.Cancel(ctxFor(t, s.h.timeout()), hd, grace))
	// The job must be gone within the grace period; the slack covers
	// polling and a loaded machine.
	st := WaitTerminal(t, ex, hd, grace+s.h.timeout())
	took := time.Since(begin)
	require.Equal(t, dispatch.StateCancelled, st.State, "reason %q", st.Reason)
	require.Less(t, took, grace+s.h.timeout(), "cancel took %v", took)
	t.Logf("cancelled in %v (grace %v): %q", took, grace, st.Reason)

	// Cancelling again is not an error and keeps the outcome.
	require.NoError(t, ex.Cancel(ctxFor(t, s.h.timeout()), hd, grace))
	again, err := ex.Status(ctxFor(t, s.h.timeout()), hd)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateCancelled, again.State)
}

func (s *suite) testCancelRunning(t *testing.T) {
	if s.h.LongJob == nil {
		t.Skip("the backend has no long-running jobs (Harness.LongJob is nil)")
	}
	s.cancelCase(t, s.h.LongJob(t))
}

func (s *suite) testCancelStubborn(t *testing.T) {
	if s.h.StubbornJob == nil {
		t.Skip("the backend has no jobs that ignore a graceful stop (Harness.StubbornJob is nil)")
	}
	s.cancelCase(t, s.h.StubbornJob(t))
}

func (s *suite) testCancelEnded(t *testing.T) {
	b := s.h.Setup(t)
	ex := b.New(t)
	code := 0
	for _, c := range s.h.ExitCodes {
		if c != 0 {
			code = c
		}
	}
	if s.h.ExitCodes == nil {
		code = 3
	}
	hd := s.start(t, ex, s.key("cancel-ended"), s.h.ExitJob(t, code))
	st := WaitTerminal(t, ex, hd, s.h.timeout())
	require.Equal(t, dispatch.StateExited, st.State)
	require.NoError(t, ex.Cancel(ctxFor(t, s.h.timeout()), hd, s.h.grace()), "cancelling an ended job is not an error")
	after, err := ex.Status(ctxFor(t, s.h.timeout()), hd)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, after.State, "cancel does not rewrite an outcome")
	require.Equal(t, code, *after.ExitCode)
}

func (s *suite) testFailedToStart(t *testing.T) {
	if s.h.BadJob == nil {
		t.Skip("the backend has no jobs that cannot start (Harness.BadJob is nil)")
	}
	b := s.h.Setup(t)
	ex := b.New(t)
	hd, err := ex.Start(ctxFor(t, s.h.timeout()), NewRequest(s.key("bad"), s.h.BadJob(t)))
	if err != nil {
		var perm *dispatch.Permanent
		require.True(t, errors.As(err, &perm), "a start error for a job that cannot start is Permanent: %v", err)
		require.False(t, dispatch.IsRetryable(err))
		return
	}
	st := WaitTerminal(t, ex, hd, s.h.timeout())
	require.Equal(t, dispatch.StateFailedToStart, st.State, "status %+v", st)
	require.NotEmpty(t, st.Reason, "failed_to_start carries a reason")
	require.Nil(t, st.ExitCode, "a job that never started has no exit code")
}

func (s *suite) testUnknownHandle(t *testing.T) {
	b := s.h.Setup(t)
	ex := b.New(t)
	// A handle made by another backend instance is unknown here.
	otherBackend := s.h.Setup(t)
	foreign := s.start(t, otherBackend.New(t), s.key("foreign"), s.h.ExitJob(t, 0))
	garbage := []dispatch.Handle{
		{},
		{Executor: string(s.h.Type)},
		{Executor: "no-such-executor", ID: foreign.ID, Data: foreign.Data},
		{Executor: string(s.h.Type), ID: "../../../../etc/passwd"},
		{Executor: string(s.h.Type), ID: "ct-never-started-0"},
		{Executor: string(s.h.Type), ID: "\x00\xff"},
		{Executor: string(s.h.Type), ID: strings.Repeat("x", 300)},
		foreign,
	}
	for i, hd := range garbage {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			st, err := ex.Status(ctxFor(t, s.h.timeout()), hd)
			if err != nil {
				require.ErrorIs(t, err, dispatch.ErrUnknownHandle, "status of %+v", hd)
			} else {
				require.Equal(t, dispatch.StateLost, st.State, "status of unknown handle %+v", hd)
			}
			_, err = ex.Logs(ctxFor(t, s.h.timeout()), hd, "", 0)
			if err != nil {
				require.ErrorIs(t, err, dispatch.ErrUnknownHandle, "logs of %+v", hd)
			}
		})
	}
}

func (s *suite) testEnv(t *testing.T) {
	if s.h.EnvJob == nil {
		t.Skip("the backend's jobs cannot print their environment (Harness.EnvJob is nil)")
	}
	b := s.h.Setup(t)
	ex := b.New(t)
	const name, value = "KOYOMI_CONFORMANCE_VALUE", "a value with spaces, 'quotes' and 日本語"
	req := NewRequest(s.key("env"), s.h.EnvJob(t, name))
	req.Env[name] = value
	hd, err := ex.Start(ctxFor(t, s.h.timeout()), req)
	require.NoError(t, err)
	st := WaitTerminal(t, ex, hd, s.h.timeout())
	require.Equal(t, dispatch.StateExited, st.State, "reason %q", st.Reason)
	require.Equal(t, 0, *st.ExitCode)
	out, _ := ReadLogs(t, ex, hd, "", 0)
	require.Equal(t, value+"\n", string(out))
}

func (s *suite) testRestart(t *testing.T) {
	b := s.h.Setup(t)
	old := b.New(t)
	key := s.key("restart")
	var (
		job     jobnet.Job
		release func()
		want    string
	)
	if s.h.StagedJob != nil {
		job, release = s.h.StagedJob(t, []string{"before restart"}, []string{"after restart"})
		want = "before restart\nafter restart\n"
	} else {
		job = s.h.ExitJob(t, 0)
	}
	hd := s.start(t, old, key, job)
	s.stopAtEnd(t, old, hd)

	raw, err := json.Marshal(hd)
	require.NoError(t, err)
	var back dispatch.Handle
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, hd.Executor, back.Executor)
	require.Equal(t, hd.ID, back.ID)
	if len(hd.Data) > 0 {
		require.JSONEq(t, string(hd.Data), string(back.Data))
	}

	fresh := b.New(t)
	if release != nil {
		WaitFor(t, fresh, back, s.h.timeout(), "running on the new instance", func(st dispatch.Status) bool {
			return st.State == dispatch.StateRunning
		})
		release()
	}
	st := WaitTerminal(t, fresh, back, s.h.timeout())
	require.Equal(t, dispatch.StateExited, st.State, "reason %q", st.Reason)
	require.Equal(t, 0, *st.ExitCode)
	out, _ := ReadLogs(t, fresh, back, "", 0)
	if want != "" {
		require.Equal(t, want, string(out))
	}
	require.NoError(t, fresh.Cancel(ctxFor(t, s.h.timeout()), back, s.h.grace()))
	// Starting the key again on the new instance re-attaches.
	again := s.start(t, fresh, key, job)
	require.Equal(t, hd.ID, again.ID)
	require.Equal(t, 1, b.Executions(t))
	st, err = fresh.Status(ctxFor(t, s.h.timeout()), again)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, st.State)

	if s.h.LongJob != nil {
		// A running job cancelled through a new instance.
		lk := s.key("restart-cancel")
		lh := s.start(t, old, lk, s.h.LongJob(t))
		s.stopAtEnd(t, old, lh)
		other := b.New(t)
		WaitFor(t, other, lh, s.h.timeout(), "running", func(st dispatch.Status) bool { return st.State == dispatch.StateRunning })
		require.NoError(t, other.Cancel(ctxFor(t, s.h.timeout()), lh, s.h.grace()))
		st := WaitTerminal(t, b.New(t), lh, s.h.grace()+s.h.timeout())
		require.Equal(t, dispatch.StateCancelled, st.State)
	}
}
