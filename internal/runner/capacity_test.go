package runner_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/runner"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
)

// TestCapacityBudget: RunTask finds no capacity again and again. Each
// refused try shows its reason and the budget on the unit and raises an
// event; a try within the budget waits the interval; once the budget is
// spent the job fails to start with the last reason, after the configured
// number of tries and not before.
func TestCapacityBudget(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := ecsfake.New(ecsfake.Config{})
		t.Cleanup(f.Close)
		f.AddCluster("batch")
		f.RegisterTaskDefinition(ecsfake.TaskDefinition{Family: "app", RequiresCompatibilities: []string{"FARGATE"}, CPU: "256", Memory: "512",
			Containers: []ecsfake.ContainerDefinition{{Name: "app", Image: "example/app:1"}}})
		f.FailRunTask("RESOURCE:MEMORY")
		f.FailRunTask("Capacity is unavailable at this time. Please try again later or in a different availability zone")
		f.FailNext("RunTask", "ClientException", "The maximum number of tasks in the PROVISIONING state has been reached for this cluster.")
		ex, err := ecs.New(ecs.Config{
			Connections: []ecs.Connection{{Name: "fine", Region: f.Region(), EndpointURL: f.URL}},
			Credentials: credentials.NewStaticCredentialsProvider("AKIDKOYOMITEST", "not-a-secret", ""),
			MaxAttempts: 1,
		})
		require.NoError(t, err)

		var mu sync.Mutex
		clock := time.Now()
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
		r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobECS: ex}, Node: "test-node",
			PollInterval: time.Second, KillGrace: time.Second, Logger: testLogger(), Now: now})
		require.NoError(t, err)
		u := ecsUnit("load", "fine")
		u.Job.ECS.CapacityRetries, u.Job.ECS.CapacityRetryInterval = 2, jobnet.Duration(time.Minute)
		g := submit(t, st, &jobnet.Jobnet{Name: "cap", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{u, nop("after")},
			Edges: []jobnet.Edge{edge("load", "after", "")}}}, nil)
		mu.Lock()
		clock = time.Now() // the generation is due
		mu.Unlock()

		// pass runs passes until the unit shows what want accepts.
		pass := func(what string, want func(store.UnitRun) bool) store.UnitRun {
			t.Helper()
			deadline := time.Now().Add(20 * time.Second)
			for {
				_, err := r.Pass(ctx)
				require.NoError(t, err)
				got := unitsOf(t, st, g.ID)["load"]
				if want(got) {
					return got
				}
				if time.Now().After(deadline) {
					require.FailNowf(t, "timed out", "load never %s: %s %q (generation %s)", what, got.State, got.Reason, genState(t, st, g.ID))
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		// The injected ClientException answers the first RunTask; the
		// placement failures follow in order.
		for try, reason := range []string{"PROVISIONING", "RESOURCE:MEMORY"} {
			got := pass("was refused", func(u store.UnitRun) bool { return strings.Contains(u.Reason, reason) })
			require.Equal(t, jobrun.StateStarting, got.State)
			require.Contains(t, got.Reason, "waiting for capacity: try "+[]string{"1", "2"}[try]+" of 3 refused; next try at")
			calls := f.Calls("RunTask")
			// Not tried again before the interval has passed.
			for range 3 {
				_, err := r.Pass(ctx)
				require.NoError(t, err)
			}
			advance(30 * time.Second)
			_, err := r.Pass(ctx)
			require.NoError(t, err)
			require.Equal(t, calls, f.Calls("RunTask"), "the next try waits the interval")
			advance(31 * time.Second)
		}
		got := pass("failed to start", func(u store.UnitRun) bool { return u.State.IsTerminal() })
		require.Equal(t, jobrun.StateFailedToStart, got.State)
		require.Contains(t, got.Reason, "no capacity after 3 tries over 2m0s")
		require.Contains(t, got.Reason, "Capacity is unavailable", "the last reason")
		require.Equal(t, 3, f.Calls("RunTask"))
		require.Empty(t, f.Tasks())
		pass("bypassed its successor", func(store.UnitRun) bool { return unitsOf(t, st, g.ID)["after"].State == jobrun.StateBypassed })

		evs, err := st.AlertOutbox(ctx, 1000)
		require.NoError(t, err)
		var tries []string
		failed := 0
		for _, e := range evs {
			if e.Event.RunID != g.ID || e.Event.Job != "load" {
				continue
			}
			switch e.Event.Kind {
			case alert.EventDispatchError:
				tries = append(tries, e.Event.Detail)
			case alert.EventJobFailedToStart:
				failed++
				require.Contains(t, e.Event.Detail, "no capacity after 3 tries")
			}
		}
		require.Len(t, tries, 2, "one event per refused try within the budget")
		require.Contains(t, tries[0], "PROVISIONING")
		require.Contains(t, tries[1], "RESOURCE:MEMORY")
		require.Equal(t, 1, failed)
	})
}

// TestForgottenTaskEndsUnknown: Koyomi was down for hours while an ECS job
// ran and ended; ECS has forgotten the task by the time a fresh runner
// looks. The unit ends unknown end (its successor bypassed) with a reason
// that says the outcome cannot be learned, and the alert carries the tail
// of the task's CloudWatch log, which outlives ECS's memory of the task.
func TestForgottenTaskEndsUnknown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		f := ecsfake.New(ecsfake.Config{})
		t.Cleanup(f.Close)
		f.AddCluster("batch")
		f.RegisterTaskDefinition(ecsfake.TaskDefinition{Family: "app", RequiresCompatibilities: []string{"FARGATE"}, CPU: "256", Memory: "512",
			Containers: []ecsfake.ContainerDefinition{{Name: "app", Image: "example/app:1", LogDriver: "awslogs",
				LogOptions: map[string]string{"awslogs-group": "/koyomi/app", "awslogs-stream-prefix": "k"}}}})
		f.ScriptNext(ecsfake.Script{RunSteps: 1, Logs: []string{"posting 1200 rows"}, ExitLogs: []string{"error: ledger locked"}, ExitCode: 4})

		var mu sync.Mutex
		var away time.Duration // how long Koyomi was down
		clock := time.Now()
		now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock.Add(away) }
		newRunner := func() *runner.Runner {
			ex, err := ecs.New(ecs.Config{
				Connections: []ecs.Connection{{Name: "fine", Region: f.Region(), EndpointURL: f.URL}},
				Credentials: credentials.NewStaticCredentialsProvider("AKIDKOYOMITEST", "not-a-secret", ""),
				MaxAttempts: 1,
				// ECS's clock, as far as the task's createdAt goes.
				Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return f.Now().Add(away) },
			})
			require.NoError(t, err)
			r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobECS: ex}, Node: "test-node",
				PollInterval: time.Second, KillGrace: time.Second, Logger: testLogger(), Now: now})
			require.NoError(t, err)
			return r
		}
		g := submit(t, st, &jobnet.Jobnet{Name: "forgot", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{ecsUnit("post", "fine"), nop("after")},
			Edges: []jobnet.Edge{edge("post", "after", "")}}}, nil)
		mu.Lock()
		clock = time.Now()
		mu.Unlock()
		until := func(r *runner.Runner, what string, ok func(map[string]store.UnitRun) bool) {
			t.Helper()
			deadline := time.Now().Add(20 * time.Second)
			for {
				_, err := r.Pass(ctx)
				require.NoError(t, err)
				us := unitsOf(t, st, g.ID)
				if ok(us) {
					return
				}
				if time.Now().After(deadline) {
					require.FailNowf(t, "timed out", "not %s: %v", what, reasons(us))
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		until(newRunner(), "running", func(us map[string]store.UnitRun) bool { return us["post"].State == jobrun.StateRunning })

		// Koyomi is down: the task runs, ends and is forgotten.
		f.Settle()
		task := f.Tasks()[0]
		require.Equal(t, "STOPPED", task.LastStatus)
		require.NoError(t, f.Forget(task.ARN))
		mu.Lock()
		away = 3 * time.Hour
		mu.Unlock()

		until(newRunner(), "ended", func(us map[string]store.UnitRun) bool { return us["after"].State.IsTerminal() })
		us := unitsOf(t, st, g.ID)
		require.Equal(t, jobrun.StateUnknownEnd, us["post"].State)
		require.Equal(t, jobrun.StateBypassed, us["after"].State)
		require.Contains(t, us["post"].Reason, "ECS no longer knows task "+task.ID)
		require.Contains(t, us["post"].Reason, "its outcome cannot be learned")
		require.Equal(t, jobrun.GenEndedAbnormal, genState(t, st, g.ID))

		evs, err := st.AlertOutbox(ctx, 1000)
		require.NoError(t, err)
		var tail []string
		for _, e := range evs {
			if e.Event.RunID == g.ID && e.Event.Job == "post" && e.Event.Kind == alert.EventJobAbnormal {
				tail = e.Event.LogTail
			}
		}
		require.Equal(t, []string{"posting 1200 rows", "error: ledger locked"}, tail, "the log of a forgotten task is still read")
	})
}

// TestUnusableConnectionFailsAtOnce: an ECS job whose connection points at
// an endpoint where nothing listens fails to start on its first try, with
// the reason, instead of being retried StartErrorLimit times.
func TestUnusableConnectionFailsAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		dead := "http://" + ln.Addr().String()
		require.NoError(t, ln.Close())
		ex, err := ecs.New(ecs.Config{
			Connections: []ecs.Connection{{Name: "fine", Region: "ap-northeast-1", EndpointURL: dead}},
			Credentials: credentials.NewStaticCredentialsProvider("AKIDKOYOMITEST", "not-a-secret", ""),
			MaxBackoff:  20 * time.Second, // the SDK would wait long between attempts if it retried
		})
		require.NoError(t, err)
		r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobECS: ex}, Node: "test-node",
			PollInterval: time.Second, KillGrace: time.Second, Logger: testLogger()})
		require.NoError(t, err)
		g := submit(t, st, &jobnet.Jobnet{Name: "dead", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{ecsUnit("load", "fine")}}}, nil)
		var got store.UnitRun
		for range 200 {
			_, err := r.Pass(ctx)
			require.NoError(t, err)
			if got = unitsOf(t, st, g.ID)["load"]; got.State.IsTerminal() {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		require.Equal(t, jobrun.StateFailedToStart, got.State, "reason %q", got.Reason)
		require.Contains(t, got.Reason, "the connection is unusable (nothing listens at the endpoint)")
	})
}
