package store_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/seal"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

func keyring(t *testing.T, spec ...string) *seal.Keyring {
	t.Helper()
	k, err := seal.ParseKeys(strings.Join(spec, ","))
	require.NoError(t, err)
	return k
}

func randomKey(t *testing.T, id string) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return id + ":" + base64.StdEncoding.EncodeToString(b)
}

// A database written without a key is read once a key is set, its plain
// secrets are sealed by rotation, and a second rotation moves every
// secret to the next key while the old one is still listed.
func TestSecretsSealedAtRestAndRotated(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			url := storetest.URL(t, dialect)
			open := func(k *seal.Keyring) *store.Store {
				s, err := store.Open(ctx, store.Config{URL: url, Keys: k})
				require.NoError(t, err)
				t.Cleanup(func() { _ = s.Close() })
				return s
			}
			stored := func(s *store.Store) []string {
				vs, err := s.StoredSecretValues(ctx)
				require.NoError(t, err)
				return vs
			}
			plainStore := open(nil)
			_, err := plainStore.MigrateUp(ctx)
			require.NoError(t, err)
			require.NoError(t, plainStore.CreateConnection(ctx, awsConnection("ap-northeast-1", "ext-secret-1")))
			slack, err := plainStore.CreateAlertChannel(ctx, alert.Channel{Name: "ops", Kind: alert.ChannelSlack, Enabled: true, Config: []byte(`{}`)},
				alert.Secrets{WebhookURL: "https://hooks.slack.com/services/T/B/hook-secret"}, "test")
			require.NoError(t, err)
			require.Contains(t, strings.Join(stored(plainStore), " "), "ext-secret-1", "without a key secrets are kept as before")
			rep, err := plainStore.SecretsStatus(ctx)
			require.NoError(t, err)
			require.Equal(t, store.SecretsReport{Plain: 2}, rep)
			_, err = plainStore.RotateSecrets(ctx, "test")
			require.ErrorIs(t, err, fault.ErrInvalid, "nothing to seal with")

			k1 := randomKey(t, "k1")
			s1 := open(keyring(t, k1))
			got, err := s1.Connection(ctx, "prod")
			require.NoError(t, err, "plain rows read with a key set")
			require.Equal(t, "ext-secret-1", got.Secret())
			mail, err := s1.CreateAlertChannel(ctx, alert.Channel{Name: "mail", Kind: alert.ChannelEmail, Enabled: true, Config: []byte(`{}`)},
				alert.Secrets{Password: "smtp-secret"}, "test")
			require.NoError(t, err)
			rep, err = s1.SecretsStatus(ctx)
			require.NoError(t, err)
			require.Equal(t, store.SecretsReport{KeyConfigured: true, CurrentKey: "k1", Plain: 2, Current: 1}, rep, "new secrets sealed at once")

			rep, err = s1.RotateSecrets(ctx, "test")
			require.NoError(t, err)
			require.Equal(t, 2, rep.Resealed)
			require.Equal(t, 3, rep.Current)
			for _, v := range stored(s1) {
				id, sealed := seal.KeyOf(v)
				require.True(t, sealed, v)
				require.Equal(t, "k1", id)
				for _, secret := range []string{"ext-secret-1", "hook-secret", "smtp-secret"} {
					require.NotContains(t, v, secret)
				}
			}
			_, sec, err := s1.AlertChannelForSend(ctx, slack.ID)
			require.NoError(t, err)
			require.Equal(t, "https://hooks.slack.com/services/T/B/hook-secret", sec.WebhookURL)

			// Without the key the sealed secrets do not read, and the error says what to set.
			_, err = plainStore.Connection(ctx, "prod")
			require.ErrorContains(t, err, seal.EnvVar)
			require.ErrorContains(t, err, `key "k1"`)

			// Applying the same secret again is no change; the stored one is kept.
			res, err := s1.ApplyDefinitions(ctx, store.Definitions{Connections: []jobnet.Connection{awsConnection("ap-northeast-1", "ext-secret-1")}}, "alice")
			require.NoError(t, err)
			require.Equal(t, store.ChangeUnchanged, res[0].Change)

			// Rotation to k2 with k1 still listed.
			k2 := randomKey(t, "k2")
			s2 := open(keyring(t, k2, k1))
			rep, err = s2.SecretsStatus(ctx)
			require.NoError(t, err)
			require.Equal(t, 3, rep.Stale)
			rep, err = s2.RotateSecrets(ctx, "test")
			require.NoError(t, err)
			require.Equal(t, 3, rep.Resealed)
			s3 := open(keyring(t, k2))
			_, sec, err = s3.AlertChannelForSend(ctx, mail.ID)
			require.NoError(t, err, "k1 may be dropped after the rotation")
			require.Equal(t, "smtp-secret", sec.Password)
			got, err = s3.Connection(ctx, "prod")
			require.NoError(t, err)
			require.Equal(t, "ext-secret-1", got.Secret())
			rep, err = s3.RotateSecrets(ctx, "test")
			require.NoError(t, err)
			require.Zero(t, rep.Resealed, "nothing left to rotate")

			// A rotation with a key missing for some secret stops and changes nothing.
			s4 := open(keyring(t, randomKey(t, "k3")))
			before := stored(s4)
			_, err = s4.RotateSecrets(ctx, "test")
			require.ErrorContains(t, err, `key "k2"`)
			require.Equal(t, before, stored(s4))
		})
	}
}
