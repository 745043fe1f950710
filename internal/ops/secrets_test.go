package ops_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
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

// An alert channel's stored SMTP password or Slack bot token is not sent to
// a new host or API URL.
func TestChangingTheMailHostNeedsThePasswordAgain(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		svc := ops.New(ops.Params{Store: s})
		in := func(host, password string) ops.ChannelInput {
			return ops.ChannelInput{Name: "ops-mail", Kind: alert.ChannelEmail, Enabled: true,
				Config:  json.RawMessage(`{"host":"` + host + `","port":587,"username":"koyomi","from":"koyomi@example.com","to":["ops@example.com"]}`),
				Secrets: alert.Secrets{Password: password}}
		}
		ch, err := svc.CreateAlertChannel(ctx, admin, in("smtp.example.com", "mail-secret"))
		require.NoError(t, err)
		_, err = svc.UpdateAlertChannel(ctx, admin, ch.ID, in("smtp.example.com", ""))
		require.NoError(t, err, "the same host keeps the stored password")
		_, err = svc.UpdateAlertChannel(ctx, admin, ch.ID, in("smtp.attacker.example", ""))
		require.ErrorIs(t, err, fault.ErrInvalid)
		require.ErrorContains(t, err, "password")
		require.ErrorContains(t, err, "smtp.attacker.example")
		_, err = svc.UpdateAlertChannel(ctx, admin, ch.ID, in("smtp2.example.com", "new-secret"))
		require.NoError(t, err)
	})
}
