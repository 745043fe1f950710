package cloud

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/connect"
	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/dispatch/noop"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
)

const (
	ecsJobnet     = "accounting/nightly-ledger"
	ecsConnection = "prod-tokyo"
)

// scripts says what the fake's tasks do, by task definition family; a
// family without a script runs two steps and exits 0.
type scripts struct {
	mu sync.Mutex
	m  map[string]ecsfake.Script
}

func (s *scripts) set(m map[string]ecsfake.Script) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m = m
}

func (s *scripts) For(l ecsfake.Launch) ecsfake.Script {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sc, ok := s.m[l.Family]; ok {
		return sc
	}
	return ecsfake.Script{RunSteps: 2, Logs: []string{l.Family + " " + l.Env["KOYOMI_BUSINESS_DATE"]}}
}

type ecsWorld struct {
	st      *store.Store
	svc     *ops.Service
	fake    *ecsfake.Fake
	scripts *scripts
}

// newECSWorld starts the fake with the example's cluster and task
// definitions (ledger-extract at revision 7) and applies the examples with
// the aws connection pointed at the fake.
func newECSWorld(t *testing.T, st *store.Store) *ecsWorld {
	sc := &scripts{}
	f := ecsfake.New(ecsfake.Config{Tick: 20 * time.Millisecond, ScriptFor: sc.For})
	t.Cleanup(f.Close)
	f.AddCluster("batch")
	logs := func(prefix string) map[string]string {
		return map[string]string{"awslogs-group": "/koyomi/ledger", "awslogs-region": f.Region(), "awslogs-stream-prefix": prefix}
	}
	for range 7 {
		f.RegisterTaskDefinition(ecsfake.TaskDefinition{
			Family: "ledger-extract", RequiresCompatibilities: []string{"FARGATE"}, CPU: "512", Memory: "1024",
			Containers: []ecsfake.ContainerDefinition{{Name: "extract", Image: "example/ledger:1", LogDriver: "awslogs", LogOptions: logs("extract")}},
		})
	}
	f.RegisterTaskDefinition(ecsfake.TaskDefinition{
		Family: "ledger-aggregate", RequiresCompatibilities: []string{"FARGATE"}, CPU: "256", Memory: "512",
		Containers: []ecsfake.ContainerDefinition{{Name: "aggregate", Image: "example/ledger:1", LogDriver: "awslogs", LogOptions: logs("aggregate")}},
	})

	b := load(t, "calendars.yaml", "pools.yaml", "accounting.yaml", "cloud/ecs")
	found := false
	for i := range b.Connections {
		if c := &b.Connections[i]; c.Name == ecsConnection {
			require.NotNil(t, c.AWS)
			// The fake serves ECS and CloudWatch Logs; it has no STS, so
			// the role is not assumed and static keys are the base.
			c.AWS.EndpointURL = f.URL
			c.AWS.LogsEndpointURL = f.URL
			c.AWS.RoleARN = ""
			found = true
		}
	}
	require.True(t, found, "examples/cloud/ecs defines connection %s", ecsConnection)
	svc := ops.New(ops.Params{Store: st})
	apply(t, svc, b)
	return &ecsWorld{st: st, svc: svc, fake: f, scripts: sc}
}

// executors builds a fresh registry from the stored connections, as the
// server does at start-up, with static test credentials.
func (w *ecsWorld) executors(t *testing.T) dispatch.Registry {
	t.Helper()
	stored, err := w.st.Connections(context.Background())
	require.NoError(t, err)
	var conns []ecs.Connection
	for _, c := range stored {
		if c.Kind != jobnet.ConnectionAWS {
			continue
		}
		ec, err := connect.ECS(c.Connection)
		require.NoError(t, err, "connection %s", c.Name)
		conns = append(conns, ec)
	}
	require.Len(t, conns, 1)
	ex, err := ecs.New(ecs.Config{
		Connections: conns,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDKOYOMIE2E", "not-a-secret", ""),
		MaxAttempts: 4,
		MaxBackoff:  10 * time.Millisecond,
	})
	require.NoError(t, err)
	// The noop executor's handles name it "noop": it serves both keys.
	loc := noop.New(nil)
	return dispatch.Registry{jobnet.JobECS: ex, jobnet.JobLocal: loc, jobnet.JobNoop: loc}
}

// tasksOf returns the fake's tasks of a task definition family.
func (w *ecsWorld) tasksOf(family string) []ecsfake.Task {
	var out []ecsfake.Task
	for _, tk := range w.fake.Tasks() {
		if taskFamily(tk.TaskDefinitionARN) == family {
			out = append(out, tk)
		}
	}
	return out
}

// taskFamily returns the family of a task definition ARN
// (arn:…:task-definition/FAMILY:REV).
func taskFamily(arn string) string {
	i := len(arn)
	for j := len(arn) - 1; j >= 0; j-- {
		switch arn[j] {
		case ':':
			i = j
		case '/':
			return arn[j+1 : i]
		}
	}
	return arn
}

func TestECSJobnet(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		w := newECSWorld(t, st)

		t.Run("EndedNormal", func(t *testing.T) {
			w.scripts.set(nil)
			startRunner(t, st, w.executors(t))
			before := len(w.fake.Tasks())
			id := runNow(t, w.svc, ecsJobnet)
			g := waitEnd(t, st, id)
			require.Equal(t, jobrun.GenEndedNormal, g.State, "units %v", unitStates(st, id))
			requireUnits(t, st, id, map[string]jobrun.JobState{
				"extract": jobrun.StateEndedNormal, "aggregate": jobrun.StateEndedNormal, "notify": jobrun.StateEndedNormal,
			})
			tasks := w.fake.Tasks()[before:]
			require.Len(t, tasks, 2, "one task per ecs job")
			for _, tk := range tasks {
				require.Equal(t, "STOPPED", tk.LastStatus)
				require.NotNil(t, tk.ExitCode)
				require.Equal(t, 0, *tk.ExitCode)
			}
			// The example's settings reached RunTask.
			ext := tasks[0]
			require.Equal(t, "ledger-extract", taskFamily(ext.TaskDefinitionARN))
			require.Contains(t, ext.TaskDefinitionARN, ":7")
			require.Equal(t, "FARGATE", ext.LaunchType)
			require.Equal(t, "1.4.0", ext.PlatformVersion)
			require.Equal(t, "finance", ext.Tags["cost-center"])
			require.Equal(t, "FARGATE_SPOT", tasks[1].CapacityProvider)
		})

		t.Run("EndedAbnormal", func(t *testing.T) {
			w.scripts.set(map[string]ecsfake.Script{"ledger-aggregate": {ExitCode: 3, RunSteps: 2}})
			startRunner(t, st, w.executors(t))
			id := runNow(t, w.svc, ecsJobnet)
			g := waitEnd(t, st, id)
			require.Equal(t, jobrun.GenEndedAbnormal, g.State, "units %v", unitStates(st, id))
			requireUnits(t, st, id, map[string]jobrun.JobState{
				"extract": jobrun.StateEndedNormal, "aggregate": jobrun.StateEndedAbnormal,
			})
			us := waitUnit(t, st, id, "aggregate", "ended", func(u store.UnitRun) bool { return u.ExitCode != nil })
			require.Equal(t, 3, *us.ExitCode)
			require.NotEqual(t, jobrun.StateEndedNormal, unitStates(st, id)["notify"], "notify does not run after an abnormal end")
		})

		t.Run("Killed", func(t *testing.T) {
			w.scripts.set(map[string]ecsfake.Script{"ledger-extract": {}}) // runs until stopped
			startRunner(t, st, w.executors(t))
			before := len(w.tasksOf("ledger-extract"))
			id := runNow(t, w.svc, ecsJobnet)
			waitUnit(t, st, id, "extract", "running", func(u store.UnitRun) bool { return u.State == jobrun.StateRunning })
			require.NoError(t, w.svc.Kill(context.Background(), admin, id, ""))
			g := waitEnd(t, st, id)
			require.Equal(t, jobrun.GenKilled, g.State, "units %v", unitStates(st, id))
			u := waitUnit(t, st, id, "extract", "ended", func(u store.UnitRun) bool { return u.State.IsTerminal() })
			require.Equal(t, jobrun.StateKilled, u.State, "reason %q", u.Reason)
			require.NotEqual(t, jobrun.StateEndedNormal, unitStates(st, id)["aggregate"])
			tasks := w.tasksOf("ledger-extract")[before:]
			require.Len(t, tasks, 1)
			tk, err := w.fake.Task(tasks[0].ARN)
			require.NoError(t, err)
			require.Equal(t, "STOPPED", tk.LastStatus, "the kill stopped the task")
			require.Equal(t, "UserInitiated", tk.StopCode)
		})

		t.Run("CrashBetweenStartAndRecord", func(t *testing.T) {
			w.scripts.set(nil)
			reg := w.executors(t)
			var first *engine
			crashing := newCrashing(reg[jobnet.JobECS], func() { first.cancel() })
			reg[jobnet.JobECS] = crashing
			first = startRunner(t, st, reg)
			before := len(w.tasksOf("ledger-extract"))
			id := runNow(t, w.svc, ecsJobnet)
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
			require.Len(t, w.tasksOf("ledger-extract")[before:], 1, "the backend accepted the task before the crash")

			startRunner(t, st, w.executors(t))
			g := waitEnd(t, st, id)
			require.Equal(t, jobrun.GenEndedNormal, g.State, "units %v", unitStates(st, id))
			tasks := w.tasksOf("ledger-extract")[before:]
			require.Len(t, tasks, 1, "the restarted runner re-attached instead of starting a second task")
			require.Equal(t, key, tasks[0].ClientToken)
			require.Equal(t, ecs.StartedBy(key), tasks[0].StartedBy)
			u = waitUnit(t, st, id, "extract", "ended", func(u store.UnitRun) bool { return u.State.IsTerminal() })
			require.Equal(t, jobrun.StateEndedNormal, u.State)
			require.NotNil(t, u.Handle)
			require.Equal(t, tasks[0].ARN, u.Handle.ID)
		})
	})
}
