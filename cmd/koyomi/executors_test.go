package main

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/config"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
)

// isolateAWS gives the AWS SDK static credentials from the environment and
// keeps it away from the real shared files and instance metadata.
func isolateAWS(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDKOYOMITEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestBuildExecutorsRunsECSTaskThroughStoredConnection(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	f := ecsfake.New(ecsfake.Config{})
	t.Cleanup(f.Close)
	f.AddCluster("batch")
	f.RegisterTaskDefinition(ecsfake.TaskDefinition{Family: "nightly", RequiresCompatibilities: []string{"EC2"}, NetworkMode: "bridge",
		Containers: []ecsfake.ContainerDefinition{{Name: "app", Image: "example/app:1"}}})

	s := storetest.Open(t, "sqlite", nil)
	require.NoError(t, s.CreateConnection(ctx, jobnet.Connection{Name: "fake", Kind: jobnet.ConnectionAWS,
		AWS: &jobnet.AWSConnection{Region: f.Region(), EndpointURL: f.URL}}))
	// An invalid kubernetes connection is left out without stopping the server.
	require.NoError(t, s.CreateConnection(ctx, jobnet.Connection{Name: "k", Kind: jobnet.ConnectionKubernetes,
		Kubernetes: &jobnet.KubeConnection{Kubeconfig: "/nonexistent/kubeconfig"}}))

	reg, err := buildExecutors(ctx, config.Config{DataDir: t.TempDir()}, s, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ex, err := reg.For(jobnet.JobECS)
	require.NoError(t, err)
	require.Equal(t, jobnet.JobECS, ex.Type())

	req := dispatch.Request{Key: "run1-load-1", RunID: "run1", Jobnet: "sales/nightly", Unit: "load", Attempt: 1, BusinessDate: "2026-11-24",
		Job: jobnet.Job{Type: jobnet.JobECS, ECS: &jobnet.ECSSpec{Cluster: "batch", TaskDefinition: "nightly", LaunchType: "EC2"}}}
	h, err := ex.Start(ctx, req)
	require.NoError(t, err)
	require.Equal(t, "ecs", h.Executor)
	require.Equal(t, 1, f.Calls("RunTask"))
	tasks := f.Tasks()
	require.Len(t, tasks, 1)
	st, err := ex.Status(ctx, h)
	require.NoError(t, err)
	require.False(t, st.State.IsTerminal())

	// The eks executor could not be built: its jobs fail to start for good, with the reason.
	eksEx, err := reg.For(jobnet.JobEKS)
	require.NoError(t, err)
	_, err = eksEx.Start(ctx, dispatch.Request{Key: "k1", Job: jobnet.Job{Type: jobnet.JobEKS}})
	var perm *dispatch.Permanent
	require.True(t, errors.As(err, &perm))
	require.ErrorIs(t, err, dispatch.ErrNoExecutor)
	require.ErrorContains(t, err, `no executor for job type eks: the kubernetes connections ["k"] are invalid`)
}

func TestBuildExecutorsWithoutConnections(t *testing.T) {
	s := storetest.Open(t, "sqlite", nil)
	reg, err := buildExecutors(context.Background(), config.Config{DataDir: t.TempDir()}, s, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	for typ, want := range map[jobnet.JobType]string{
		jobnet.JobECS: "no executor for job type ecs: define an aws connection",
		jobnet.JobEKS: "no executor for job type eks: define a kubernetes connection",
	} {
		ex, err := reg.For(typ)
		require.NoError(t, err)
		_, err = ex.Start(context.Background(), dispatch.Request{Key: "k1", Job: jobnet.Job{Type: typ}})
		require.False(t, dispatch.IsRetryable(err))
		require.ErrorContains(t, err, want)
	}
	_, err = reg.For(jobnet.JobLocal)
	require.NoError(t, err)
}

// TestConnectionChangesTakeEffectWithoutRestart: the executors follow the
// stored connections: a connection created, then pointed elsewhere, is used
// by the next start without rebuilding the registry.
func TestConnectionChangesTakeEffectWithoutRestart(t *testing.T) {
	isolateAWS(t)
	ctx := context.Background()
	fakes := make([]*ecsfake.Fake, 2)
	for i := range fakes {
		f := ecsfake.New(ecsfake.Config{})
		t.Cleanup(f.Close)
		f.AddCluster("batch")
		f.RegisterTaskDefinition(ecsfake.TaskDefinition{Family: "nightly", RequiresCompatibilities: []string{"EC2"}, NetworkMode: "bridge",
			Containers: []ecsfake.ContainerDefinition{{Name: "app", Image: "example/app:1"}}})
		fakes[i] = f
	}
	s := storetest.Open(t, "sqlite", nil)
	reg := dispatch.Registry{}
	require.NoError(t, addCloudExecutors(ctx, reg, s, slog.New(slog.DiscardHandler), cloudOptions{Refresh: time.Nanosecond}))
	ex, err := reg.For(jobnet.JobECS)
	require.NoError(t, err)
	start := func(key string) error {
		_, err := ex.Start(ctx, dispatch.Request{Key: key, RunID: "run1", Jobnet: "sales/nightly", Unit: "load", Attempt: 1, BusinessDate: "2026-11-24",
			Job: jobnet.Job{Type: jobnet.JobECS, ECS: &jobnet.ECSSpec{Cluster: "batch", TaskDefinition: "nightly", LaunchType: "EC2"}}})
		return err
	}
	require.ErrorContains(t, start("k0"), "define an aws connection")

	c := jobnet.Connection{Name: "aws", Kind: jobnet.ConnectionAWS, AWS: &jobnet.AWSConnection{Region: fakes[0].Region(), EndpointURL: fakes[0].URL}}
	require.NoError(t, s.CreateConnection(ctx, c))
	require.NoError(t, start("k1"))
	require.Len(t, fakes[0].Tasks(), 1, "the new connection was used")

	c.AWS.EndpointURL = fakes[1].URL
	require.NoError(t, s.UpdateConnection(ctx, c, false))
	require.NoError(t, start("k2"))
	require.Len(t, fakes[1].Tasks(), 1, "the changed connection was used")
	require.Len(t, fakes[0].Tasks(), 1)
}
