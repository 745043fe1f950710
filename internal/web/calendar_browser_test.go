package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// TestCalendarBrowser closes a day in the calendar editor and sees the
// payday run move in the schedule preview, then imports the Cabinet Office
// CSV through the upload form.
func TestCalendarBrowser(t *testing.T) {
	b := browser.Start(t)
	srv := browser.ServerForTest(t, store.DialectSQLite)
	bundle, err := jobnet.ParseFile("fixture.yaml", []byte(calFixture))
	require.NoError(t, err)
	_, err = srv.Ops.Apply(t.Context(), srv.Admin(t), bundle, false)
	require.NoError(t, err)
	ctx := b.NewTab(t)
	require.NoError(t, browser.Login(ctx, srv.URL, browser.AdminUser, browser.AdminPassword))

	sched := srv.URL + "/jobnets/hr/payday/schedule?year=2026"
	runClass := `document.querySelector('#sched-year [data-date="%s"]').className`
	require.NoError(t, browser.Navigate(ctx, sched))
	cls, err := browser.Eval[string](ctx, strings.ReplaceAll(runClass, "%s", "2026-05-15"))
	require.NoError(t, err)
	require.Contains(t, cls, "run")

	// Close 2026-05-15 in the editor (htmx: the note form, then the grid re-renders).
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/calendars/corp?year=2026"))
	require.NoError(t, browser.Click(ctx, `#cal-year [data-date="2026-05-15"]`))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("day-note")))
	require.NoError(t, browser.Fill(ctx, browser.TestID("day-note"), "設備点検"))
	require.NoError(t, browser.Click(ctx, browser.TestID("day-toggle")))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("day-saved")))
	cls, err = browser.Eval[string](ctx, `document.querySelector('#cal-year [data-date="2026-05-15"]').className`)
	require.NoError(t, err)
	require.Contains(t, cls, "closed-override")
	browser.Screenshot(t, ctx, "calendar year view")

	// The plan preview: the run moved to Thursday the 14th (rule "before").
	require.NoError(t, browser.Navigate(ctx, sched))
	cls, err = browser.Eval[string](ctx, strings.ReplaceAll(runClass, "%s", "2026-05-14"))
	require.NoError(t, err)
	require.Contains(t, cls, "run")
	cls, err = browser.Eval[string](ctx, strings.ReplaceAll(runClass, "%s", "2026-05-15"))
	require.NoError(t, err)
	require.NotContains(t, cls, "run")
	// Editing the rule updates the preview without saving.
	require.NoError(t, browser.Fill(ctx, `input[name="schedule[0].day"]`, "10"))
	require.NoError(t, step(ctx, chromedp.Poll[chromedp.Void](`document.querySelector('#sched-year [data-date="2026-02-10"]').className.includes('run')`, chromedp.WithPollingTimeout(10*time.Second))))
	require.NoError(t, browser.Click(ctx, `#sched-year [data-date="2026-02-10"]`))
	// The detail arrives by htmx after the click: wait for it, then read it.
	_ = step(ctx, chromedp.Poll[chromedp.Void](`(document.querySelector('[data-testid="run-detail"]')||{textContent:''}).textContent.includes('2026-02-10 09:00')`, chromedp.WithPollingTimeout(10*time.Second)))
	detail, err := browser.Text(ctx, browser.TestID("run-detail"))
	require.NoError(t, err)
	require.Contains(t, detail, "2026-02-10 09:00")
	browser.Screenshot(t, ctx, "schedule preview")

	// Import the Cabinet Office CSV (Shift_JIS) through the form.
	file := filepath.Join(t.TempDir(), "syukujitsu.csv")
	require.NoError(t, os.WriteFile(file, syukujitsu(t), 0o600))
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/calendars/corp/import"))
	require.NoError(t, step(ctx, chromedp.SetUploadFiles(chromedp.CSS(browser.TestID("import-file")), []string{file})))
	// The file lists 1955 on; only the current years are wanted.
	require.NoError(t, step(ctx, chromedp.SetValue(chromedp.CSS(`input[name="from"]`), "2026-01-01")))
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("import-preview")))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("import-summary")))
	days, err := browser.Text(ctx, browser.TestID("import-days"))
	require.NoError(t, err)
	require.Contains(t, days, "元日")
	browser.Screenshot(t, ctx, "import preview")
	// The preview has its own address (post/redirect/get): reloading it
	// shows it again and posts nothing.
	loc, err := browser.Location(ctx)
	require.NoError(t, err)
	require.Contains(t, loc, "/calendars/corp/import/preview/")
	require.Contains(t, loc, "from=2026-01-01")
	require.NoError(t, step(ctx, chromedp.Reload()))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("import-summary")))
	posts, err := browser.Eval[int](ctx, `performance.getEntriesByType("navigation").filter(n => n.type === "reload").length`)
	require.NoError(t, err)
	require.Equal(t, 1, posts, "reloaded")
	days, err = browser.Text(ctx, browser.TestID("import-days"))
	require.NoError(t, err)
	require.Contains(t, days, "元日")
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("import-confirm")))
	msg, err := browser.Text(ctx, browser.TestID("flash"))
	require.NoError(t, err)
	require.Contains(t, msg, "Imported")
	def, v, err := srv.Ops.CalendarDef(t.Context(), "corp")
	require.NoError(t, err)
	require.Equal(t, 3, v)
	require.Greater(t, len(def.Overrides), 20)
}

// step runs one chromedp action with a timeout.
func step(ctx context.Context, a chromedp.Action[chromedp.Void]) error {
	sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	return chromedp.Do(sctx, a)
}
