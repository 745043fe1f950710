package web_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/web"
)

func TestMetricsCanRequireAToken(t *testing.T) {
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("koyomi_leader 1\n")) })
	ts := newTestServerWith(t, store.DialectSQLite, func(p *web.Params) { p.Metrics = metrics; p.MetricsToken = "s3cret" })
	get := func(auth string) int {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	require.Equal(t, http.StatusUnauthorized, get(""))
	require.Equal(t, http.StatusUnauthorized, get("Bearer wrong"))
	require.Equal(t, http.StatusOK, get("Bearer s3cret"))

	open := newTestServerWith(t, store.DialectSQLite, func(p *web.Params) { p.Metrics = metrics })
	resp, err := http.Get(open.URL + "/metrics")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "without a token /metrics stays open")
}
