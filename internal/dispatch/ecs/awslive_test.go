//go:build awslive

package ecs_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/dispatchtest"
	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// TestLiveAWS runs one task on a real cluster (see docs/ecs.md, "Live test").
// The task definition's essential container must run the given command
// through a shell image (e.g. public.ecr.aws/docker/library/busybox) and log
// with awslogs and an awslogs-stream-prefix.
func TestLiveAWS(t *testing.T) {
	env := func(k string) string {
		v := os.Getenv(k)
		require.NotEmpty(t, v, "set %s", k)
		return v
	}
	ex, err := ecs.New(ecs.Config{Connections: []ecs.Connection{{
		Name:       "live",
		Region:     env("KOYOMI_AWSLIVE_REGION"),
		RoleARN:    os.Getenv("KOYOMI_AWSLIVE_ROLE_ARN"),
		ExternalID: os.Getenv("KOYOMI_AWSLIVE_EXTERNAL_ID"),
	}}})
	require.NoError(t, err)
	job := jobnet.Job{Type: jobnet.JobECS, ECS: &jobnet.ECSSpec{
		Connection:     "live",
		Cluster:        env("KOYOMI_AWSLIVE_CLUSTER"),
		TaskDefinition: env("KOYOMI_AWSLIVE_TASK_DEFINITION"),
		LaunchType:     "FARGATE",
		Subnets:        strings.Split(env("KOYOMI_AWSLIVE_SUBNETS"), ","),
		SecurityGroups: strings.Split(os.Getenv("KOYOMI_AWSLIVE_SECURITY_GROUPS"), ","),
		AssignPublicIP: os.Getenv("KOYOMI_AWSLIVE_PUBLIC_IP") == "1",
		Command:        []string{"sh", "-c", `echo "hello $KOYOMI_BUSINESS_DATE"; exit 3`},
	}}
	key := "live-" + time.Now().UTC().Format("20060102-150405")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	h, err := ex.Start(ctx, dispatchtest.NewRequest(key, job))
	require.NoError(t, err)
	again, err := ex.Start(ctx, dispatchtest.NewRequest(key, job))
	require.NoError(t, err)
	require.Equal(t, h, again, "the same key re-attaches")

	var st dispatch.Status
	for {
		st, err = ex.Status(ctx, h)
		require.NoError(t, err)
		t.Logf("%s %s", st.State, st.Reason)
		if st.State.IsTerminal() {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		case <-time.After(10 * time.Second):
		}
	}
	require.Equal(t, dispatch.StateExited, st.State, st.Reason)
	require.Equal(t, 3, *st.ExitCode)
	out, _ := dispatchtest.ReadLogs(t, ex, h, "", 0)
	require.Contains(t, string(out), "hello 2026-04-01")
}
