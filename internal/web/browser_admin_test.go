package web_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/store"
	tb "github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// TestBrowserAdmin walks the admin pages in a real browser: create a
// designer, sign in as them, switch to Japanese.
func TestBrowserAdmin(t *testing.T) {
	b := tb.Start(t)
	srv := tb.ServerForTest(t, store.DialectSQLite)
	ctx := b.NewTab(t)
	id := tb.TestID

	require.NoError(t, tb.Navigate(ctx, srv.URL+"/login"))
	require.NoError(t, tb.WaitVisible(ctx, id("login-form")))
	tb.Screenshot(t, ctx, "login")

	require.NoError(t, tb.Login(ctx, srv.URL, tb.AdminUser, tb.AdminPassword))
	require.NoError(t, tb.ClickNav(ctx, `[data-testid=mainnav] a[href="/admin"]`))
	require.NoError(t, tb.WaitVisible(ctx, id("card-users")))
	tb.Screenshot(t, ctx, "admin-overview")

	require.NoError(t, tb.ClickNav(ctx, id("card-users")))
	require.NoError(t, tb.Fill(ctx, id("new-username"), "dana"))
	require.NoError(t, tb.Fill(ctx, id("new-password"), "dana-password-1"))
	require.NoError(t, tb.SetValue(ctx, id("new-role"), "designer"))
	require.NoError(t, tb.ClickNav(ctx, id("user-create-submit")))
	msg, err := tb.Text(ctx, id("flash"))
	require.NoError(t, err)
	require.Equal(t, "User dana created as Designer.", msg)
	role, err := tb.Eval[string](ctx, `document.querySelector('[data-testid="role-dana"]').value`)
	require.NoError(t, err)
	require.Equal(t, "designer", role)
	// The admin's own row has no controls to demote or disable.
	n, err := tb.Eval[int](ctx, `document.querySelectorAll('[data-testid="user-admin"] select, [data-testid="user-admin"] button').length`)
	require.NoError(t, err)
	require.Zero(t, n)
	tb.Screenshot(t, ctx, "admin-users")

	require.NoError(t, tb.Navigate(ctx, srv.URL+"/admin/audit"))
	first, err := tb.Text(ctx, `[data-testid=audit-row]:first-child`)
	require.NoError(t, err)
	require.Contains(t, first, "user.create")
	require.Contains(t, first, "user/dana")
	require.Contains(t, first, "role designer")
	tb.Screenshot(t, ctx, "admin-audit")

	require.NoError(t, tb.Logout(ctx))
	require.NoError(t, tb.Login(ctx, srv.URL, "dana", "dana-password-1"))
	nav, err := tb.Text(ctx, id("mainnav"))
	require.NoError(t, err)
	require.Contains(t, nav, "Jobnets")
	require.NotContains(t, nav, "Admin", "a designer has no admin tab")

	require.NoError(t, tb.ClickNav(ctx, id("lang-ja")))
	nav, err = tb.Text(ctx, id("mainnav"))
	require.NoError(t, err)
	for _, want := range []string{"本日", "ジョブネット", "カレンダー"} {
		require.Contains(t, nav, want)
	}
	lang, err := tb.Eval[string](ctx, `document.documentElement.lang`)
	require.NoError(t, err)
	require.Equal(t, "ja", lang)
	// The font that renders it is a real Japanese one, not tofu boxes.
	fontOK, err := tb.Eval[bool](ctx, `document.fonts.check('13px IPAGothic', 'ジョブネット')`)
	require.NoError(t, err)
	require.True(t, fontOK, "IPAGothic is not available: apt-get install fonts-ipafont-gothic")
	tb.Screenshot(t, ctx, "ja-home")

	require.NoError(t, tb.Navigate(ctx, srv.URL+"/account"))
	tb.Screenshot(t, ctx, "ja-account")
	u, err := srv.Store.UserByName(t.Context(), "dana")
	require.NoError(t, err)
	require.Equal(t, "ja", u.Lang, "the choice is stored for the user")

	require.NoError(t, tb.Navigate(ctx, srv.URL+"/admin/users"))
	status, err := tb.Text(ctx, id("error-message"))
	require.NoError(t, err)
	require.Contains(t, status, "admin")
	tb.Screenshot(t, ctx, "error-forbidden")

	require.NoError(t, tb.Navigate(ctx, srv.URL+"/"))
	require.NoError(t, tb.Logout(ctx))
	require.NoError(t, tb.ClickNav(ctx, id("lang-ja")))
	title, err := tb.Text(ctx, id("login-submit"))
	require.NoError(t, err)
	require.Equal(t, "ログイン", title)
	tb.Screenshot(t, ctx, "ja-login")
	fmt.Fprintln(t.Output(), "screenshots in", tb.ArtifactsDir())
}
