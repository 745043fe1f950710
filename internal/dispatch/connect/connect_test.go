package connect

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func TestEKSConversionPerMode(t *testing.T) {
	kube := func(k jobnet.KubeConnection) jobnet.Connection {
		return jobnet.Connection{Name: "k", Kind: jobnet.ConnectionKubernetes, Kubernetes: &k}
	}
	got, err := EKS(kube(jobnet.KubeConnection{Kubeconfig: "/etc/kube/config", Context: "prod", Namespace: "batch"}))
	require.NoError(t, err)
	require.Equal(t, eks.Connection{Name: "k", Kubeconfig: "/etc/kube/config", Context: "prod", Namespace: "batch"}, got)

	got, err = EKS(kube(jobnet.KubeConnection{InCluster: true, QPS: 5, Burst: 7, LogQPS: 0.5}))
	require.NoError(t, err)
	require.True(t, got.InCluster)
	require.Equal(t, float32(5), got.QPS)
	require.Equal(t, 7, got.Burst)
	require.Equal(t, float32(0.5), got.LogQPS)

	got, err = EKS(kube(jobnet.KubeConnection{Server: "https://k:6443", Token: "tok"}))
	require.NoError(t, err)
	require.NotNil(t, got.REST)
	require.Equal(t, "https://k:6443", got.REST.Host)
	require.Equal(t, "tok", got.REST.BearerToken)
	require.NoError(t, eks.Config{Connections: []eks.Connection{got}}.Validate())

	_, err = EKS(kube(jobnet.KubeConnection{}))
	require.ErrorIs(t, err, fault.ErrInvalid)
	_, err = EKS(jobnet.Connection{Name: "a", Kind: jobnet.ConnectionAWS, AWS: &jobnet.AWSConnection{Region: "ap-northeast-1"}})
	require.ErrorIs(t, err, fault.ErrInvalid)
	_, err = ECS(kube(jobnet.KubeConnection{InCluster: true}))
	require.ErrorIs(t, err, fault.ErrInvalid)
}

func TestTestRejectsInvalidConnectionWithoutCalling(t *testing.T) {
	_, err := Test(context.Background(), jobnet.Connection{Name: "a", Kind: jobnet.ConnectionAWS, AWS: &jobnet.AWSConnection{Region: "Tokyo"}}, Options{})
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.ErrorContains(t, err, `invalid region "Tokyo"`)
}
