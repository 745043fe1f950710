package web_test

import (
	"fmt"
	"net/url"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// TestOneClockBrowser: times on the generation page, Today, the schedule and
// the audit log carry their zone — the calendar's (JST) until the user picks
// another on the account page, then that one; a zone that does not exist
// is refused on the form.
func TestOneClockBrowser(t *testing.T) {
	b := browser.Start(t)
	srv := browser.ServerForTest(t, store.DialectSQLite)
	bundle, err := jobnet.ParseFile("clock.yaml", []byte(busyDefs(1)))
	require.NoError(t, err)
	_, err = srv.Ops.Apply(t.Context(), srv.Admin(t), bundle, false)
	require.NoError(t, err)
	admin := ops.Actor{Username: "admin", Role: store.RoleAdmin}
	g, err := srv.Ops.RunNow(t.Context(), admin, ops.RunNowRequest{Jobnet: "f/j00"})
	require.NoError(t, err)
	require.NoError(t, srv.Ops.Hold(t.Context(), admin, g.ID, ""))
	ctx := b.NewTab(t)
	require.NoError(t, browser.Login(ctx, srv.URL, browser.AdminUser, browser.AdminPassword))
	runURL := srv.URL + "/runs/" + url.PathEscape(g.ID)
	stamped := func(css, zone string) {
		t.Helper()
		txt, err := browser.Text(ctx, css)
		require.NoError(t, err)
		require.Regexp(t, regexp.MustCompile(`\d\d:\d\d(:\d\d)? `+zone), txt, "%s: %q", css, txt)
	}
	for _, size := range [][2]int64{{1366, 768}, {1920, 1080}} {
		require.NoError(t, browser.Viewport(ctx, size[0], size[1]))
		require.NoError(t, browser.Navigate(ctx, runURL))
		stamped(browser.TestID("run-summary"), "JST")
		stamped(browser.TestID("audit-row"), "JST")
		require.NoError(t, browser.Navigate(ctx, srv.URL+"/admin/audit"))
		stamped("main", "JST")
		browser.ViewportScreenshot(t, ctx, fmt.Sprintf("clock audit %dx%d", size[0], size[1]))
	}

	// A zone that does not exist is refused; a real one is used everywhere.
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/account"))
	require.NoError(t, browser.Fill(ctx, browser.TestID("tz-input"), "Mars/Olympus"))
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("tz-save")))
	msg, err := browser.Text(ctx, browser.TestID("tz-error"))
	require.NoError(t, err)
	require.Contains(t, msg, "Mars/Olympus")
	require.NoError(t, browser.Fill(ctx, browser.TestID("tz-input"), "Asia/Kolkata"))
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("tz-save")))
	shown, err := browser.Text(ctx, browser.TestID("tz-shown"))
	require.NoError(t, err)
	require.Contains(t, shown, "Asia/Kolkata")
	for _, size := range [][2]int64{{1366, 768}, {1920, 1080}} {
		require.NoError(t, browser.Viewport(ctx, size[0], size[1]))
		require.NoError(t, browser.Navigate(ctx, runURL))
		stamped(browser.TestID("run-summary"), "IST")
		stamped(browser.TestID("audit-row"), "IST")
		browser.ViewportScreenshot(t, ctx, fmt.Sprintf("clock run user zone %dx%d", size[0], size[1]))
		require.NoError(t, browser.Navigate(ctx, srv.URL+"/admin/audit"))
		stamped("main", "IST")
	}
}
