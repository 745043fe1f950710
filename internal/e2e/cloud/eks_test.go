package cloud

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/connect"
	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/kube"
)

const (
	eksJobnet     = "sales/nightly-scoring"
	eksConnection = "prod-eks"
)

type eksWorld struct {
	cp  *kube.ControlPlane
	ns  string
	st  *store.Store
	svc *ops.Service
}

// newEKSWorld prepares the cluster for the example as it stands: a
// namespace, the extract job's service account, and a KWOK node that
// carries the score job's node pool label and offers GPUs.
func newEKSWorld(t *testing.T, st *store.Store) *eksWorld {
	cp := kubeEnv.Need(t)
	ctx := context.Background()
	ns, err := cp.Namespace(ctx, "e2e-eks")
	require.NoError(t, err)
	_, err = cp.Client.CoreV1().ServiceAccounts(ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sales-extract", Namespace: ns}}, metav1.CreateOptions{})
	require.NoError(t, err)
	gpuNode(t, cp)
	return &eksWorld{cp: cp, ns: ns, st: st, svc: ops.New(ops.Params{Store: st})}
}

func gpuNode(t *testing.T, cp *kube.ControlPlane) {
	ctx := context.Background()
	require.Eventually(t, func() bool {
		n, err := cp.Client.CoreV1().Nodes().Get(ctx, kube.NodeName, metav1.GetOptions{})
		if err != nil {
			return false
		}
		n.Labels["karpenter.sh/nodepool"] = "gpu-batch"
		if n, err = cp.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
			return false
		}
		gpus := resource.MustParse("8")
		n.Status.Capacity["nvidia.com/gpu"] = gpus
		n.Status.Allocatable["nvidia.com/gpu"] = gpus
		_, err = cp.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{})
		return err == nil
	}, endTimeout, 50*time.Millisecond, "label the KWOK node and give it GPUs")
}

// exitAfter is the KWOK annotation pair: end with code after d.
func exitAfter(code int, d time.Duration) map[string]string {
	return map[string]string{kube.AnnotationExitCode: strconv.Itoa(code), kube.AnnotationDuration: d.String()}
}

// apply loads the EKS example with the connection pointed at the test
// cluster (its kubeconfig), every job in the test namespace, and the
// KWOK annotations of fates (by unit name) added to the example's own.
func (w *eksWorld) apply(t *testing.T, fates map[string]map[string]string) {
	t.Helper()
	b := load(t, "calendars.yaml", "pools.yaml", "sales.yaml", "cloud/eks")
	found := false
	for i := range b.Connections {
		if c := &b.Connections[i]; c.Name == eksConnection {
			c.Kubernetes = &jobnet.KubeConnection{Kubeconfig: w.cp.Kubeconfig, Namespace: w.ns}
			found = true
		}
	}
	require.True(t, found, "examples/cloud/eks defines connection %s", eksConnection)
	for _, unit := range []string{"extract", "score", "publish"} {
		spec := findJob(t, b, "nightly-scoring", unit).EKS
		require.NotNil(t, spec, "unit %s is an eks job", unit)
		spec.Namespace = w.ns
		if spec.Annotations == nil {
			spec.Annotations = map[string]string{}
		}
		fate := fates[unit]
		if fate == nil {
			fate = exitAfter(0, 200*time.Millisecond)
		}
		for k, v := range fate {
			spec.Annotations[k] = v
		}
	}
	apply(t, w.svc, b)
}

// executors builds a fresh eks executor from the stored connections, as
// the server does at start-up.
func (w *eksWorld) executors(t *testing.T) dispatch.Registry {
	t.Helper()
	stored, err := w.st.Connections(context.Background())
	require.NoError(t, err)
	var conns []eks.Connection
	for _, c := range stored {
		if c.Kind != jobnet.ConnectionKubernetes {
			continue
		}
		kc, err := connect.EKS(c.Connection)
		require.NoError(t, err, "connection %s", c.Name)
		conns = append(conns, kc)
	}
	require.Len(t, conns, 1)
	ex, err := eks.New(eks.Config{Connections: conns})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	return dispatch.Registry{jobnet.JobEKS: ex}
}

// podLog records every pod created in a namespace (by uid) from a watch,
// so that pods already cleaned up still count.
type podLog struct {
	mu   sync.Mutex
	uids map[string]map[string]bool // idempotency key → pod uids
}

func watchPods(t *testing.T, w *eksWorld) *podLog {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	wt, err := w.cp.Client.CoreV1().Pods(w.ns).Watch(ctx, metav1.ListOptions{LabelSelector: eks.LabelManagedBy + "=" + eks.ManagedByValue})
	require.NoError(t, err)
	pl := &podLog{uids: map[string]map[string]bool{}}
	go func() {
		defer wt.Stop()
		for ev := range wt.ResultChan() {
			pod, ok := ev.Object.(*corev1.Pod)
			if !ok || ev.Type != watch.Added {
				continue
			}
			key := pod.Annotations[eks.AnnotationKey]
			pl.mu.Lock()
			if pl.uids[key] == nil {
				pl.uids[key] = map[string]bool{}
			}
			pl.uids[key][string(pod.UID)] = true
			pl.mu.Unlock()
		}
	}()
	return pl
}

func (p *podLog) count(key string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.uids[key])
}

func TestEKSJobnet(t *testing.T) {
	st := storetest.Open(t, "sqlite", time.Now)
	w := newEKSWorld(t, st)

	t.Run("EndedNormal", func(t *testing.T) {
		w.apply(t, nil)
		startRunner(t, st, w.executors(t))
		id := runNow(t, w.svc, eksJobnet)
		g := waitEnd(t, st, id)
		require.Equal(t, jobrun.GenEndedNormal, g.State, "units %v", unitStates(st, id))
		requireUnits(t, st, id, map[string]jobrun.JobState{
			"extract": jobrun.StateEndedNormal, "score": jobrun.StateEndedNormal, "publish": jobrun.StateEndedNormal,
		})
		// score runs as a batch/v1 Job and is kept (cleanup: keep).
		us, err := st.UnitRuns(context.Background(), id)
		require.NoError(t, err)
		for _, u := range us {
			if u.Path == "score" {
				require.NotNil(t, u.Handle)
				hd, err := eks.ParseHandle(*u.Handle)
				require.NoError(t, err)
				require.Equal(t, eks.ModeJob, hd.Mode)
				_, err = w.cp.Client.BatchV1().Jobs(w.ns).Get(context.Background(), hd.Name, metav1.GetOptions{})
				require.NoError(t, err, "the kept Job of score")
			}
		}
	})

	t.Run("EndedAbnormal", func(t *testing.T) {
		w.apply(t, map[string]map[string]string{"publish": exitAfter(3, 200*time.Millisecond)})
		startRunner(t, st, w.executors(t))
		id := runNow(t, w.svc, eksJobnet)
		g := waitEnd(t, st, id)
		require.Equal(t, jobrun.GenEndedAbnormal, g.State, "units %v", unitStates(st, id))
		requireUnits(t, st, id, map[string]jobrun.JobState{
			"extract": jobrun.StateEndedNormal, "score": jobrun.StateEndedNormal, "publish": jobrun.StateEndedAbnormal,
		})
		u := waitUnit(t, st, id, "publish", "ended", func(u store.UnitRun) bool { return u.ExitCode != nil })
		require.Equal(t, 3, *u.ExitCode)
	})

	t.Run("Killed", func(t *testing.T) {
		w.apply(t, map[string]map[string]string{"extract": exitAfter(0, time.Hour)})
		startRunner(t, st, w.executors(t))
		id := runNow(t, w.svc, eksJobnet)
		u := waitUnit(t, st, id, "extract", "running", func(u store.UnitRun) bool { return u.State == jobrun.StateRunning })
		require.NoError(t, w.svc.Kill(context.Background(), admin, id, ""))
		g := waitEnd(t, st, id)
		require.Equal(t, jobrun.GenKilled, g.State, "units %v", unitStates(st, id))
		u = waitUnit(t, st, id, "extract", "ended", func(u store.UnitRun) bool { return u.State.IsTerminal() })
		require.Equal(t, jobrun.StateKilled, u.State, "reason %q", u.Reason)
		hd, err := eks.ParseHandle(*u.Handle)
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			_, err := w.cp.Client.CoreV1().Pods(w.ns).Get(context.Background(), hd.Name, metav1.GetOptions{})
			return err != nil
		}, endTimeout, 50*time.Millisecond, "the kill deleted the pod")
	})

	t.Run("CrashBetweenStartAndRecord", func(t *testing.T) {
		w.apply(t, nil)
		pods := watchPods(t, w)
		reg := w.executors(t)
		var first *engine
		crashing := newCrashing(reg[jobnet.JobEKS], func() { first.cancel() })
		reg[jobnet.JobEKS] = crashing
		first = startRunner(t, st, reg)
		id := runNow(t, w.svc, eksJobnet)
		var key string
		select {
		case key = <-crashing.started:
		case <-time.After(endTimeout):
			require.FailNow(t, "the runner never started extract")
		}
		first.stop(t)
		u := waitUnit(t, st, id, "extract", "starting", func(store.UnitRun) bool { return true })
		require.Equal(t, jobrun.StateStarting, u.State, "the crash left extract starting")
		require.Equal(t, key, u.DispatchKey, "the key was recorded before the start")
		require.Nil(t, u.Handle, "the handle was never recorded")

		startRunner(t, st, w.executors(t))
		g := waitEnd(t, st, id)
		require.Equal(t, jobrun.GenEndedNormal, g.State, "units %v", unitStates(st, id))
		u = waitUnit(t, st, id, "extract", "ended", func(u store.UnitRun) bool { return u.State.IsTerminal() })
		require.Equal(t, jobrun.StateEndedNormal, u.State)
		require.NotNil(t, u.Handle)
		name, err := eks.ObjectName(key)
		require.NoError(t, err)
		require.Equal(t, w.ns+"/"+name, u.Handle.ID)
		require.Equal(t, 1, pods.count(key), "the restarted runner re-attached to the pod instead of creating a second")
	})
}
