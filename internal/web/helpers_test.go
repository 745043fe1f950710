package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch/local"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// roleSupervisor runs the test binary as the local executor's supervisor.
const roleSupervisor = "koyomi-test-supervise"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == roleSupervisor {
		os.Exit(local.SupervisorMain(os.Args[2:]))
	}
	os.Exit(browser.Main(m))
}

// testServer is a real server on a real database with an admin account.
type testServer struct {
	*httptest.Server
	Store *store.Store
	Ops   *ops.Service
}

const adminPassword = "correct-horse-9"

func newTestServer(t *testing.T, dialect string) *testServer {
	t.Helper()
	return newTestServerWith(t, dialect, nil)
}

// newTestServerWith is newTestServer with changed parameters.
func newTestServerWith(t *testing.T, dialect string, change func(*web.Params)) *testServer {
	t.Helper()
	st := storetest.Open(t, dialect, nil)
	svc := ops.New(ops.Params{Store: st})
	_, _, err := svc.EnsureAdmin(context.Background(), adminPassword)
	require.NoError(t, err)
	p := web.Params{Ops: svc, Sessions: st, DB: st, BaseURL: "http://koyomi.test"}
	if change != nil {
		change(&p)
	}
	srv := web.New(p)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testServer{Server: hs, Store: st, Ops: svc}
}

// adminToken returns a new API token of the admin.
func (ts *testServer) adminToken(t *testing.T) string {
	t.Helper()
	admin, err := ts.Store.UserByName(context.Background(), "admin")
	require.NoError(t, err)
	tok, _, err := ts.Ops.CreateToken(context.Background(), ops.Actor{UserID: admin.ID, Username: "admin", Role: store.RoleAdmin}, "test")
	require.NoError(t, err)
	return tok
}

// bearerGet gets path with the token and returns the status and body.
func (ts *testServer) bearerGet(t *testing.T, tok, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// client is a browser-like HTTP client with a cookie jar that does not
// follow redirects, so tests can assert them.
type client struct {
	t    *testing.T
	base string
	hc   *http.Client
	csrf string
}

func (ts *testServer) client(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: ts.URL, hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfRe = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

func (c *client) get(path string) (*http.Response, string) {
	c.t.Helper()
	resp, err := c.hc.Get(c.base + path)
	require.NoError(c.t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := csrfRe.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return resp, string(b)
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if form.Get("_csrf") == "" {
		form.Set("_csrf", c.csrf)
	}
	resp, err := c.hc.Post(c.base+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	require.NoError(c.t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := csrfRe.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	return resp, string(b)
}

// login signs in and returns the client.
func (c *client) login(user, pass string) *client {
	c.t.Helper()
	c.get("/login")
	resp, body := c.post("/login", url.Values{"username": {user}, "password": {pass}})
	require.Equal(c.t, http.StatusSeeOther, resp.StatusCode, body)
	c.get("/")
	return c
}
