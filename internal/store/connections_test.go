package store_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

func awsConnection(region, externalID string) jobnet.Connection {
	return jobnet.Connection{Name: "prod", Kind: jobnet.ConnectionAWS, Description: "production",
		AWS: &jobnet.AWSConnection{Region: region, RoleARN: "arn:aws:iam::123456789012:role/koyomi", ExternalID: externalID}}
}

func TestConnectionsCRUDKeepsSecretsWriteOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		require.NoError(t, s.CreateConnection(ctx, awsConnection("ap-northeast-1", "ext-1")))
		require.ErrorIs(t, s.CreateConnection(ctx, awsConnection("ap-northeast-1", "")), fault.ErrConflict)

		got, err := s.Connection(ctx, "prod")
		require.NoError(t, err)
		require.Equal(t, awsConnection("ap-northeast-1", "ext-1"), got.Connection)

		// An update without the secret keeps it; with clear it is removed.
		require.NoError(t, s.UpdateConnection(ctx, awsConnection("us-east-1", ""), false))
		got, err = s.Connection(ctx, "prod")
		require.NoError(t, err)
		require.Equal(t, awsConnection("us-east-1", "ext-1"), got.Connection)
		require.NoError(t, s.UpdateConnection(ctx, awsConnection("us-east-1", "ext-2"), false))
		got, _ = s.Connection(ctx, "prod")
		require.Equal(t, "ext-2", got.Secret())
		require.NoError(t, s.UpdateConnection(ctx, awsConnection("us-east-1", ""), true))
		got, _ = s.Connection(ctx, "prod")
		require.False(t, got.HasSecret())

		// Changing the type drops the secret of the old type.
		require.NoError(t, s.UpdateConnection(ctx, awsConnection("us-east-1", "ext-3"), false))
		kube := jobnet.Connection{Name: "prod", Kind: jobnet.ConnectionKubernetes, Kubernetes: &jobnet.KubeConnection{InCluster: true}}
		require.NoError(t, s.UpdateConnection(ctx, kube, false))
		got, _ = s.Connection(ctx, "prod")
		require.Equal(t, kube, got.Connection)

		require.ErrorIs(t, s.UpdateConnection(ctx, jobnet.Connection{Name: "nope", Kind: jobnet.ConnectionAWS}, false), fault.ErrNotFound)
		list, err := s.Connections(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1)
		require.NoError(t, s.DeleteConnection(ctx, "prod"))
		require.ErrorIs(t, s.DeleteConnection(ctx, "prod"), fault.ErrNotFound)
		_, err = s.Connection(ctx, "prod")
		require.ErrorIs(t, err, fault.ErrNotFound)
	})
}

func TestApplyDefinitionsConnections(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		defs := store.Definitions{Connections: []jobnet.Connection{awsConnection("ap-northeast-1", "ext-1")}}
		res, err := s.ApplyDefinitions(ctx, defs, "alice")
		require.NoError(t, err)
		require.Equal(t, []store.AppliedObject{{Kind: "Connection", Name: "prod", Change: store.ChangeCreated}}, res)

		// The export form (no secret) changes nothing and keeps the secret.
		defs.Connections[0] = defs.Connections[0].Redacted()
		res, err = s.ApplyDefinitions(ctx, defs, "alice")
		require.NoError(t, err)
		require.Equal(t, store.ChangeUnchanged, res[0].Change)
		got, err := s.Connection(ctx, "prod")
		require.NoError(t, err)
		require.Equal(t, "ext-1", got.Secret())

		// A new secret or new settings are an update.
		defs.Connections[0] = awsConnection("ap-northeast-1", "ext-2")
		res, err = s.ApplyDefinitions(ctx, defs, "alice")
		require.NoError(t, err)
		require.Equal(t, store.ChangeUpdated, res[0].Change)
		defs.Connections[0] = awsConnection("ap-northeast-3", "")
		res, err = s.ApplyDefinitions(ctx, defs, "alice")
		require.NoError(t, err)
		require.Equal(t, store.ChangeUpdated, res[0].Change)
		got, _ = s.Connection(ctx, "prod")
		require.Equal(t, awsConnection("ap-northeast-3", "ext-2"), got.Connection)
	})
}
