package cloud

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/connect"
	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
	"github.com/koyomi-dev/koyomi/internal/testpeer/kube"
)

// failedToStartEvent returns the pending alert event of a unit that
// failed to start, or fails the test.
func failedToStartEvent(t *testing.T, st *store.Store, id, unit string) alert.Event {
	t.Helper()
	evs, err := st.AlertOutbox(context.Background(), 1000)
	require.NoError(t, err)
	for _, e := range evs {
		if e.Event.RunID == id && e.Event.Job == unit && e.Event.Kind == alert.EventJobFailedToStart {
			return e.Event
		}
	}
	require.FailNowf(t, "no alert", "no failed-to-start alert for %s of %s", unit, id)
	return alert.Event{}
}

// TestECSFailedToStartAfterRunning: the unit is recorded running as soon
// as RunTask accepted the task; the task then stops with
// TaskFailedToStart (an image that cannot be pulled). The unit must end
// failed to start with ECS's reason, its successor must be bypassed, and
// the alert must carry the reason.
func TestECSFailedToStartAfterRunning(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		w := newECSWorld(t, st)
		const reason = "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"
		w.scripts.set(map[string]ecsfake.Script{"ledger-aggregate": {FailToStart: reason}})
		startRunner(t, st, w.executors(t))
		id := runNow(t, w.svc, ecsJobnet)
		g := waitEnd(t, st, id)
		require.Equal(t, jobrun.GenEndedAbnormal, g.State, "units %v", unitStates(st, id))
		requireUnits(t, st, id, map[string]jobrun.JobState{
			"extract": jobrun.StateEndedNormal, "aggregate": jobrun.StateFailedToStart, "notify": jobrun.StateBypassed,
		})
		u := waitUnit(t, st, id, "aggregate", "ended", func(u store.UnitRun) bool { return u.State.IsTerminal() })
		require.Contains(t, u.Reason, "CannotPullContainerError")
		require.NotNil(t, u.StartedAt, "the unit had been recorded running")
		ev := failedToStartEvent(t, st, id, "aggregate")
		require.True(t, strings.Contains(ev.Detail, "CannotPullContainerError"), "alert detail %q", ev.Detail)
	})
}

// eksExecutors builds an eks executor from the stored connections with
// short limits for pods that do not start.
func (w *eksWorld) eksExecutors(t *testing.T, lim eks.Limits) dispatch.Registry {
	t.Helper()
	stored, err := w.st.Connections(context.Background())
	require.NoError(t, err)
	var conns []eks.Connection
	for _, c := range stored {
		if c.Kind == jobnet.ConnectionKubernetes {
			kc, err := connect.EKS(c.Connection)
			require.NoError(t, err, "connection %s", c.Name)
			conns = append(conns, kc)
		}
	}
	ex, err := eks.New(eks.Config{Connections: conns, UnschedulableLimit: lim.Unschedulable, StartErrorLimit: lim.StartError})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ex.Close() })
	return dispatch.Registry{jobnet.JobEKS: ex}
}

// applyPublish applies the EKS example with publish changed by edit.
func (w *eksWorld) applyPublish(t *testing.T, edit func(*jobnet.EKSSpec)) {
	t.Helper()
	b := load(t, "calendars.yaml", "pools.yaml", "sales.yaml", "cloud/eks")
	for i := range b.Connections {
		if c := &b.Connections[i]; c.Name == eksConnection {
			c.Kubernetes = &jobnet.KubeConnection{Kubeconfig: w.cp.Kubeconfig, Namespace: w.ns}
		}
	}
	for _, unit := range []string{"extract", "score", "publish"} {
		spec := findJob(t, b, "nightly-scoring", unit).EKS
		spec.Namespace = w.ns
		if spec.Annotations == nil {
			spec.Annotations = map[string]string{}
		}
		for k, v := range exitAfter(0, 200*time.Millisecond) {
			spec.Annotations[k] = v
		}
		if unit == "publish" {
			edit(spec)
		}
	}
	apply(t, w.svc, b)
}

// TestEKSPodsThatNeverRun: pods that never run their container end the
// unit failed to start with Kubernetes' reason (shown while they wait, and
// in the alert), and the generation ends.
func TestEKSPodsThatNeverRun(t *testing.T) {
	st := storetest.Open(t, "sqlite", time.Now)
	w := newEKSWorld(t, st)

	cases := []struct {
		name   string
		edit   func(*jobnet.EKSSpec)
		lim    eks.Limits
		reason string
		wait   bool // the reason shows while the pod waits
	}{
		{"InvalidImageName", func(s *jobnet.EKSSpec) { s.Annotations[kube.AnnotationImagePullError] = "InvalidImageName" },
			eks.Limits{}, "InvalidImageName", false},
		{"ImagePullBackOff", func(s *jobnet.EKSSpec) { s.Annotations[kube.AnnotationImagePullError] = "ImagePullBackOff" },
			eks.Limits{StartError: 3 * time.Second}, "ImagePullBackOff", true},
		{"Unschedulable", func(s *jobnet.EKSSpec) { s.NodeSelector = map[string]string{"pool": "does-not-exist"} },
			eks.Limits{Unschedulable: 3 * time.Second}, "Unschedulable", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w.applyPublish(t, c.edit)
			startRunner(t, st, w.eksExecutors(t, c.lim))
			id := runNow(t, w.svc, eksJobnet)
			if c.wait {
				u := waitUnit(t, st, id, "publish", "waiting with a reason", func(u store.UnitRun) bool {
					return u.State.IsTerminal() || u.State == jobrun.StateRunning && strings.Contains(u.Reason, c.reason)
				})
				require.Equal(t, jobrun.StateRunning, u.State, "the reason showed while the pod waited (reason %q)", u.Reason)
			}
			g := waitEnd(t, st, id)
			require.Equal(t, jobrun.GenEndedAbnormal, g.State, "units %v", unitStates(st, id))
			requireUnits(t, st, id, map[string]jobrun.JobState{
				"extract": jobrun.StateEndedNormal, "score": jobrun.StateEndedNormal, "publish": jobrun.StateFailedToStart,
			})
			u := waitUnit(t, st, id, "publish", "ended", func(u store.UnitRun) bool { return u.State.IsTerminal() })
			require.Contains(t, u.Reason, c.reason)
			ev := failedToStartEvent(t, st, id, "publish")
			require.Contains(t, ev.Detail, c.reason)
		})
	}
}

// TestTwoInstallationsOnOneECSCluster: two installations (two databases)
// with the same definitions run the same jobnet at the same minute against
// one cluster. Their generation ids are equal (derived from jobnet, date,
// rule and start time), yet each must run its own tasks, never adopt the
// other's.
func TestTwoInstallationsOnOneECSCluster(t *testing.T) {
	st1 := storetest.Open(t, "sqlite", time.Now)
	st2 := storetest.Open(t, "sqlite", time.Now)
	w1 := newECSWorld(t, st1)
	w2 := &ecsWorld{st: st2, svc: ops.New(ops.Params{Store: st2}), fake: w1.fake, scripts: w1.scripts}
	b := load(t, "calendars.yaml", "pools.yaml", "accounting.yaml", "cloud/ecs")
	for i := range b.Connections {
		if c := &b.Connections[i]; c.Name == ecsConnection {
			c.AWS.EndpointURL, c.AWS.LogsEndpointURL, c.AWS.RoleARN = w1.fake.URL, w1.fake.URL, ""
		}
	}
	apply(t, w2.svc, b)
	i1, err := st1.InstallationID(context.Background())
	require.NoError(t, err)
	i2, err := st2.InstallationID(context.Background())
	require.NoError(t, err)
	require.NotEqual(t, i1, i2)

	w1.scripts.set(map[string]ecsfake.Script{"ledger-extract": {Gate: "both-started", RunSteps: 1}})
	startRunner(t, st1, w1.executors(t))
	startRunner(t, st2, w2.executors(t))
	var id1, id2 string
	for {
		// Both in the same minute, so that the generation ids are equal.
		id1, id2 = runNow(t, w1.svc, ecsJobnet), runNow(t, w2.svc, ecsJobnet)
		if id1 == id2 {
			break
		}
	}
	u1 := waitUnit(t, st1, id1, "extract", "running", func(u store.UnitRun) bool { return u.State == jobrun.StateRunning })
	u2 := waitUnit(t, st2, id2, "extract", "running", func(u store.UnitRun) bool { return u.State == jobrun.StateRunning })
	w1.fake.OpenGate("both-started")
	require.NotEqual(t, u1.DispatchKey, u2.DispatchKey)
	require.True(t, strings.HasPrefix(u1.DispatchKey, i1+"-"), "key %q carries installation %s", u1.DispatchKey, i1)
	require.NotEqual(t, u1.Handle.ID, u2.Handle.ID, "each installation runs its own task")
	for _, c := range []struct {
		st *store.Store
		id string
	}{{st1, id1}, {st2, id2}} {
		g := waitEnd(t, c.st, c.id)
		require.Equal(t, jobrun.GenEndedNormal, g.State, "units %v", unitStates(c.st, c.id))
	}
	require.Len(t, w1.tasksOf("ledger-extract"), 2)
	require.Len(t, w1.tasksOf("ledger-aggregate"), 2)
}
