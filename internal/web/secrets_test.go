package web_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/seal"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// /admin says when secrets are stored unencrypted, and when some are not
// yet sealed with the current key.
func TestAdminWarnsOfUnsealedSecrets(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	_, body := ts.client(t).login("admin", adminPassword).get("/admin")
	require.Contains(t, body, `data-testid="secrets-unsealed"`)
	require.Contains(t, body, "KOYOMI_SECRET_KEY")

	ctx := context.Background()
	url := storetest.URL(t, store.DialectSQLite)
	plain := storetest.OpenURL(t, url)
	require.NoError(t, plain.CreateConnection(ctx, jobnet.Connection{Name: "prod", Kind: jobnet.ConnectionAWS,
		AWS: &jobnet.AWSConnection{Region: "ap-northeast-1", RoleARN: "arn:aws:iam::123456789012:role/koyomi", ExternalID: "ext"}}))
	keys, err := seal.ParseKeys("k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32)))
	require.NoError(t, err)
	ts = newTestServerWith(t, store.DialectSQLite, func(p *web.Params) {
		st, err := store.Open(ctx, store.Config{URL: url, Keys: keys})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		svc := ops.New(ops.Params{Store: st})
		_, _, err = svc.EnsureAdmin(ctx, adminPassword)
		require.NoError(t, err)
		p.Ops, p.Sessions, p.DB = svc, st, st
	})
	c := ts.client(t).login("admin", adminPassword)
	_, body = c.get("/admin")
	require.NotContains(t, body, `data-testid="secrets-unsealed"`)
	require.Contains(t, body, `data-testid="secrets-pending"`)
	require.Contains(t, body, "rotate-secrets")
}
