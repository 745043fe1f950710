package seal_test

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/seal"
)

func newKey(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return base64.StdEncoding.EncodeToString(b)
}

func TestSealOpenAndRotate(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	old, err := seal.ParseKeys("k1:" + k1)
	require.NoError(t, err)
	v, err := old.Seal("xoxb-secret", "connections.secret")
	require.NoError(t, err)
	require.NotContains(t, v, "xoxb")
	id, sealed := seal.KeyOf(v)
	require.True(t, sealed)
	require.Equal(t, "k1", id)
	again, err := old.Seal("xoxb-secret", "connections.secret")
	require.NoError(t, err)
	require.NotEqual(t, v, again, "a fresh nonce each time")

	p, err := old.Open(v, "connections.secret")
	require.NoError(t, err)
	require.Equal(t, "xoxb-secret", p)
	_, err = old.Open(v, "alert_channels.secrets")
	require.ErrorIs(t, err, fault.ErrInvalid, "bound to its column")

	both, err := seal.ParseKeys("k2:" + k2 + ", k1:" + k1)
	require.NoError(t, err)
	require.Equal(t, "k2", both.Current())
	p, err = both.Open(v, "connections.secret")
	require.NoError(t, err, "the old key still opens while listed")
	require.Equal(t, "xoxb-secret", p)
	nv, err := both.Seal(p, "connections.secret")
	require.NoError(t, err)
	id, _ = seal.KeyOf(nv)
	require.Equal(t, "k2", id)

	onlyNew, err := seal.ParseKeys("k2:" + k2)
	require.NoError(t, err)
	_, err = onlyNew.Open(v, "connections.secret")
	require.ErrorContains(t, err, `sealed with key "k1"`)
	var none *seal.Keyring
	_, err = none.Open(v, "connections.secret")
	require.ErrorContains(t, err, seal.EnvVar)

	// Plain values (stored before a key was set) read as they are.
	p, err = both.Open(`{"webhook_url":"https://hooks.slack.com/x"}`, "alert_channels.secrets")
	require.NoError(t, err)
	require.Equal(t, `{"webhook_url":"https://hooks.slack.com/x"}`, p)
	p, err = none.Seal("plain", "x")
	require.NoError(t, err)
	require.Equal(t, "plain", p, "without a key secrets are stored as before")

	// The same id with another key does not open, and says why.
	wrong, err := seal.ParseKeys("k1:" + newKey(t))
	require.NoError(t, err)
	_, err = wrong.Open(v, "connections.secret")
	require.ErrorContains(t, err, "does not open")
	// Tampering is detected.
	b := []byte(v)
	b[len(b)-3] ^= 1
	_, err = old.Open(string(b), "connections.secret")
	require.Error(t, err)
}

func TestParseKeysReportsEveryProblem(t *testing.T) {
	k, err := seal.ParseKeys("  ")
	require.NoError(t, err)
	require.Nil(t, k)
	_, err = seal.ParseKeys("nocolon, bad id:" + newKey(t) + ",short:" + base64.StdEncoding.EncodeToString([]byte("16 bytes is AES1")) + ",a:" + newKey(t) + ",a:" + newKey(t) + ",b:%%%")
	require.ErrorIs(t, err, fault.ErrInvalid)
	for _, want := range []string{"entry 1: want ID:KEY", `entry 2: key id "bad id"`, "entry 3 (key \"short\"): the key is 16 bytes", `entry 5: key id "a" is listed twice`, "entry 6 (key \"b\"): the key is not base64"} {
		require.Contains(t, err.Error(), want)
	}
	require.False(t, strings.Contains(err.Error(), "entry 4"))
}

func FuzzOpen(f *testing.F) {
	k, err := seal.ParseKeys("k1:" + base64.StdEncoding.EncodeToString(make([]byte, 32)))
	require.NoError(f, err)
	v, err := k.Seal("secret", "w")
	require.NoError(f, err)
	f.Add(v)
	f.Add("sealed:v1:k1:")
	f.Add("sealed:v1:")
	f.Fuzz(func(t *testing.T, s string) {
		p, err := k.Open(s, "w")
		if _, sealed := seal.KeyOf(s); !sealed {
			require.NoError(t, err)
			require.Equal(t, s, p)
		}
	})
}
