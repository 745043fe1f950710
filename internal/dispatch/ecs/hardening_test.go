package ecs_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
)

// TestMissingRightAfterRunTask: ECS is eventually consistent, so a task
// RunTask just created may be MISSING from DescribeTasks for a moment. It
// is still starting then; only once the grace period has passed is it lost.
func TestMissingRightAfterRunTask(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{Step: 10 * time.Second})
	ex := newExecutor(t, f, func(c *ecs.Config) { c.Now = f.Now })

	f.HideNext(2)
	h, err := ex.Start(ctx, req("ec-1", ecsJob("sleep")))
	require.NoError(t, err)
	for range 2 {
		st, err := ex.Status(ctx, h)
		require.NoError(t, err)
		require.Equal(t, dispatch.StatePending, st.State, "MISSING right after RunTask is not lost: %s", st.Reason)
		require.Contains(t, st.Reason, "ECS does not describe task")
		require.Contains(t, st.Reason, "MISSING")
	}
	st, err := ex.Status(ctx, h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StatePending, st.State)
	require.Empty(t, st.Reason, "described now: PROVISIONING")

	// A task that never shows up is lost once the grace period is over.
	f.HideNext(1000)
	h2, err := ex.Start(ctx, req("ec-2", ecsJob("sleep")))
	require.NoError(t, err)
	st, err = ex.Status(ctx, h2)
	require.NoError(t, err)
	require.Equal(t, dispatch.StatePending, st.State)
	for range 6 { // 60 s of the fake clock
		f.Advance()
	}
	st, err = ex.Status(ctx, h2)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateLost, st.State, st.Reason)
}

// TestForgottenTask: a task that stopped long before Koyomi looked (a long
// outage) is MISSING for good. It ends lost with a reason that says its
// outcome cannot be learned, and its log stays readable.
func TestForgottenTask(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f, func(c *ecs.Config) { c.Now = func() time.Time { return f.Now().Add(2 * time.Hour) } })
	f.ScriptNext(ecsfake.Script{RunSteps: 1, Logs: []string{"loading 2026-04-01", "rows: 1200"}})
	h, err := ex.Start(ctx, req("forgotten-log", ecsJob()))
	require.NoError(t, err)
	f.Settle()
	task := f.Tasks()[0]
	require.NoError(t, f.Forget(h.ID))

	st, err := ex.Status(ctx, h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateLost, st.State)
	require.Contains(t, st.Reason, "ECS no longer knows task "+task.ID)
	require.Contains(t, st.Reason, "its outcome cannot be learned")
	require.Contains(t, st.Reason, "koyomi/app/"+task.ID, "the reason says where the log is")

	chunk, err := ex.Logs(ctx, h, "", 0)
	require.NoError(t, err)
	require.Equal(t, "loading 2026-04-01\nrows: 1200\n", string(chunk.Data), "the log outlives ECS's memory of the task")
}

// TestConflictReusesTheTask: RunTask with a clientToken already used with
// other parameters answers ConflictException naming the task it started;
// that task is the attempt's (here: the definition changed between a
// crash and the retry, and the first task already stopped, so ListTasks
// does not list it).
func TestConflictReusesTheTask(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	f.ScriptNext(ecsfake.Script{RunSteps: 1})
	h1, err := newExecutor(t, f).Start(ctx, req("conflict-1", ecsJob("exit", "0")))
	require.NoError(t, err)
	f.Settle()

	h2, err := newExecutor(t, f).Start(ctx, req("conflict-1", ecsJob("exit", "3")))
	require.NoError(t, err)
	require.Equal(t, h1.ID, h2.ID)
	require.Len(t, f.Tasks(), 1, "no second task")
	require.Equal(t, 2, f.Calls("RunTask"), "the second RunTask was refused with ConflictException")
}

// TestCapacityAndQuota: shortages and full quotas are retryable and say
// they are about capacity, so the runner counts them against the job's
// capacity budget.
func TestCapacityAndQuota(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)
	capacity := func(err error) bool {
		var c interface{ Capacity() bool }
		return dispatch.IsRetryable(err) && errorsAs(err, &c) && c.Capacity()
	}
	for _, tt := range []struct {
		name   string
		inject func()
		reason string
	}{
		{"memory", func() { f.FailRunTask("RESOURCE:MEMORY") }, "RESOURCE:MEMORY"},
		{"eni", func() { f.FailRunTask("RESOURCE:ENI") }, "RESOURCE:ENI"},
		{"fargate", func() {
			f.FailRunTask("Capacity is unavailable at this time. Please try again later or in a different availability zone")
		}, "Capacity is unavailable"},
		{"provisioning quota", func() {
			f.FailNext("RunTask", "ClientException", "The maximum number of tasks in the PROVISIONING state has been reached for this cluster.")
		}, "PROVISIONING"},
		{"throttled", func() { f.ThrottleOp("RunTask", 4) }, "ThrottlingException"}, // every attempt
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.inject()
			_, err := ex.Start(ctx, req("cap-"+strings.ReplaceAll(tt.name, " ", "-"), ecsJob()))
			require.Error(t, err)
			require.True(t, capacity(err), "%v", err)
			require.Contains(t, err.Error(), tt.reason)
		})
	}
	f.FailNext("RunTask", "ClientException", "Task definition does not support launch_type FARGATE.")
	_, err := ex.Start(ctx, req("cap-bad-def", ecsJob()))
	require.False(t, dispatch.IsRetryable(err), "an ordinary ClientException stays permanent: %v", err)
}

func errorsAs(err error, target any) bool {
	return errorsAsImpl(err, target)
}

// TestTaskSize: task-level cpu and memory go into RunTask's overrides;
// sizes Fargate does not have are refused before RunTask, naming the field.
func TestTaskSize(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)
	job := ecsJob()
	job.ECS.TaskCPU, job.ECS.TaskMemory = "1 vCPU", "3 GB"
	_, err := ex.Start(ctx, req("size-1", job))
	require.NoError(t, err)
	task := f.Tasks()[0]
	require.Equal(t, ecsfake.TaskOverride{CPU: "1 vCPU", Memory: "3 GB"}, task.TaskOverride)

	job.ECS.TaskCPU, job.ECS.TaskMemory = "1024", "1024"
	_, err = ex.Start(ctx, req("size-2", job))
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.False(t, dispatch.IsRetryable(err))
	require.Contains(t, err.Error(), "ecs.task_memory: 1024 MiB does not fit Fargate task CPU 1024")
	require.Equal(t, 1, f.Calls("RunTask"))

	// One alone is checked by ECS against the task definition's other.
	job.ECS.TaskCPU, job.ECS.TaskMemory = "4096", ""
	_, err = ex.Start(ctx, req("size-3", job))
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.Contains(t, err.Error(), "No Fargate configuration exists for given values: 4096 CPU, 512 memory")
}

// TestOverridesLimit: RunTask refuses container overrides over 8 KiB of
// JSON; Koyomi says so before it calls, with what takes the room.
func TestOverridesLimit(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)
	r := req("big-env", ecsJob("run"))
	r.Env["PAYLOAD"] = strings.Repeat("x", 8200)
	_, err := ex.Start(ctx, r)
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.False(t, dispatch.IsRetryable(err))
	require.Contains(t, err.Error(), "RunTask allows 8192")
	require.Contains(t, err.Error(), "environment about")
	require.Equal(t, 0, f.Calls("RunTask"))

	r.Env["PAYLOAD"] = strings.Repeat("x", 7000)
	_, err = ex.Start(ctx, r)
	require.NoError(t, err, "within the limit")
}

// TestSecretsByReference: secrets reach the container through a task
// definition derived from the job's with the secrets added (container
// overrides cannot carry secrets), registered once and found again after
// a restart; the override environment never carries them.
func TestSecretsByReference(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	f.RegisterTaskDefinition(ecsfake.TaskDefinition{
		Family: "ledger", RequiresCompatibilities: []string{"FARGATE"}, CPU: "256", Memory: "512",
		ExecutionRoleARN: "arn:aws:iam::123456789012:role/ecsTaskExecution",
		Containers: []ecsfake.ContainerDefinition{{Name: "app", Image: "example/ledger:2",
			Environment: map[string]string{"MODE": "batch", "DB_PASSWORD": "placeholder"},
			LogDriver:   "awslogs", LogOptions: map[string]string{"awslogs-group": "/koyomi/ledger", "awslogs-stream-prefix": "k"}}},
	})
	const dbARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:prod/db-AbCdEf"
	const keyARN = "arn:aws:ssm:ap-northeast-1:123456789012:parameter/prod/api-key"
	job := ecsJob("run")
	job.ECS.TaskDefinition = "ledger"
	job.ECS.Secrets = map[string]string{"DB_PASSWORD": dbARN, "API_KEY": keyARN}

	ex := newExecutor(t, f)
	h, err := ex.Start(ctx, req("sec-1", job))
	require.NoError(t, err)
	require.Equal(t, 1, f.Registered())
	task := f.Tasks()[0]
	def, _, err := f.TaskDefinition(task.TaskDefinitionARN)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(def.Family, "ledger-koyomi-"), def.Family)
	require.Equal(t, map[string]string{"DB_PASSWORD": dbARN, "API_KEY": keyARN}, def.Containers[0].Secrets)
	require.Equal(t, map[string]string{"MODE": "batch"}, def.Containers[0].Environment, "a secret replaces a plain variable of its name")
	require.Equal(t, "example/ledger:2", def.Containers[0].Image)
	for k, v := range task.Overrides[0].Environment {
		require.NotContains(t, []string{"DB_PASSWORD", "API_KEY"}, k)
		require.NotContains(t, v, "arn:aws:secretsmanager")
	}
	require.Contains(t, string(h.Data), `"log_group":"/koyomi/ledger"`, "the derived definition keeps the logging")

	_, err = ex.Start(ctx, req("sec-2", job))
	require.NoError(t, err)
	_, err = newExecutor(t, f).Start(ctx, req("sec-3", job))
	require.NoError(t, err)
	require.Equal(t, 1, f.Registered(), "one registration per task definition and set of secrets, also after a restart")
	require.Equal(t, f.Tasks()[0].TaskDefinitionARN, f.Tasks()[2].TaskDefinitionARN)

	// A base task definition without an execution role cannot read secrets.
	job.ECS.TaskDefinition = testFamily
	_, err = ex.Start(ctx, req("sec-4", job))
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.Contains(t, err.Error(), "execution role")

	// Values are refused: only references.
	job.ECS.Secrets = map[string]string{"DB_PASSWORD": "hunter2 is the password"}
	_, err = ex.Start(ctx, req("sec-5", job))
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.Contains(t, err.Error(), "ecs.secrets.DB_PASSWORD")
}

// TestRateLimit: each connection keeps to its client-side rates; a burst
// of status calls is spread over time instead of drawing throttling.
func TestRateLimit(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	var mu sync.Mutex
	clock := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	var slept time.Duration
	ex := newExecutor(t, f, func(c *ecs.Config) {
		c.Rates = ecs.Rates{RunTask: 100, DescribeTasks: 5, GetLogEvents: 100, Other: 100}
		c.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
		c.Sleep = func(_ context.Context, d time.Duration) error {
			mu.Lock()
			defer mu.Unlock()
			clock = clock.Add(d)
			slept += d
			return nil
		}
	})
	h, err := ex.Start(ctx, req("rate-1", ecsJob("sleep")))
	require.NoError(t, err)
	for range 15 {
		_, err := ex.Status(ctx, h)
		require.NoError(t, err)
	}
	// A burst of 5, then 5 a second: the 10 calls past the burst wait 2 s.
	require.InDelta(t, 2*time.Second, slept, float64(50*time.Millisecond))
	require.Equal(t, 0, f.Calls("ListTasks")-1, "one ListTasks for the start")
}

// TestUnusableConnection: a connection that cannot work (an endpoint where
// nothing listens, a host that does not exist, no credentials) fails the
// start for good at once, without the SDK's retries.
func TestUnusableConnection(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())

	var dials int
	var mu sync.Mutex
	noSuchHost := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dials++
			mu.Unlock()
			return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: "ecs.ap-northeast-9.amazonaws.com", IsNotFound: true}}
		}
	})
	for _, tt := range []struct {
		name     string
		mod      func(*ecs.Config)
		category error
		msg      string
	}{
		{"nothing listens", func(c *ecs.Config) { c.Connections[0].EndpointURL = closed }, fault.ErrInvalid, "nothing listens at the endpoint"},
		{"no such host", func(c *ecs.Config) { c.HTTPClient = noSuchHost }, fault.ErrInvalid, "does not exist"},
		{"no credentials", func(c *ecs.Config) {
			c.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
				return aws.Credentials{}, errNoCreds
			})
		}, fault.ErrForbidden, "no credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ex := newExecutor(t, f, func(c *ecs.Config) { c.MaxAttempts = 5; c.MaxBackoff = 5 * time.Second }, tt.mod)
			_, err := ex.Start(ctx, req("unusable", ecsJob()))
			require.Error(t, err)
			var perm *dispatch.Permanent
			require.ErrorAs(t, err, &perm, "%v", err)
			require.ErrorIs(t, err, tt.category)
			require.Contains(t, err.Error(), tt.msg)
		})
	}
	require.Equal(t, 1, dials, "a host that does not exist is not tried again")

	// Credentials AWS refuses.
	ex := newExecutor(t, f, func(c *ecs.Config) { c.MaxAttempts = 5; c.MaxBackoff = 5 * time.Second })
	f.FailNext("ListTasks", "UnrecognizedClientException", "The security token included in the request is invalid.")
	_, err = ex.Start(ctx, req("refused", ecsJob()))
	var perm *dispatch.Permanent
	require.ErrorAs(t, err, &perm)
	require.ErrorIs(t, err, fault.ErrForbidden)
	require.Contains(t, err.Error(), "security token included in the request is invalid")
}
