package cloud

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/connect"
	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// bigLog is what the pods of the big-log namespaces print: about 6 MB,
// more than the 4 MB an alert's tail used to be read from.
var bigLog = func() string {
	var b strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&b, "row %06d %s\n", i, strings.Repeat("z", 48))
	}
	return b.String()
}()

// bigLogNS are the namespaces whose pods log bigLog, one per store the
// tests run on.
var bigLogNS = []string{"e2e-biglog-a", "e2e-biglog-b"}

var bigLogNext atomic.Int32

func bigLogNamespaces() map[string]string {
	m := map[string]string{}
	for _, ns := range bigLogNS {
		m[ns] = bigLog
	}
	return m
}

// settableClock is a clock the test moves.
type settableClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *settableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *settableClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestEKSFailedJobLogOutlivesItsPod: the last job of the EKS example
// prints 6 MB and exits 3. The alert must carry the log's real last lines;
// the pod must stay for the cleanup period although its log was read, and
// go after it; the operator must still read the whole log through the
// operations service (GUI, API and CLI) after the pod is gone.
func TestEKSFailedJobLogOutlivesItsPod(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		cp := kubeEnv.Need(t)
		ctx := context.Background()
		ns := bigLogNS[bigLogNext.Add(1)-1]
		require.NoError(t, cp.NamespaceNamed(ctx, ns))
		_, err := cp.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sales-extract", Namespace: ns}}, metav1.CreateOptions{})
		require.NoError(t, err)
		gpuNode(t, cp)
		w := &eksWorld{cp: cp, ns: ns, st: st, svc: ops.New(ops.Params{Store: st})}
		w.apply(t, map[string]map[string]string{"publish": exitAfter(3, 200*time.Millisecond)})

		stored, err := st.Connections(ctx)
		require.NoError(t, err)
		var conns []eks.Connection
		for _, c := range stored {
			if c.Kind == jobnet.ConnectionKubernetes {
				kc, err := connect.EKS(c.Connection)
				require.NoError(t, err)
				conns = append(conns, kc)
			}
		}
		clock := &settableClock{t: time.Now()}
		ex, err := eks.New(eks.Config{Connections: conns, LogDir: t.TempDir(), CleanupAfter: time.Hour, SweepInterval: 20 * time.Millisecond, Now: clock.Now})
		require.NoError(t, err)
		t.Cleanup(func() { _ = ex.Close() })
		reg := dispatch.Registry{jobnet.JobEKS: ex}
		startRunner(t, st, reg)

		id := runNow(t, w.svc, eksJobnet)
		g := waitEnd(t, st, id)
		require.Equal(t, jobrun.GenEndedAbnormal, g.State, "units %v", unitStates(st, id))

		evs, err := st.AlertOutbox(ctx, 1000)
		require.NoError(t, err)
		var ev *alert.Event
		for i := range evs {
			if e := evs[i].Event; e.RunID == id && e.Job == "publish" && e.Kind == alert.EventJobAbnormal {
				ev = &e
			}
		}
		require.NotNil(t, ev, "an alert for the abnormal end")
		require.NotEmpty(t, ev.LogTail)
		require.Equal(t, "row 099999 "+strings.Repeat("z", 48), ev.LogTail[len(ev.LogTail)-1], "the alert carries the end of the whole log")

		svc := ops.New(ops.Params{Store: st, Executors: reg})
		readAll := func() string {
			var b strings.Builder
			cursor := ""
			for range 1000 {
				c, err := svc.UnitLogs(ctx, id, "publish", cursor)
				require.NoError(t, err)
				b.Write(c.Data)
				cursor = c.Next
				if !c.More {
					break
				}
			}
			return b.String()
		}
		require.Equal(t, bigLog, readAll(), "the whole log while the pod exists")
		pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		require.Len(t, pods.Items, 3, "read logs and an alert delete nothing before the cleanup period")

		clock.Add(time.Hour)
		require.Eventually(t, func() bool {
			pods, err := cp.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
			if err != nil || len(pods.Items) != 1 {
				return false
			}
			return pods.Items[0].Labels[eks.LabelJobName] != ""
		}, endTimeout, 50*time.Millisecond, "the ended pods are deleted after the cleanup period, except score's (cleanup: keep)")
		require.Equal(t, bigLog, readAll(), "the whole log after the pod is gone")
	})
}

// TestEKSUnusableConnectionFailsAtOnce: a job whose connection points at
// an API server nobody listens on ends failed to start with the reason
// within seconds — not after the start-error limit's ten retries — and its
// successors are bypassed.
func TestEKSUnusableConnectionFailsAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		cp := kubeEnv.Need(t)
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		require.NoError(t, l.Close())
		w := &eksWorld{cp: cp, ns: "batch", st: st, svc: ops.New(ops.Params{Store: st})}
		b := load(t, "calendars.yaml", "pools.yaml", "sales.yaml", "cloud/eks")
		for i := range b.Connections {
			if c := &b.Connections[i]; c.Name == eksConnection {
				c.Kubernetes = &jobnet.KubeConnection{Server: "https://127.0.0.1:" + strconv.Itoa(port), Token: "t0ken", Namespace: "batch"}
			}
		}
		// Without the example's retry policy the first failure is the end.
		findJob(t, b, "nightly-scoring", "extract").Retry = nil
		apply(t, w.svc, b)
		startRunner(t, st, w.executors(t))
		id := runNow(t, w.svc, eksJobnet)
		u := waitUnit(t, st, id, "extract", "failed to start", func(u store.UnitRun) bool { return u.State.IsTerminal() })
		require.Equal(t, jobrun.StateFailedToStart, u.State, u.Reason)
		require.Contains(t, u.Reason, `connection "prod-eks" cannot be used: the API server cannot be reached`)
		evs, err := st.AlertOutbox(context.Background(), 1000)
		require.NoError(t, err)
		for _, e := range evs {
			require.False(t, e.Event.RunID == id && e.Event.Kind == alert.EventDispatchError,
				"ended at the first error, not retried up to the start-error limit (minutes): %s", e.Event.Detail)
		}
		g := waitEnd(t, st, id)
		require.Equal(t, jobrun.GenEndedAbnormal, g.State)
		requireUnits(t, st, id, map[string]jobrun.JobState{"extract": jobrun.StateFailedToStart, "score": jobrun.StateBypassed, "publish": jobrun.StateBypassed})
	})
}
