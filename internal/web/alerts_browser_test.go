package web_test

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// TestAlertChannelFormBrowser: the new channel form shows only the fields of
// the chosen kind, its checkboxes sit on their labels' line, and it fits
// at 1366 px.
func TestAlertChannelFormBrowser(t *testing.T) {
	b := browser.Start(t)
	srv := browser.ServerForTest(t, store.DialectSQLite)
	for i, size := range [][2]int64{{1366, 768}, {1920, 1080}} {
		ctx := b.NewTab(t)
		require.NoError(t, browser.Viewport(ctx, size[0], size[1]))
		if i == 0 { // tabs share the session cookie
			require.NoError(t, browser.Login(ctx, srv.URL, browser.AdminUser, browser.AdminPassword))
		}
		require.NoError(t, browser.Navigate(ctx, srv.URL+"/alerts/channels/new"))
		require.NoError(t, browser.WaitVisible(ctx, browser.TestID("alert-fields-email")))
		shown := func(id string) bool {
			v, err := browser.Eval[bool](ctx, fmt.Sprintf(`!!document.querySelector('[data-testid=%q]').offsetParent`, id))
			require.NoError(t, err)
			return v
		}
		require.False(t, shown("alert-fields-slack"))
		require.NoError(t, browser.SetValue(ctx, browser.TestID("alert-channel-kind"), "slack"))
		_, err := browser.Eval[bool](ctx, `document.querySelector('[data-testid="alert-channel-kind"]').dispatchEvent(new Event("change", {bubbles: true}))`)
		require.NoError(t, err)
		require.True(t, shown("alert-fields-slack"))
		require.False(t, shown("alert-fields-email"))
		inline, err := browser.Eval[bool](ctx, `Array.from(document.querySelectorAll("label.check")).filter(l => l.offsetParent).every(l => { const i = l.querySelector("input").getBoundingClientRect(), r = l.getBoundingClientRect(); return i.top >= r.top - 1 && i.bottom <= r.bottom + 1 && r.height < 30; })`)
		require.NoError(t, err)
		require.True(t, inline, "checkboxes on their labels' line")
		fits, err := browser.Eval[bool](ctx, `document.documentElement.scrollWidth <= innerWidth`)
		require.NoError(t, err)
		require.True(t, fits, "no sideways scrolling")
		browser.ViewportScreenshot(t, ctx, fmt.Sprintf("alerts channel form slack %dx%d", size[0], size[1]))
	}
}
