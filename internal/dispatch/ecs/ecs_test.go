package ecs_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/dispatchtest"
	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
)

func req(key string, job jobnet.Job) dispatch.Request { return dispatchtest.NewRequest(key, job) }

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name     string
		script   ecsfake.Script
		cancel   bool
		state    dispatch.State
		exit     *int
		inReason string
	}{
		{"exit 0", ecsfake.Script{ExitCode: 0, RunSteps: 2}, false, dispatch.StateExited, ptr(0), "EssentialContainerExited"},
		{"exit 3", ecsfake.Script{ExitCode: 3, RunSteps: 2}, false, dispatch.StateExited, ptr(3), "container app: exit code 3"},
		{"killed", ecsfake.Script{}, true, dispatch.StateCancelled, ptr(143), "UserInitiated: Stopped by Koyomi"},
		{"deprovisioning then exit 1", ecsfake.Script{ExitCode: 1, RunSteps: 1, DeprovisionSteps: 2}, false, dispatch.StateExited, ptr(1), "exit code 1"},
		{"failed to start", ecsfake.Script{FailToStart: "CannotPullContainerError: not found"}, false, dispatch.StateFailedToStart, nil, "TaskFailedToStart: CannotPullContainerError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFake(t, ecsfake.Config{})
			ex := newExecutor(t, f)
			f.ScriptNext(tt.script)
			h, err := ex.Start(ctx, req("k-"+strings.ReplaceAll(tt.name, " ", "-"), ecsJob("run")))
			require.NoError(t, err)
			st, err := ex.Status(ctx, h)
			require.NoError(t, err)
			require.Equal(t, dispatch.StatePending, st.State)
			if tt.cancel {
				f.Advance()
				f.Advance()
				st, err = ex.Status(ctx, h)
				require.NoError(t, err)
				require.Equal(t, dispatch.StateRunning, st.State)
				require.NoError(t, ex.Cancel(ctx, h, 0))
				st, err = ex.Status(ctx, h)
				require.NoError(t, err)
				require.Equal(t, dispatch.StateRunning, st.State, "StopTask converges later")
			}
			f.Settle()
			st, err = ex.Status(ctx, h)
			require.NoError(t, err)
			require.Equal(t, tt.state, st.State, "reason %q", st.Reason)
			require.Equal(t, tt.exit, st.ExitCode)
			require.Contains(t, st.Reason, tt.inReason)
			require.False(t, st.EndedAt.IsZero())
			require.NoError(t, ex.Cancel(ctx, h, 0), "cancelling an ended task is not an error")
		})
	}
}

func ptr(i int) *int { return &i }

func TestRunTaskRequest(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)
	job := ecsJob("python", "etl.py", "--date", "2026-04-01")
	job.ECS.CPU, job.ECS.Memory = 256, 400
	job.ECS.PlatformVersion = "1.4.0"
	job.ECS.AssignPublicIP = true
	job.ECS.Tags = map[string]string{"team": "finance"}
	r := req("ct-req-1", job)
	r.Env["REGION_CODE"] = "関東"
	h, err := ex.Start(ctx, r)
	require.NoError(t, err)

	tasks := f.Tasks()
	require.Len(t, tasks, 1)
	task := tasks[0]
	require.Equal(t, h.ID, task.ARN)
	require.Equal(t, "ct-req-1", task.StartedBy)
	require.Equal(t, "ct-req-1", task.ClientToken)
	require.Equal(t, "FARGATE", task.LaunchType)
	require.Equal(t, "1.4.0", task.PlatformVersion)
	require.Equal(t, []string{"subnet-0a1b2c"}, task.Subnets)
	require.Equal(t, []string{"sg-0d4e5f"}, task.SecurityGroups)
	require.Equal(t, "ENABLED", task.AssignPublicIP)
	require.Len(t, task.Overrides, 1)
	o := task.Overrides[0]
	require.Equal(t, "app", o.Name, "the first essential container, not the non-essential log router")
	require.Equal(t, []string{"python", "etl.py", "--date", "2026-04-01"}, o.Command)
	require.Equal(t, int32(256), *o.CPU)
	require.Equal(t, int32(400), *o.Memory)
	for k, v := range r.Env {
		require.Equal(t, v, o.Environment[k], "env %s", k)
	}
	require.Len(t, o.Environment, len(r.Env))
	require.Equal(t, map[string]string{
		"koyomi:run-id": "run-ct-req-1", "koyomi:jobnet": "conformance/net", "koyomi:unit": "job",
		"koyomi:key": "ct-req-1", "koyomi:attempt": "1", "koyomi:business-date": "2026-04-01", "team": "finance",
	}, task.Tags)
	require.JSONEq(t, `{"connection":"main","cluster":"`+task.ClusterARN+`","container":"app","created_at":"2026-11-24T06:00:00Z","log_group":"/koyomi/nightly","log_stream":"koyomi/app/`+task.ID+`"}`, string(h.Data))

	// Capacity providers instead of a launch type; a named container.
	job2 := ecsJob()
	job2.ECS.LaunchType = ""
	job2.ECS.CapacityProviders = []jobnet.CapacityProvider{{Provider: "FARGATE_SPOT", Weight: 3}, {Provider: "FARGATE", Base: 1, Weight: 1}}
	job2.ECS.Container = "log-router"
	_, err = ex.Start(ctx, req("ct-req-2", job2))
	require.NoError(t, err)
	task2 := f.Tasks()[1]
	require.Equal(t, "FARGATE_SPOT", task2.CapacityProvider)
	require.Equal(t, "log-router", task2.Overrides[0].Name)
	require.Nil(t, task2.Overrides[0].Command)
}

func TestStartRejections(t *testing.T) {
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)
	tests := []struct {
		name     string
		mod      func(*jobnet.Job)
		category error
		msg      string
		calls    int // RunTask calls expected
	}{
		{"unknown cluster", func(j *jobnet.Job) { j.ECS.Cluster = "nope" }, fault.ErrNotFound, "ClusterNotFoundException", 0},
		{"unknown task definition", func(j *jobnet.Job) { j.ECS.TaskDefinition = "nope:3" }, fault.ErrInvalid, "ClientException", 0},
		{"launch type and capacity providers", func(j *jobnet.Job) {
			j.ECS.CapacityProviders = []jobnet.CapacityProvider{{Provider: "FARGATE"}}
		}, fault.ErrInvalid, "ecs.launch_type: cannot be combined with capacity_providers", 0},
		{"fargate without subnets", func(j *jobnet.Job) { j.ECS.Subnets = nil }, fault.ErrInvalid, "Network Configuration must be provided", 1},
		{"unknown container", func(j *jobnet.Job) { j.ECS.Container = "web" }, fault.ErrInvalid, `no container "web"`, 0},
		{"unknown connection", func(j *jobnet.Job) { j.ECS.Connection = "prod" }, fault.ErrNotFound, `unknown connection`, 0},
		{"reserved tag", func(j *jobnet.Job) { j.ECS.Tags = map[string]string{"koyomi:unit": "x"} }, fault.ErrInvalid, "reserved", 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.Calls("RunTask")
			job := ecsJob()
			tt.mod(&job)
			_, err := ex.Start(context.Background(), req(fmt.Sprintf("rej-%d", i), job))
			require.Error(t, err)
			var perm *dispatch.Permanent
			require.ErrorAs(t, err, &perm)
			require.False(t, dispatch.IsRetryable(err))
			require.ErrorIs(t, err, tt.category)
			require.Contains(t, err.Error(), tt.msg)
			require.Equal(t, tt.calls, f.Calls("RunTask")-before)
		})
	}
}

func TestRunTaskFailures(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)

	f.FailRunTask("RESOURCE:MEMORY")
	_, err := ex.Start(ctx, req("cap-1", ecsJob()))
	require.Error(t, err)
	var rf *ecs.RunTaskFailure
	require.ErrorAs(t, err, &rf)
	require.Equal(t, "RESOURCE:MEMORY", rf.Reason)
	require.True(t, dispatch.IsRetryable(err), "a capacity shortage is retried by the runner")
	require.Contains(t, err.Error(), "RESOURCE:MEMORY")
	require.Empty(t, f.Tasks())

	// The runner retries with the same key and gets a task.
	h, err := ex.Start(ctx, req("cap-1", ecsJob()))
	require.NoError(t, err)
	require.Len(t, f.Tasks(), 1)
	require.Equal(t, f.Tasks()[0].ARN, h.ID)

	f.FailRunTask("ATTRIBUTE")
	_, err = ex.Start(ctx, req("attr-1", ecsJob()))
	var perm *dispatch.Permanent
	require.ErrorAs(t, err, &perm, "a placement the cluster cannot satisfy fails to start")
	require.ErrorAs(t, err, &rf)
	require.Equal(t, "ATTRIBUTE", rf.Reason)
}

func TestThrottling(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f) // 4 attempts per call

	f.ThrottleOp("RunTask", 2)
	_, err := ex.Start(ctx, req("thr-1", ecsJob()))
	require.NoError(t, err)
	require.Equal(t, 3, f.Calls("RunTask"), "two throttled attempts, then success")
	require.Len(t, f.Tasks(), 1)

	f.ThrottleOp("RunTask", 10)
	_, err = ex.Start(ctx, req("thr-2", ecsJob()))
	require.Error(t, err)
	require.True(t, dispatch.IsRetryable(err))
	require.Contains(t, err.Error(), "throttled")
	require.Contains(t, err.Error(), "ThrottlingException")
	require.Equal(t, 3+4, f.Calls("RunTask"))

	f.ThrottleOp("DescribeTasks", 10)
	_, err = ex.Status(ctx, dispatch.Handle{Executor: "ecs", ID: f.Tasks()[0].ARN})
	require.True(t, dispatch.IsRetryable(err))
}

func TestStatusesBatching(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)
	var hs []dispatch.Handle
	for i := range 250 {
		f.ScriptNext(ecsfake.Script{ExitCode: i % 7, RunSteps: 1})
		h, err := ex.Start(ctx, req(fmt.Sprintf("batch-%03d", i), ecsJob()))
		require.NoError(t, err)
		hs = append(hs, h)
	}
	f.Advance()
	f.Advance()
	before := f.Calls("DescribeTasks")
	sts, err := ex.Statuses(ctx, hs)
	require.NoError(t, err)
	// 250 tasks need 3 calls of at most 100 ARNs (the fake rejects more).
	// The SDK may resend a request whose keep-alive connection the server
	// closed meanwhile, so allow for a transport retry or two.
	calls := f.Calls("DescribeTasks") - before
	require.GreaterOrEqual(t, calls, 3, "250 tasks in 3 calls")
	require.LessOrEqual(t, calls, 5, "250 tasks in 3 calls (plus transport retries)")
	for i, st := range sts {
		require.Equal(t, dispatch.StateRunning, st.State, "task %d", i)
	}
	f.Settle()
	require.NoError(t, f.Forget(hs[17].ID))
	sts, err = ex.Statuses(ctx, hs)
	require.NoError(t, err)
	for i, st := range sts {
		if i == 17 {
			require.Equal(t, dispatch.StateLost, st.State)
			require.Contains(t, st.Reason, "MISSING")
			continue
		}
		require.Equal(t, dispatch.StateExited, st.State, "task %d", i)
		require.Equal(t, i%7, *st.ExitCode, "task %d keeps its place in the answer", i)
	}
}

func TestIdempotentReattach(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	key := "ct-crash-between-runtask-and-record-0001-attempt-1" // longer than startedBy allows
	h1, err := newExecutor(t, f).Start(ctx, req(key, ecsJob("sleep")))
	require.NoError(t, err)
	// The process dies before it records h1; a fresh instance starts again.
	fresh := newExecutor(t, f)
	h2, err := fresh.Start(ctx, req(key, ecsJob("sleep")))
	require.NoError(t, err)
	require.Equal(t, h1, h2)
	require.Len(t, f.Tasks(), 1)
	require.Equal(t, 1, f.Calls("RunTask"), "re-attached through ListTasks, not a second RunTask")
	require.Equal(t, ecs.StartedBy(key), f.Tasks()[0].StartedBy)
	require.LessOrEqual(t, len(f.Tasks()[0].StartedBy), 36)

	// Still found after the task stopped.
	require.NoError(t, fresh.Cancel(ctx, h1, 0))
	f.Settle()
	h3, err := newExecutor(t, f).Start(ctx, req(key, ecsJob("sleep")))
	require.NoError(t, err)
	require.Equal(t, h1, h3)
	require.Len(t, f.Tasks(), 1)
}

func TestStartedBy(t *testing.T) {
	short := "gen-20260401-load-a1"
	require.Equal(t, short, ecs.StartedBy(short))
	a := ecs.StartedBy(strings.Repeat("a", 40) + "-1")
	b := ecs.StartedBy(strings.Repeat("a", 40) + "-2")
	require.NotEqual(t, a, b)
	require.Len(t, a, 36)
	require.Equal(t, a, ecs.StartedBy(strings.Repeat("a", 40)+"-1"))
}

func TestLogs(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)
	h, err := ex.Start(ctx, req("logs-1", ecsJob("sleep")))
	require.NoError(t, err)
	task := f.Tasks()[0]

	chunk, err := ex.Logs(ctx, h, "", 0)
	require.NoError(t, err, "no stream yet reads as empty")
	require.Empty(t, chunk.Data)
	require.False(t, chunk.More)
	require.NotEmpty(t, chunk.Next)

	f.Advance()
	f.Advance()
	require.NoError(t, f.AppendLog(task.ID, "extract 2026-04-01", "rows: 1200"))
	chunk, err = ex.Logs(ctx, h, chunk.Next, 0)
	require.NoError(t, err)
	require.Equal(t, "extract 2026-04-01\nrows: 1200\n", string(chunk.Data))
	cursor := chunk.Next

	again, err := ex.Logs(ctx, h, cursor, 0)
	require.NoError(t, err)
	require.Empty(t, again.Data)
	require.Equal(t, cursor, again.Next, "no new events keep the cursor")

	require.NoError(t, f.AppendLog(task.ID, "done"))
	require.NoError(t, ex.Cancel(ctx, h, 0))
	f.Settle()
	chunk, err = ex.Logs(ctx, h, cursor, 0)
	require.NoError(t, err)
	require.Equal(t, "done\n", string(chunk.Data), "readable after the task stopped")

	paged, _ := dispatchtest.ReadLogs(t, ex, h, "", 5)
	require.Equal(t, "extract 2026-04-01\nrows: 1200\ndone\n", string(paged))

	_, err = ex.Logs(ctx, h, "not-a-cursor", 0)
	require.ErrorIs(t, err, fault.ErrInvalid)
}

func TestLogsThrottled(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)
	h, err := ex.Start(ctx, req("logs-thr", ecsJob()))
	require.NoError(t, err)
	f.Settle()
	f.ThrottleOp("GetLogEvents", 2)
	_, err = ex.Logs(ctx, h, "", 0)
	require.NoError(t, err)
	require.Equal(t, 3, f.Calls("GetLogEvents"))
}

func TestUnknownHandles(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)
	for _, h := range []dispatch.Handle{
		{Executor: "eks", ID: "ns/pod"},
		{Executor: "ecs", ID: "arn:aws:ecs:ap-northeast-1:123456789012:cluster/batch"},
		{Executor: "ecs", ID: "arn:aws:ecs:ap-northeast-1:123456789012:task/batch/abc", Data: []byte(`{"connection":"prod"}`)},
	} {
		_, err := ex.Status(ctx, h)
		require.ErrorIs(t, err, dispatch.ErrUnknownHandle, "%+v", h)
	}
	st, err := ex.Status(ctx, dispatch.Handle{Executor: "ecs", ID: "arn:aws:ecs:ap-northeast-1:123456789012:task/gone/abc"})
	require.NoError(t, err)
	require.Equal(t, dispatch.StateLost, st.State, "a cluster that no longer exists lost its tasks")
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := ecs.New(ecs.Config{Connections: []ecs.Connection{
		{Name: "a", Region: "ap-northeast-1"}, {Name: "a", Region: "us-east-1"}, {Name: "b", ExternalID: "x"},
	}, DefaultConnection: "zzz"})
	require.ErrorIs(t, err, fault.ErrInvalid)
	ps, ok := fault.AsProblems(err)
	require.True(t, ok)
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	require.ElementsMatch(t, []string{"connections[1].name", "connections[2].region", "connections[2].external_id", "default_connection"}, paths)
}

func TestConnectionSecretsStayOut(t *testing.T) {
	c := ecs.Connection{Name: "prod", Region: "ap-northeast-1", RoleARN: "arn:aws:iam::123456789012:role/koyomi", ExternalID: "s3cr3t-ext-id"}
	require.NotContains(t, c.String(), "s3cr3t")
	require.NotContains(t, fmt.Sprintf("%v %+v %s", c, c, c), "s3cr3t")
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("conn", "connection", c)
	require.NotContains(t, buf.String(), "s3cr3t")
	require.Contains(t, buf.String(), `"external_id_set":true`)
}

func TestCancelForgotten(t *testing.T) {
	ctx := context.Background()
	f := newFake(t, ecsfake.Config{})
	ex := newExecutor(t, f)
	h, err := ex.Start(ctx, req("forgotten", ecsJob()))
	require.NoError(t, err)
	f.Settle()
	require.NoError(t, f.Forget(h.ID))
	require.NoError(t, ex.Cancel(ctx, h, 0), "a task ECS forgot needs no stop")
	st, err := ex.Status(ctx, h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateLost, st.State)
}

func BenchmarkStatuses250(b *testing.B) {
	ctx := context.Background()
	f := newFake(b, ecsfake.Config{})
	ex := newExecutor(b, f)
	hs := make([]dispatch.Handle, 250)
	for i := range hs {
		h, err := ex.Start(ctx, req(fmt.Sprintf("bench-%03d", i), ecsJob()))
		require.NoError(b, err)
		hs[i] = h
	}
	f.Settle()
	b.ResetTimer()
	for b.Loop() {
		if _, err := ex.Statuses(ctx, hs); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStart(b *testing.B) {
	ctx := context.Background()
	f := newFake(b, ecsfake.Config{})
	ex := newExecutor(b, f)
	i := 0
	for b.Loop() {
		i++
		if _, err := ex.Start(ctx, req(fmt.Sprintf("bench-start-%d", i), ecsJob())); err != nil {
			b.Fatal(err)
		}
	}
}
