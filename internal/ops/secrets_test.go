package ops_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// A stored secret is never sent to a new endpoint: pointing a connection at
// another server (or trusting another CA) needs the token again.
func TestChangingTheServerNeedsTheSecretAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc := ops.New(ops.Params{Store: s})
		conn := func(server, token string) *jobnet.Bundle {
			b := baseBundle()
			b.Connections = []jobnet.Connection{{Name: "k", Kind: jobnet.ConnectionKubernetes,
				Kubernetes: &jobnet.KubeConnection{Server: server, CAData: "", Token: token}}}
			return b
		}
		_, err := svc.Apply(ctx, admin, conn("https://k8s.example:6443", "tok-secret"), false)
		require.NoError(t, err)
		_, err = svc.Apply(ctx, admin, conn("https://k8s.example:6443", ""), false)
		require.NoError(t, err, "the same server keeps its stored token")

		_, err = svc.Apply(ctx, admin, conn("https://attacker.example:6443", ""), false)
		require.ErrorIs(t, err, fault.ErrInvalid)
		require.ErrorContains(t, err, "connections[k].kubernetes.token")
		require.ErrorContains(t, err, "attacker.example")
		stored, err := s.Connections(ctx)
		require.NoError(t, err)
		require.Equal(t, "https://k8s.example:6443", stored[0].Kubernetes.Server, "nothing changed")

		_, err = svc.Apply(ctx, admin, conn("https://k8s2.example:6443", "tok-2"), false)
		require.NoError(t, err, "with the token given again it is fine")
	})
}

var _ = ops.System
