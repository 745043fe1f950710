package ops_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

var (
	admin    = ops.Actor{Username: "root", Role: store.RoleAdmin}
	designer = ops.Actor{Username: "dora", Role: store.RoleDesigner}
)

func ecsJobnet(name, connection string) jobnet.Jobnet {
	return jobnet.Jobnet{Name: name, Folder: "sales", Net: jobnet.Net{Units: []jobnet.Unit{{Name: "load", Kind: jobnet.UnitJob,
		Job: &jobnet.Job{Type: jobnet.JobECS, ECS: &jobnet.ECSSpec{Connection: connection, Cluster: "batch", TaskDefinition: "load"}}}}}}
}

func baseBundle() *jobnet.Bundle {
	return &jobnet.Bundle{Calendars: []calendar.Definition{{Name: "cal"}}, Folders: []jobnet.Folder{{Name: "sales", Calendar: "cal"}}}
}

func TestApplyChecksConnectionsAndKeepsSecrets(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc := ops.New(ops.Params{Store: s})

		// A job naming an unknown connection is rejected against the database.
		b := baseBundle()
		b.Jobnets = []jobnet.Jobnet{ecsJobnet("nightly", "prod")}
		_, err := svc.Apply(ctx, admin, b, false)
		require.ErrorIs(t, err, fault.ErrInvalid)
		require.ErrorContains(t, err, `jobnets[sales/nightly].units[load].job.ecs.connection: unknown connection "prod"`)

		// Defined in the same bundle it is fine; designers may not apply connections.
		conn := jobnet.Connection{Name: "prod", Kind: jobnet.ConnectionAWS,
			AWS: &jobnet.AWSConnection{Region: "ap-northeast-1", RoleARN: "arn:aws:iam::123456789012:role/k", ExternalID: "ext-secret"}}
		b.Connections = []jobnet.Connection{conn}
		_, err = svc.Apply(ctx, designer, b, false)
		require.ErrorIs(t, err, fault.ErrForbidden)
		_, err = svc.Apply(ctx, admin, b, false)
		require.NoError(t, err)

		// Export leaves the secret out; applying the export changes nothing.
		exp, err := svc.Export(ctx, "")
		require.NoError(t, err)
		require.Len(t, exp.Connections, 1)
		require.False(t, exp.Connections[0].HasSecret())
		data, err := jobnet.Encode(exp)
		require.NoError(t, err)
		require.NotContains(t, string(data), "ext-secret")
		back, err := jobnet.ParseFile("export.yaml", data)
		require.NoError(t, err)
		res, err := svc.Apply(ctx, admin, back, false)
		require.NoError(t, err)
		for _, o := range res.Objects {
			require.Equal(t, store.ChangeUnchanged, o.Change, "%s %s", o.Kind, o.Name)
		}
		stored, err := s.Connection(ctx, "prod")
		require.NoError(t, err)
		require.Equal(t, "ext-secret", stored.Secret())

		// Known names the stored connections, so a later jobnet validates.
		k, err := svc.Known(ctx)
		require.NoError(t, err)
		require.True(t, k.CheckConnections)
		require.Equal(t, []string{"prod"}, k.Connections)

		// A token connection cannot be created without its token.
		kube := jobnet.Connection{Name: "lab", Kind: jobnet.ConnectionKubernetes, Kubernetes: &jobnet.KubeConnection{Server: "https://k.example:6443"}}
		err = svc.CreateConnection(ctx, admin, kube)
		require.ErrorContains(t, err, "connections[lab].kubernetes.token: required with server")
	})
}

func TestDeleteConnectionRefusedWhileUsed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc := ops.New(ops.Params{Store: s})
		require.NoError(t, svc.CreateConnection(ctx, admin, jobnet.Connection{Name: "prod", Kind: jobnet.ConnectionAWS, AWS: &jobnet.AWSConnection{Region: "ap-northeast-1"}}))
		require.ErrorIs(t, svc.CreateConnection(ctx, designer, jobnet.Connection{Name: "x", Kind: jobnet.ConnectionAWS, AWS: &jobnet.AWSConnection{Region: "ap-northeast-1"}}), fault.ErrForbidden)

		b := baseBundle()
		// "implicit" names no connection: with one aws connection, it runs on it.
		b.Jobnets = []jobnet.Jobnet{ecsJobnet("nightly", "prod"), ecsJobnet("implicit", "")}
		_, err := svc.Apply(ctx, admin, b, false)
		require.NoError(t, err)

		cv, err := svc.Connection(ctx, admin, "prod")
		require.NoError(t, err)
		require.Equal(t, []string{"sales/implicit", "sales/nightly"}, cv.UsedBy)
		err = svc.DeleteConnection(ctx, admin, "prod")
		require.ErrorIs(t, err, fault.ErrConflict)
		var inUse *ops.ConnectionInUseError
		require.ErrorAs(t, err, &inUse)
		require.Equal(t, []string{"sales/implicit", "sales/nightly"}, inUse.Jobnets)

		// A second aws connection is used by nobody and can go.
		require.NoError(t, svc.CreateConnection(ctx, admin, jobnet.Connection{Name: "dr", Kind: jobnet.ConnectionAWS, AWS: &jobnet.AWSConnection{Region: "ap-northeast-3"}}))
		require.NoError(t, svc.DeleteConnection(ctx, admin, "dr"))
		require.ErrorIs(t, svc.DeleteConnection(ctx, admin, "dr"), fault.ErrNotFound)

		log, err := s.AuditLog(ctx, store.AuditQuery{Target: "connection/"})
		require.NoError(t, err)
		require.Len(t, log, 3) // create prod, create dr, delete dr
	})
}
