package web_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// TestCalendarAndAlertFormsFit: the calendar and alert forms fit at
// 1366 px in both languages, and every checkbox sits on its label's line.
func TestCalendarAndAlertFormsFit(t *testing.T) {
	b := browser.Start(t)
	srv := browser.ServerForTest(t, store.DialectSQLite)
	bundle, err := jobnet.LoadPath("../../examples")
	require.NoError(t, err)
	_, err = srv.Ops.Apply(t.Context(), srv.Admin(t), bundle, false)
	require.NoError(t, err)
	ctx := b.NewTab(t)
	require.NoError(t, browser.Viewport(ctx, 1366, 768))
	require.NoError(t, browser.Login(ctx, srv.URL, browser.AdminUser, browser.AdminPassword))
	for _, lang := range []string{"en", "ja"} {
		require.NoError(t, browser.ClickNav(ctx, browser.TestID("lang-"+lang)))
		for _, p := range []string{"/calendars", "/calendars/jp-company", "/calendars/jp-company/import", "/alerts/channels/new", "/alerts/rules/new", "/alerts"} {
			require.NoError(t, browser.Navigate(ctx, srv.URL+p))
			_, err := browser.Eval[bool](ctx, `(document.querySelectorAll("details").forEach(d => d.open = true), true)`)
			require.NoError(t, err)
			wide, err := browser.Eval[string](ctx, `document.documentElement.scrollWidth > innerWidth ? Array.from(document.querySelectorAll("main *")).filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 3).map(e => e.tagName + "." + e.className + "[" + (e.getAttribute("name")||"") + "] in " + e.parentElement.className + "/" + e.parentElement.parentElement.className + " " + Math.round(e.getBoundingClientRect().left) + "-" + Math.round(e.getBoundingClientRect().right)).join("; ") || "?" : ""`)
			require.NoError(t, err)
			require.Empty(t, wide, "%s %s: no sideways scrolling at 1366 px", lang, p)
			loose, err := browser.Eval[string](ctx, `Array.from(document.querySelectorAll("main input[type=checkbox]")).filter(i => i.offsetParent).filter(i => { const l = i.closest("label"); if (!l) return true; const a = i.getBoundingClientRect(), r = l.getBoundingClientRect(); return a.top < r.top - 1 || a.bottom > r.bottom + 1 || r.height > 44; }).map(i => i.name).join(", ")`)
			require.NoError(t, err)
			require.Empty(t, loose, "%s %s: checkboxes apart from their labels", lang, p)
		}
		browser.ViewportScreenshot(t, ctx, fmt.Sprintf("alerts 1366 %s", lang))
	}
}
