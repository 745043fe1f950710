package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// publicRoutes are the only routes anyone may call without signing in.
var publicRoutes = map[string]bool{
	"GET /login":   true,
	"POST /login":  true,
	"POST /logout": true,
	"POST /lang":   true,
}

// viewerWrites are the POST routes a viewer may call: their own account and
// read-only previews that need a request body.
func viewerWrite(path string) bool {
	return strings.HasPrefix(path, "/account/") || strings.HasSuffix(path, "/preview")
}

// can is the role model of DESIGN.md "Users", written out independently of
// the middleware: viewer < operator, viewer < designer; operator and designer
// are separate branches; admin reaches everything.
func can(have, need store.Role) bool {
	switch need {
	case store.RoleViewer:
		return have != ""
	case store.RoleOperator:
		return have == store.RoleOperator || have == store.RoleAdmin
	case store.RoleDesigner:
		return have == store.RoleDesigner || have == store.RoleAdmin
	case store.RoleAdmin:
		return have == store.RoleAdmin
	}
	return false
}

var paramRe = regexp.MustCompile(`:[A-Za-z_]+`)

// concrete fills path parameters with values that name nothing, so an
// allowed request ends in its handler (404, 422 …) rather than in a change.
func concrete(path string) string {
	return paramRe.ReplaceAllStringFunc(path, func(p string) string {
		switch p {
		case ":id", ":version", ":gen", ":run":
			return "999999"
		case ":date":
			return "2026-01-05"
		}
		return "zz-none"
	})
}

type matrixServer struct {
	*testServer
	web *web.Server
}

func newMatrixServer(t *testing.T) *matrixServer {
	t.Helper()
	st := storetest.Open(t, store.DialectSQLite, nil)
	svc := ops.New(ops.Params{Store: st})
	_, _, err := svc.EnsureAdmin(context.Background(), adminPassword)
	require.NoError(t, err)
	srv := web.New(web.Params{Ops: svc, Sessions: st, DB: st, BaseURL: "http://koyomi.test"})
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &matrixServer{testServer: &testServer{Server: hs, Store: st, Ops: svc}, web: srv}
}

// TestRouteTableIsComplete checks the table statically: every route has a
// role (or is one of the few public ones), admin pages need admin, changes
// need more than viewer, and the router serves nothing outside the table.
func TestRouteTableIsComplete(t *testing.T) {
	ts := newMatrixServer(t)
	specs := ts.web.RouteSpecs()
	require.NotEmpty(t, specs)
	inTable := map[string]bool{}
	for _, r := range specs {
		key := r.Method + " " + r.Path
		require.False(t, inTable[key], "%s is in the route table twice", key)
		inTable[key] = true
		switch {
		case r.Role == "":
			require.True(t, publicRoutes[key], "%s has no role: add one (store.RoleViewer …) or, if it must be public, list it in publicRoutes", key)
		case !r.Role.Valid():
			t.Errorf("%s: unknown role %q", key, r.Role)
		}
		if strings.HasPrefix(r.Path, "/admin") {
			require.Equal(t, store.RoleAdmin, r.Role, "%s is an admin page", key)
		}
		if strings.HasPrefix(r.Path, "/api/") {
			require.NotEmpty(t, r.Role, "%s: the API has no public routes", key)
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Role == store.RoleViewer && !viewerWrite(r.Path) {
			t.Errorf("%s changes something but needs only the viewer role; use operator, designer or admin", key)
		}
	}
	for _, r := range ts.web.RegisteredRoutes() {
		key := r.Method + " " + r.Path
		if r.Method == "echo_route_not_found" || key == "GET /healthz" || key == "GET /readyz" || key == "GET /metrics" || key == "GET /static/*" {
			continue
		}
		require.True(t, inTable[key], "%s is served but not in the route table (so no role guards it)", key)
	}
}

// TestRoleRouteMatrix calls every route of the table as every role and as
// an anonymous visitor and checks what the role middleware answers.
func TestRoleRouteMatrix(t *testing.T) {
	ts := newMatrixServer(t)
	ctx := context.Background()
	admin, err := ts.Store.UserByName(ctx, "admin")
	require.NoError(t, err)
	aa := ops.Actor{UserID: admin.ID, Username: admin.Username, Role: admin.Role}
	const pw = "role-password-1"
	for _, r := range []store.Role{store.RoleDesigner, store.RoleOperator, store.RoleViewer} {
		_, err := ts.Ops.CreateUser(ctx, aa, "u-"+string(r), pw, r)
		require.NoError(t, err)
	}

	type who struct {
		role store.Role
		c    func() *client
	}
	login := func(user, pass string) func() *client {
		return func() *client { return ts.client(t).login(user, pass) }
	}
	roles := []who{
		{"", func() *client { c := ts.client(t); c.get("/login"); return c }},
		{store.RoleViewer, login("u-viewer", pw)},
		{store.RoleOperator, login("u-operator", pw)},
		{store.RoleDesigner, login("u-designer", pw)},
		{store.RoleAdmin, login("admin", adminPassword)},
	}
	checked := 0
	for _, w := range roles {
		name := string(w.role)
		if name == "" {
			name = "anonymous"
		}
		t.Run(name, func(t *testing.T) {
			c := w.c()
			c.t = t
			for _, r := range ts.web.RouteSpecs() {
				if r.Role == "" {
					continue // public: nothing to enforce (TestRouteTableIsComplete limits them)
				}
				path := concrete(r.Path)
				var resp *http.Response
				var body string
				switch r.Method {
				case http.MethodGet:
					resp, body = c.get(path)
				case http.MethodPost:
					resp, body = c.post(path, url.Values{})
				default:
					req, err := http.NewRequest(r.Method, c.base+path, nil)
					require.NoError(t, err)
					req.Header.Set("X-CSRF-Token", c.csrf)
					resp, err = c.hc.Do(req)
					require.NoError(t, err)
					resp.Body.Close()
				}
				checked++
				where := r.Method + " " + r.Path + " as " + name
				switch {
				case w.role == "" && strings.HasPrefix(r.Path, "/api/"):
					require.Equal(t, http.StatusUnauthorized, resp.StatusCode, where)
				case w.role == "":
					require.Equal(t, http.StatusSeeOther, resp.StatusCode, where)
					require.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login"), "%s: redirected to %q", where, resp.Header.Get("Location"))
				case !can(w.role, r.Role):
					require.Equal(t, http.StatusForbidden, resp.StatusCode, "%s (needs %s): %.300s", where, r.Role, body)
				default:
					require.NotContains(t, []int{http.StatusUnauthorized, http.StatusForbidden}, resp.StatusCode, "%s (needs %s): %.300s", where, r.Role, body)
					if resp.StatusCode >= 500 {
						t.Logf("note: %s answered %d with placeholder parameters", where, resp.StatusCode)
					}
				}
			}
			// The session survived every request (no route logged the role out).
			if w.role != "" {
				resp, _ := c.get("/account")
				require.Equal(t, http.StatusOK, resp.StatusCode)
			}
		})
	}
	require.Greater(t, checked, 5*len(publicRoutes))
}
