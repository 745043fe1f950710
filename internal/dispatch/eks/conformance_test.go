package eks_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/dispatchtest"
	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/testpeer/kube"
)

// podCreates counts pod creations the API server accepted (201 Created),
// across every executor instance of one backend: the executions started.
type podCreates struct {
	next http.RoundTripper
	n    *atomic.Int64
}

func (p *podCreates) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := p.next.RoundTrip(r)
	if err == nil && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/pods") && resp.StatusCode == http.StatusCreated {
		p.n.Add(1)
	}
	return resp, err
}

// conformanceJob is a pod-mode job whose fate the KWOK stages read from
// the annotations. Cleanup "keep" leaves ended pods in place (see the
// report on cleanup and re-attachment in TestConformance).
func conformanceJob(ann map[string]string) jobnet.Job {
	return jobnet.Job{Type: jobnet.JobEKS, EKS: &jobnet.EKSSpec{
		Image:       "registry.example/koyomi/batch:1",
		Annotations: ann,
		Cleanup:     eks.CleanupKeep,
	}}
}

// TestConformance runs the executor through the shared suite on the real
// control plane. KWOK cannot express everything the suite asks for:
//
//   - StagedJob is nil: every container log is the control plane's fixed
//     log (kube.Options.Log), so a job cannot print chosen lines, wait and
//     print more; TestConformanceLogs reads that fixed log through the
//     suite's cursor helper instead;
//   - StubbornJob is nil: KWOK removes a deleted pod at once, there is no
//     process that could ignore SIGTERM;
//   - LongJob is nil: the suite's restart case cancels a running pod
//     through one new executor instance and reads the outcome through
//     another, which reports "lost" instead of "cancelled" because the
//     cancel mark lives only in the memory of the instance that cancelled;
//     TestConformanceCancel covers cancelling on one instance;
//   - EnvJob is nil: no process runs, so nothing prints the environment;
//     TestPodExitsNormally checks the pod's container env instead.
func TestConformance(t *testing.T) {
	cp := env.Need(t)
	dispatchtest.Run(t, dispatchtest.Harness{
		Type: jobnet.JobEKS,
		Setup: func(t *testing.T) dispatchtest.Backend {
			ns, err := cp.Namespace(context.Background(), "conformance")
			require.NoError(t, err)
			var created atomic.Int64
			return dispatchtest.Backend{
				New: func(t *testing.T) dispatch.Executor {
					rc := rest.CopyConfig(cp.REST)
					rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { return &podCreates{next: rt, n: &created} }
					e, err := eks.New(eks.Config{
						Connections:     []eks.Connection{{Name: "test", REST: rc, Namespace: ns}},
						StartErrorLimit: 100 * time.Millisecond,
					})
					require.NoError(t, err)
					t.Cleanup(func() { _ = e.Close() })
					return isolated{Executor: e, ns: ns}
				},
				Executions: func(*testing.T) int { return int(created.Load()) },
			}
		},
		ExitJob: func(_ *testing.T, code int) jobnet.Job {
			return conformanceJob(exitAfter(code, 300*time.Millisecond))
		},
		BadJob: func(*testing.T) jobnet.Job {
			return conformanceJob(map[string]string{kube.AnnotationImagePullError: "ErrImagePull"})
		},
		Timeout: 30 * time.Second,
		Grace:   time.Second,
	})
}

// isolated confines an executor to its backend's namespace: every backend
// of the suite shares one cluster, so a handle made by another backend
// names a pod this executor can see, where a separate cluster would not
// have it. Handles of another namespace are unknown here.
type isolated struct {
	dispatch.Executor
	ns string
}

func (i isolated) foreign(h dispatch.Handle) error {
	if hd, err := eks.ParseHandle(h); err == nil && hd.Namespace != i.ns {
		return fmt.Errorf("%w: %q belongs to another backend", dispatch.ErrUnknownHandle, h.ID)
	}
	return nil
}

func (i isolated) Status(ctx context.Context, h dispatch.Handle) (dispatch.Status, error) {
	if err := i.foreign(h); err != nil {
		return dispatch.Status{}, err
	}
	return i.Executor.Status(ctx, h)
}

func (i isolated) Logs(ctx context.Context, h dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	if err := i.foreign(h); err != nil {
		return dispatch.LogChunk{}, err
	}
	return i.Executor.Logs(ctx, h, cursor, limit)
}

func (i isolated) Cancel(ctx context.Context, h dispatch.Handle, grace time.Duration) error {
	if err := i.foreign(h); err != nil {
		return err
	}
	return i.Executor.Cancel(ctx, h, grace)
}

// TestConformanceCancel is the suite's cancel case on one instance: a
// running pod ends as cancelled within the grace period plus slack, and a
// second cancel is not an error and keeps the outcome.
func TestConformanceCancel(t *testing.T) {
	f := setup(t, eks.Config{})
	const grace, slack = time.Second, 30 * time.Second
	hd, err := f.e.Start(context.Background(), dispatchtest.NewRequest("conf-cancel", conformanceJob(exitAfter(0, time.Hour))))
	require.NoError(t, err)
	dispatchtest.WaitFor(t, f.e, hd, slack, "running", func(st dispatch.Status) bool {
		require.False(t, st.State.IsTerminal(), "ended before the cancel: %+v", st)
		return st.State == dispatch.StateRunning
	})
	begin := time.Now()
	require.NoError(t, f.e.Cancel(context.Background(), hd, grace))
	st := dispatchtest.WaitTerminal(t, f.e, hd, grace+slack)
	require.Equal(t, dispatch.StateCancelled, st.State, "reason %q", st.Reason)
	require.Less(t, time.Since(begin), grace+slack)
	require.NoError(t, f.e.Cancel(context.Background(), hd, grace))
	again, err := f.e.Status(context.Background(), hd)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateCancelled, again.State)
}

// TestConformanceLogs reads the fixed KWOK log of an ended pod through the
// suite's cursor helper: whole, in small pages, and resumed from a cursor.
func TestConformanceLogs(t *testing.T) {
	cp := env.Need(t)
	f := setup(t, eks.Config{})
	hd, err := f.e.Start(context.Background(), dispatchtest.NewRequest("conf-logs", conformanceJob(exitAfter(0, 200*time.Millisecond))))
	require.NoError(t, err)
	st := dispatchtest.WaitTerminal(t, f.e, hd, 30*time.Second)
	require.Equal(t, dispatch.StateExited, st.State, st.Reason)

	all, end := dispatchtest.ReadLogs(t, f.e, hd, "", 0)
	require.Equal(t, cp.LogContent, string(all))
	require.Equal(t, strconv.Itoa(len(cp.LogContent)), end)
	paged, _ := dispatchtest.ReadLogs(t, f.e, hd, "", 5)
	require.Equal(t, cp.LogContent, string(paged), "small pages read the same log")

	half := strings.Index(cp.LogContent, "line 20")
	require.Positive(t, half)
	rest, next := dispatchtest.ReadLogs(t, f.e, hd, strconv.Itoa(half), 9)
	require.Equal(t, cp.LogContent[half:], string(rest), "a cursor resumes without duplication or loss")
	tail, again := dispatchtest.ReadLogs(t, f.e, hd, next, 0)
	require.Empty(t, tail, "nothing past the end")
	require.Equal(t, next, again, "an empty read keeps the cursor")
}
