package eks_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// Namespaces whose pods log bigLog (kube.Options.NamespaceLogs).
const (
	bigLogNS    = "biglog"
	bigLogCapNS = "biglog-cap"
)

// bigLog is a log of about 6 MB: more than one read of LogLimitDefault and
// more than the 4 MB the alert tail used to read from the start.
var bigLog = func() string {
	var b strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&b, "line %06d %s\n", i, strings.Repeat("y", 48))
	}
	return b.String()
}()

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// readAll reads a log through Logs from the start to its end.
func readAll(t *testing.T, e *eks.Executor, h dispatch.Handle) string {
	t.Helper()
	var b strings.Builder
	cursor := ""
	for range 10_000 {
		chunk, err := e.Logs(context.Background(), h, cursor, 0)
		require.NoError(t, err)
		b.Write(chunk.Data)
		cursor = chunk.Next
		if !chunk.More {
			return b.String()
		}
	}
	t.Fatal("the log did not end")
	return ""
}

func bigLogFixture(t *testing.T, ns string, cfg eks.Config) (*fixture, *testClock) {
	t.Helper()
	f := setup(t, eks.Config{})
	_ = f.e.Close()
	require.NoError(t, f.cp.NamespaceNamed(context.Background(), ns))
	clock := &testClock{t: time.Now()}
	cfg.Connections = []eks.Connection{{Name: "test", REST: f.cp.REST, Namespace: ns, LogQPS: 1000}}
	cfg.Now = clock.Now
	if cfg.LogDir == "" {
		cfg.LogDir = t.TempDir()
	}
	cfg.SweepInterval = 20 * time.Millisecond
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	e, err := eks.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	f.e, f.ns = e, ns
	return f, clock
}

// TestEndedPodLogIsKeptBeforeCleanup: a failed pod with a 6 MB log is
// deleted only after the cleanup period, whether or not anyone read its
// log; the alert's tail is the log's real end; and the whole log, its
// status too, stays readable after the pod is gone — from a new executor
// (a restarted server) as well.
func TestEndedPodLogIsKeptBeforeCleanup(t *testing.T) {
	dir := t.TempDir()
	f, clock := bigLogFixture(t, bigLogNS, eks.Config{LogDir: dir, CleanupAfter: 10 * time.Minute})
	ctx := context.Background()
	h, err := f.e.Start(ctx, req("big-fail", jobnet.EKSSpec{Annotations: exitAfter(3, 300*time.Millisecond)}))
	require.NoError(t, err)
	st := waitEnd(t, f.e, h)
	require.Equal(t, 3, *st.ExitCode)

	// The alert reads the tail: the last lines of the whole log.
	tail, err := f.e.TailLines(ctx, h, 3)
	require.NoError(t, err)
	require.Equal(t, []string{
		"line 099997 " + strings.Repeat("y", 48),
		"line 099998 " + strings.Repeat("y", 48),
		"line 099999 " + strings.Repeat("y", 48),
	}, tail)

	// The log is kept in the log directory without anyone reading it.
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(dir, bigLogNS, "koyomi-big-fail", "record.json"))
		return err == nil
	}, 60*time.Second, 20*time.Millisecond)
	kept, err := os.ReadFile(filepath.Join(dir, bigLogNS, "koyomi-big-fail", "log"))
	require.NoError(t, err)
	require.Equal(t, bigLog, string(kept))

	// Reading the whole log deletes nothing: the pod stays for the period.
	require.Equal(t, bigLog, readAll(t, f.e, h))
	_, err = f.cp.Client.CoreV1().Pods(bigLogNS).Get(ctx, "koyomi-big-fail", metav1.GetOptions{})
	require.NoError(t, err, "the pod stays until the cleanup period has passed")

	clock.Add(10*time.Minute + time.Second)
	require.Eventually(t, func() bool {
		_, err := f.cp.Client.CoreV1().Pods(bigLogNS).Get(ctx, "koyomi-big-fail", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 30*time.Second, 20*time.Millisecond, "deleted after the cleanup period")

	require.Equal(t, bigLog, readAll(t, f.e, h), "the whole log after the pod is gone")
	tail, err = f.e.TailLines(ctx, h, 1)
	require.NoError(t, err)
	require.Equal(t, []string{"line 099999 " + strings.Repeat("y", 48)}, tail)

	// A restarted server (a new executor on the same log directory) still
	// knows how the pod ended and serves its log.
	e2, err := eks.New(eks.Config{Connections: []eks.Connection{{Name: "test", REST: f.cp.REST, Namespace: bigLogNS}}, LogDir: dir})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e2.Close() })
	st, err = e2.Status(ctx, h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, st.State, st.Reason)
	require.Equal(t, 3, *st.ExitCode)
	require.Equal(t, bigLog, readAll(t, e2, h))
}

// TestKeptLogIsCapped: a kept log over LogMax keeps its first quarter and
// its last three quarters, and the reader sees a line that says so.
func TestKeptLogIsCapped(t *testing.T) {
	dir := t.TempDir()
	f, clock := bigLogFixture(t, bigLogCapNS, eks.Config{LogDir: dir, LogMax: 1 << 20, CleanupAfter: time.Minute})
	ctx := context.Background()
	h, err := f.e.Start(ctx, req("big-cap", jobnet.EKSSpec{Annotations: exitAfter(1, 300*time.Millisecond)}))
	require.NoError(t, err)
	waitEnd(t, f.e, h)
	require.Eventually(t, func() bool {
		_, err := os.Stat(filepath.Join(dir, bigLogCapNS, "koyomi-big-cap", "record.json"))
		return err == nil
	}, 60*time.Second, 20*time.Millisecond)
	clock.Add(time.Minute)
	require.Eventually(t, func() bool {
		_, err := f.cp.Client.CoreV1().Pods(bigLogCapNS).Get(ctx, "koyomi-big-cap", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 60*time.Second, 20*time.Millisecond)
	got := readAll(t, f.e, h)
	head, tail := bigLog[:256<<10], bigLog[len(bigLog)-(768<<10):]
	require.Len(t, bigLog, 6_100_000)
	marker := "\n[koyomi: log truncated here, 4.8 MiB left out: a job's log is capped at 1 MiB, its first 256 KiB and its last 768 KiB are kept]\n"
	require.Equal(t, head+marker+tail, got)
	var st syscall.Stat_t
	require.NoError(t, syscall.Stat(filepath.Join(dir, bigLogCapNS, "koyomi-big-cap", "log"), &st))
	require.Less(t, st.Blocks*512, int64(2<<20), "the part left out is freed on disk")
}
