package web_test

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
)

func userID(t *testing.T, ts *testServer, name string) string {
	t.Helper()
	u, err := ts.Store.UserByName(context.Background(), name)
	require.NoError(t, err)
	return strconv.FormatInt(u.ID, 10)
}

func TestAdminUsers(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	c := ts.client(t).login("admin", adminPassword)

	resp, body := c.get("/admin/users")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `data-testid="user-admin"`)

	// Invalid input re-renders the form with field messages and what was typed.
	resp, body = c.post("/admin/users", url.Values{"username": {"<script>x"}, "password": {"short"}, "role": {"designer"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, body, `data-testid="error-username"`)
	require.Contains(t, body, `data-testid="error-password"`)
	require.Contains(t, body, `value="&lt;script&gt;x"`)
	require.NotContains(t, body, "<script>x")
	require.Regexp(t, `<option value="designer" selected>`, body)

	resp, body = c.post("/admin/users", url.Values{"username": {"erin"}, "password": {"erin-password"}, "role": {"superuser"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, body, `data-testid="error-role"`)

	resp, _ = c.post("/admin/users", url.Values{"username": {"erin"}, "password": {"erin-password"}, "role": {"operator"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = c.get("/admin/users")
	require.Contains(t, body, "User erin created as Operator.")

	resp, body = c.post("/admin/users", url.Values{"username": {"erin"}, "password": {"erin-password"}, "role": {"viewer"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, html.UnescapeString(body), `"erin" is taken`)

	erin := userID(t, ts, "erin")
	resp, _ = c.post("/admin/users/"+erin+"/role", url.Values{"role": {"designer"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	u, err := ts.Store.UserByName(context.Background(), "erin")
	require.NoError(t, err)
	require.Equal(t, store.RoleDesigner, u.Role)

	// An admin cannot demote or disable themselves.
	self := userID(t, ts, "admin")
	c.post("/admin/users/"+self+"/role", url.Values{"role": {"viewer"}})
	_, body = c.get("/admin/users")
	require.Contains(t, body, "cannot demote or disable your own account")
	c.post("/admin/users/"+self+"/disable", nil)
	a, err := ts.Store.UserByName(context.Background(), "admin")
	require.NoError(t, err)
	require.Equal(t, store.RoleAdmin, a.Role)
	require.False(t, a.Disabled)

	// Disabled users cannot log in; their open sessions end.
	erinC := ts.client(t).login("erin", "erin-password")
	resp, _ = c.post("/admin/users/"+erin+"/disable", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, _ = erinC.get("/account")
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	erinC.get("/login")
	resp, _ = erinC.post("/login", url.Values{"username": {"erin"}, "password": {"erin-password"}})
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	c.post("/admin/users/"+erin+"/enable", nil)
	ts.client(t).login("erin", "erin-password")

	// Password reset by the admin.
	resp, _ = c.post("/admin/users/"+erin+"/password", url.Values{"password": {"tiny"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = c.get("/admin/users")
	require.Contains(t, body, "erin: password: must be 8 to 72 characters")
	c.post("/admin/users/"+erin+"/password", url.Values{"password": {"fresh-password-2"}})
	ts.client(t).login("erin", "fresh-password-2")

	resp, _ = c.post("/admin/users/abc/role", url.Values{"role": {"viewer"}})
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = c.post("/admin/users/424242/role", url.Values{"role": {"viewer"}})
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestAdminTokens(t *testing.T) {
	ts := newTestServer(t, store.DialectPostgres)
	ctx := context.Background()
	c := ts.client(t).login("admin", adminPassword)
	_, body := c.get("/admin/tokens")
	require.Contains(t, body, `data-testid="tokens-empty"`)

	a, err := ts.Store.UserByName(ctx, "admin")
	require.NoError(t, err)
	u, err := ts.Ops.CreateUser(ctx, ops.Actor{UserID: a.ID, Username: "admin", Role: store.RoleAdmin}, "ci-bot", "ci-bot-password", store.RoleOperator)
	require.NoError(t, err)
	secret, tok, err := ts.Ops.CreateToken(ctx, ops.Actor{UserID: u.ID, Username: u.Username, Role: u.Role}, `nightly <b>deploy</b>`)
	require.NoError(t, err)

	_, body = c.get("/admin/tokens")
	require.Contains(t, body, "nightly &lt;b&gt;deploy&lt;/b&gt;")
	require.Contains(t, body, ">ci-bot</a>")

	req, _ := http.NewRequest(http.MethodGet, ts.URL+"/api/v1/me", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	id := strconv.FormatInt(tok.ID, 10)
	resp, _ = c.post("/admin/tokens/"+id+"/revoke", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = c.post("/admin/tokens/"+id+"/revoke", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)

	_, body = c.get("/admin/audit?target=token/" + id)
	require.Contains(t, body, "token.revoke")
	require.Contains(t, html.UnescapeString(body), `"nightly <b>deploy</b>" of ci-bot`)
}

var olderRe = regexp.MustCompile(`href="(/admin/audit\?[^"]*before=\d+[^"]*)"`)

func TestAdminAuditPaging(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	ctx := context.Background()
	for i := range 120 {
		who := "alice"
		if i%3 == 0 {
			who = "bob"
		}
		require.NoError(t, ts.Store.Audit(ctx, store.AuditEntry{Actor: who, Action: "jobnet.save", Target: fmt.Sprintf("jobnet/sales/n%03d", i), Detail: fmt.Sprintf("<i>v%d</i>", i)}))
	}
	c := ts.client(t).login("admin", adminPassword)

	// Walk the pages of bob's entries through the "older" links.
	next := "/admin/audit?actor=bob"
	var seen []string
	rowRe := regexp.MustCompile(`jobnet/sales/n(\d{3})</a>`)
	for pages := 0; next != ""; pages++ {
		require.Less(t, pages, 5)
		resp, body := c.get(html.UnescapeString(next))
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NotContains(t, body, "<i>v", "detail is escaped")
		for _, m := range rowRe.FindAllStringSubmatch(body, -1) {
			seen = append(seen, m[1])
		}
		next = ""
		if m := olderRe.FindStringSubmatch(body); m != nil {
			next = m[1]
			require.Contains(t, next, "actor=bob", "paging keeps the filter")
		}
		if pages > 0 {
			require.Contains(t, body, `data-testid="audit-newest"`)
		}
	}
	require.Len(t, seen, 40)
	require.Equal(t, "117", seen[0], "newest first")
	require.Equal(t, "000", seen[39])

	_, body := c.get("/admin/audit?target=" + url.QueryEscape("jobnet/sales/n11"))
	require.Len(t, rowRe.FindAllString(body, -1), 10)

	resp, body := c.get("/admin/audit?before=-4")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.Contains(t, body, `data-testid="audit-error"`)

	_, body = c.get("/admin/audit?actor=nobody")
	require.Contains(t, body, `data-testid="audit-empty"`)
}

func TestLangSwitch(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)

	anon := ts.client(t)
	anon.get("/login")
	resp, _ := anon.post("/lang", url.Values{"lang": {"ja"}, "back": {"/login"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/login", resp.Header.Get("Location"))
	_, body := anon.get("/login")
	require.Contains(t, body, `<html lang="ja">`)
	require.Contains(t, body, "ログイン")

	c := ts.client(t).login("admin", adminPassword)
	resp, _ = c.post("/lang", url.Values{"lang": {"ja"}, "back": {"https://evil.example/"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/", resp.Header.Get("Location"), "only local pages")
	_, body = c.get("/admin")
	require.Contains(t, body, "システム管理")
	require.Contains(t, body, "監査ログ")
	u, err := ts.Store.UserByName(context.Background(), "admin")
	require.NoError(t, err)
	require.Equal(t, "ja", u.Lang)

	resp, _ = c.post("/lang", url.Values{"lang": {"klingon"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	resp, _ = anon.post("/lang", url.Values{"lang": {"klingon"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
}

// A viewer gets the forbidden page, with a status and a readable title.
func TestAdminPagesRenderForViewerAsForbidden(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	ctx := context.Background()
	a, err := ts.Store.UserByName(ctx, "admin")
	require.NoError(t, err)
	_, err = ts.Ops.CreateUser(ctx, ops.Actor{UserID: a.ID, Username: "admin", Role: store.RoleAdmin}, "vic", "vic-password", store.RoleViewer)
	require.NoError(t, err)
	c := ts.client(t).login("vic", "vic-password")
	resp, body := c.get("/admin/audit")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.Contains(t, body, `data-testid="error-status">403<`)
	require.Contains(t, body, "Not allowed")
}
