package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// waitFor reloads url until the JavaScript condition holds.
func waitFor(t *testing.T, ctx context.Context, u, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		require.NoError(t, browser.Navigate(ctx, u))
		ok, err := browser.Eval[bool](ctx, cond)
		require.NoError(t, err)
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: condition %s not met in 30s", u, cond)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestOpsBrowser runs a jobnet whose second job fails with the real runner,
// sees it red on Today and on the generation page, reads the log, fixes the
// input and reruns from the abnormal job, then holds and releases a waiting
// job and kills a running one.
func TestOpsBrowser(t *testing.T) {
	b := browser.Start(t)
	srv := browser.ServerForTest(t, store.DialectSQLite)
	fixed := filepath.Join(t.TempDir(), "input")
	bundle, err := jobnet.ParseFile("ops.yaml", []byte(opsDefs(fixed)))
	require.NoError(t, err)
	_, err = srv.Ops.Apply(t.Context(), srv.Admin(t), bundle, false)
	require.NoError(t, err)
	ex := newShellExec()
	srv.Ops.SetExecutors(dispatch.Registry{jobnet.JobLocal: ex})
	r := newOpsRunner(t, srv.Store, ex)
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })

	ctx := b.NewTab(t)
	require.NoError(t, browser.Login(ctx, srv.URL, browser.AdminUser, browser.AdminPassword))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("today-empty")))

	// Run now from the Today form.
	require.NoError(t, browser.Click(ctx, `[data-testid="runnow"] summary`))
	require.NoError(t, browser.SetValue(ctx, browser.TestID("runnow-jobnet"), "f/batch"))
	require.NoError(t, browser.SetValue(ctx, browser.TestID("runnow-params"), "REGION=kanto"))
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("runnow-submit")))
	loc, err := browser.Location(ctx)
	require.NoError(t, err)
	require.Contains(t, loc, "/runs/")
	runURL := strings.SplitN(loc, "#", 2)[0]
	id, err := url.PathUnescape(runURL[strings.LastIndex(runURL, "/runs/")+6:])
	require.NoError(t, err)

	red := `document.querySelector('[data-testid="graph-node"][data-unit="load"]')?.dataset.state === "ended_abnormal"`
	waitFor(t, ctx, runURL, red+` && document.querySelector('#run-state .badge').dataset.state === "ended_abnormal"`)

	// Red on Today, in the attention list and the table.
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/"))
	st, err := browser.Eval[string](ctx, fmt.Sprintf(`document.querySelector('[data-testid="gen-row"][data-run="%s"]').dataset.state`, id))
	require.NoError(t, err)
	require.Equal(t, "ended_abnormal", st)
	att, err := browser.Text(ctx, browser.TestID("today-attention"))
	require.NoError(t, err)
	require.Contains(t, att, "f/batch")
	browser.Screenshot(t, ctx, "ops today")

	// The generation page: click the failed job in the graph to read its log.
	require.NoError(t, browser.Navigate(ctx, runURL))
	// The units table's header does not cover its first row.
	clear, err := browser.Eval[bool](ctx, `(() => { const t = document.querySelector('[data-testid="run-units"]'); const th = t.querySelector("thead th").getBoundingClientRect(), td = t.querySelector("tbody td").getBoundingClientRect(); return th.bottom <= td.top + 1; })()`)
	require.NoError(t, err)
	require.True(t, clear, "units header over the first row")
	require.NoError(t, browser.ClickNav(ctx, `[data-testid="graph-node"][data-unit="load"]`))
	logText, err := browser.Text(ctx, browser.TestID("log-text"))
	require.NoError(t, err)
	require.Contains(t, logText, "input missing")
	browser.Screenshot(t, ctx, "ops generation failed")
	require.NoError(t, browser.Fill(ctx, browser.TestID("log-search"), "missing"))
	logText, err = browser.Text(ctx, browser.TestID("log-text"))
	require.NoError(t, err)
	require.Equal(t, "input missing", strings.TrimSpace(logText), "the filter keeps matching lines only")
	browser.Screenshot(t, ctx, "ops log viewer")

	// Fix the input and rerun from the abnormal job: green.
	require.NoError(t, os.WriteFile(fixed, []byte("ok"), 0o600))
	// Back to the top: the sticky header would cover a button scrolled to the edge.
	_, err = browser.Eval[bool](ctx, `(window.scrollTo(0, 0), true)`)
	require.NoError(t, err)
	require.NoError(t, browser.SetValue(ctx, browser.TestID("run-rerun-mode"), "from_abnormal"))
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("run-rerun")))
	flash, err := browser.Text(ctx, browser.TestID("flash"))
	if err != nil {
		l, _ := browser.Location(ctx)
		body, _ := browser.Eval[string](ctx, `document.body.innerText.slice(0, 600)`)
		t.Fatalf("no flash after rerun at %s: %s", l, body)
	}
	require.Contains(t, flash, "Rerun")
	waitFor(t, ctx, runURL, `document.querySelector('#run-state .badge').dataset.state === "ended_normal"`)
	for _, u := range []string{"extract", "load", "report"} {
		st, err := browser.Eval[string](ctx, fmt.Sprintf(`document.querySelector('[data-testid="graph-node"][data-unit="%s"]').dataset.state`, u))
		require.NoError(t, err)
		require.Equal(t, "ended_normal", st, u)
	}
	browser.Screenshot(t, ctx, "ops generation green")

	// Hold and release a waiting job, kill a running one.
	g, err := srv.Ops.RunNow(t.Context(), ops.Actor{Username: "admin", Role: store.RoleAdmin}, ops.RunNowRequest{Jobnet: "f/slow"})
	require.NoError(t, err)
	slowURL := srv.URL + "/runs/" + url.PathEscape(g.ID)
	waitFor(t, ctx, slowURL, `document.querySelector('[data-testid="unit-row"][data-unit="sleeper"]')?.dataset.state === "running"`)
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("unit-hold-after")))
	st, err = browser.Eval[string](ctx, `document.querySelector('[data-testid="unit-row"][data-unit="after"]').dataset.state`)
	require.NoError(t, err)
	require.Equal(t, "held", st)
	browser.Screenshot(t, ctx, "ops generation held")
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("unit-release-after")))
	st, err = browser.Eval[string](ctx, `document.querySelector('[data-testid="unit-row"][data-unit="after"]').dataset.state`)
	require.NoError(t, err)
	require.Equal(t, "waiting", st)
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("unit-kill-sleeper")))
	waitFor(t, ctx, slowURL, `document.querySelector('[data-testid="unit-row"][data-unit="sleeper"]').dataset.state === "killed"`)

	// Schedules.
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/schedule?view=day&date="+g.BusinessDate.String()))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("gantt")))
	browser.Screenshot(t, ctx, "ops schedule day")
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/schedule?view=month&date="+g.BusinessDate.String()))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("month-grid")))
	browser.Screenshot(t, ctx, "ops schedule month")
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/"))
	browser.Screenshot(t, ctx, "ops today after")
}
