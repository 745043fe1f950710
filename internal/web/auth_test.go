package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

func TestLoginLogoutAndRedirect(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ts := newTestServer(t, d)
			c := ts.client(t)
			resp, _ := c.get("/account")
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.Equal(t, "/login?next=%2Faccount", resp.Header.Get("Location"))

			_, body := c.get("/login")
			require.Contains(t, body, `data-testid="login-form"`)
			resp, body = c.post("/login", url.Values{"username": {"admin"}, "password": {"wrong-password"}})
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			require.Contains(t, body, "Wrong username or password.")

			resp, _ = c.post("/login", url.Values{"username": {"admin"}, "password": {adminPassword}, "next": {"/account"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.Equal(t, "/account", resp.Header.Get("Location"))
			resp, body = c.get("/account")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, `data-testid="account-link"`)

			resp, _ = c.post("/logout", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			resp, _ = c.get("/account")
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		})
	}
}

func TestCSRFRejectsForgedPost(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	c := ts.client(t).login("admin", adminPassword)
	resp, body := c.post("/account/lang", url.Values{"lang": {"ja"}, "_csrf": {"forged"}})
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, body, "CSRF")
	u, err := ts.Store.UserByName(context.Background(), "admin")
	require.NoError(t, err)
	require.Equal(t, "en", u.Lang, "a forged post changes nothing")
}

func TestLoginThrottle(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	c := ts.client(t)
	c.get("/login")
	for i := 0; i < 5; i++ {
		resp, _ := c.post("/login", url.Values{"username": {"admin"}, "password": {"nope-nope"}})
		require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	}
	resp, body := c.post("/login", url.Values{"username": {"admin"}, "password": {adminPassword}})
	require.Equal(t, http.StatusTooManyRequests, resp.StatusCode, "even the right password waits out the lock")
	require.Contains(t, body, "Too many failed attempts")
}

func TestOpenRedirectIsRefused(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	c := ts.client(t)
	c.get("/login")
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		resp, body := c.post("/login", url.Values{"username": {"admin"}, "password": {adminPassword}, "next": {next}})
		require.Equal(t, "/", resp.Header.Get("Location"), "%s: %d %s", next, resp.StatusCode, body)
		c.get("/") // the login rotated the session and its CSRF token
		resp, _ = c.post("/logout", nil)
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		c.get("/login")
	}
}

func TestAPITokenAuth(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	ctx := context.Background()
	admin, err := ts.Store.UserByName(ctx, "admin")
	require.NoError(t, err)
	secret, _, err := ts.Ops.CreateToken(ctx, ops.Actor{UserID: admin.ID, Username: "admin", Role: store.RoleAdmin}, "ci")
	require.NoError(t, err)

	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	req.Header.Set("Authorization", "Bearer koyomi_wrong")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	resp, err = http.Get(ts.URL + "/api/v1/me")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the API answers 401, not a login redirect")
}

// TestLoginKeepsChosenLanguage: 日本語 chosen on the login page stays after
// logging in, for this and later sessions.
func TestLoginKeepsChosenLanguage(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	c := ts.client(t)
	c.get("/login")
	resp, _ := c.post("/lang", url.Values{"lang": {"ja"}, "back": {"/login"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body := c.get("/login")
	require.Contains(t, body, `<html lang="ja">`)
	c.login("admin", adminPassword)
	_, body = c.get("/")
	require.Contains(t, body, `<html lang="ja">`)

	// A new session of the same user: Japanese too.
	_, body = ts.client(t).login("admin", adminPassword).get("/")
	require.Contains(t, body, `<html lang="ja">`)
}

// A client cannot escape the per-address limit by inventing X-Forwarded-For
// headers; only a configured trusted proxy's header is believed.
func TestLoginThrottleIgnoresForwardedForFromUntrustedPeers(t *testing.T) {
	attempt := func(ts *testServer, c *client, user, xff string) int {
		form := url.Values{"username": {user}, "password": {"nope-nope"}, "_csrf": {c.csrf}}
		req, err := http.NewRequest(http.MethodPost, ts.URL+"/login", strings.NewReader(form.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := c.hc.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	ts := newTestServer(t, store.DialectSQLite)
	c := ts.client(t)
	c.get("/login")
	for i := 0; i < 5; i++ {
		require.Equal(t, http.StatusUnauthorized, attempt(ts, c, fmt.Sprintf("user%d", i), fmt.Sprintf("203.0.113.%d", i)))
	}
	require.Equal(t, http.StatusTooManyRequests, attempt(ts, c, "user9", "203.0.113.99"), "the peer address is throttled, whatever the header says")

	// Behind a trusted proxy, the header names the client.
	tp := newTestServerWith(t, store.DialectSQLite, func(p *web.Params) { p.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")} })
	c = tp.client(t)
	c.get("/login")
	for i := 0; i < 5; i++ {
		require.Equal(t, http.StatusUnauthorized, attempt(tp, c, fmt.Sprintf("user%d", i), "198.51.100.7"))
	}
	require.Equal(t, http.StatusTooManyRequests, attempt(tp, c, "user9", "198.51.100.7"))
	require.Equal(t, http.StatusUnauthorized, attempt(tp, c, "user10", "198.51.100.8"), "another client behind the proxy is not locked out")
}
