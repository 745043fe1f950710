package web_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"testing"
	"time"

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

// failingSessions cannot save: the database went read-only under it.
type failingSessions struct{ web.Sessions }

func (failingSessions) SessionCommit(context.Context, string, int64, []byte, time.Time) error {
	return errors.New("attempt to write a readonly database")
}

func TestUnsavableSessionIsSaidPlainlyNotAsCSRF(t *testing.T) {
	ts := newTestServerWith(t, store.DialectSQLite, func(p *web.Params) { p.Sessions = failingSessions{p.Sessions} })
	c := ts.client(t)
	resp, body := c.get("/login")
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.Contains(t, body, "cannot save your session")
	require.NotContains(t, body, "CSRF")
}

func TestReadyzFailsWhenTheDatabaseCannotBeWritten(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	get := func() (int, string) {
		resp, err := http.Get(ts.URL + "/readyz")
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := get()
	require.Equal(t, http.StatusOK, code)
	require.NoError(t, os.Remove(ts.Store.Location()))
	code, body := get()
	require.Equal(t, http.StatusServiceUnavailable, code, "a deleted database file keeps answering reads through the open handle")
	require.Contains(t, body, "database")
}
