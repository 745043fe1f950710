package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/local"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/runner"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// runLogDefs: "flaky" fails on its first attempt and passes on the next;
// "big" writes 3 MiB and a last line; "stream" writes 1 MB a second,
// numbering the seconds, for a minute.
const runLogDefs = `kind: Calendar
name: c
time_zone: Asia/Tokyo
---
kind: Folder
name: f
calendar: c
---
kind: Jobnet
name: flaky
folder: f
units:
  - {name: prepare, kind: job, position: {x: 40, y: 200}, job: {type: local, local: {command: "echo prepared"}}}
  - {name: extract, kind: job, position: {x: 40, y: 40}, job: {type: local, local: {command: "echo prepared"}}}
  - {name: work, kind: job, job: {type: local, local: {command: "echo attempt $KOYOMI_ATTEMPT says hello; [ $KOYOMI_ATTEMPT -ge 2 ]"}}}
edges:
  - {from: prepare, to: work}
  - {from: extract, to: work}
---
kind: Jobnet
name: big
folder: f
units:
  - {name: dump, kind: job, job: {type: local, local: {command: "head -c 3145728 /dev/zero | tr '\\0' x | fold -w 99; echo LAST-LINE-OF-BIG"}}}
---
kind: Jobnet
name: stream
folder: f
units:
  - {name: firehose, kind: job, job: {type: local, local: {command: "i=0; while [ $i -lt 60 ]; do i=$((i+1)); head -c 1000000 /dev/zero | tr '\\0' x | fold -w 99; echo SECOND $i; sleep 1; done"}}}
`

// TestRunLogBrowser: a job's log stays readable after a rerun (one tab per
// attempt, on the page, the API and the CLI's endpoint); a large log opens at
// its end with a notice and a link to the whole file; the live tail of a job
// writing 1 MB a second stays within a few seconds of what it writes; units
// are listed in flow order and the table's header covers no row.
func TestRunLogBrowser(t *testing.T) {
	b := browser.Start(t)
	srv := browser.ServerForTest(t, store.DialectSQLite)
	bundle, err := jobnet.ParseFile("runlog.yaml", []byte(runLogDefs))
	require.NoError(t, err)
	_, err = srv.Ops.Apply(t.Context(), srv.Admin(t), bundle, false)
	require.NoError(t, err)
	ex, err := local.New(local.Config{StateDir: filepath.Join(t.TempDir(), "jobs"), SupervisorCmd: []string{os.Args[0], roleSupervisor}, KillGrace: time.Second})
	require.NoError(t, err)
	srv.Ops.SetExecutors(dispatch.Registry{jobnet.JobLocal: ex})
	r, err := runner.New(runner.Params{Store: srv.Store, Executors: dispatch.Registry{jobnet.JobLocal: ex}, Node: "test",
		PollInterval: 50 * time.Millisecond, KillGrace: time.Second, ClaimLease: time.Minute})
	require.NoError(t, err)
	rctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = r.Run(rctx) }()
	t.Cleanup(func() { stop(); <-done })
	admin := ops.Actor{Username: "admin", Role: store.RoleAdmin}
	ctx := b.NewTab(t)
	require.NoError(t, browser.Login(ctx, srv.URL, browser.AdminUser, browser.AdminPassword))

	// Attempt 1 fails, a rerun passes; both logs stay readable.
	g, err := srv.Ops.RunNow(t.Context(), admin, ops.RunNowRequest{Jobnet: "f/flaky"})
	require.NoError(t, err)
	runURL := srv.URL + "/runs/" + url.PathEscape(g.ID)
	waitFor(t, ctx, runURL, `document.querySelector('#run-state .badge')?.dataset.state === "ended_abnormal"`)
	_, err = srv.Ops.Rerun(t.Context(), admin, g.ID, ops.RerunRequest{Mode: jobrun.RerunFromAbnormal})
	require.NoError(t, err)
	waitFor(t, ctx, runURL, `document.querySelector('#run-state .badge')?.dataset.state === "ended_normal"`)

	for _, size := range [][2]int64{{1366, 768}, {1920, 1080}} {
		require.NoError(t, browser.Viewport(ctx, size[0], size[1]))
		require.NoError(t, browser.Navigate(ctx, runURL))
		// Flow order: the two starting units by their place (top first), then work.
		order, err := browser.Eval[[]string](ctx, `[...document.querySelectorAll('[data-testid="unit-row"]')].map(r => r.dataset.unit)`)
		require.NoError(t, err)
		require.Equal(t, []string{"extract", "prepare", "work"}, order)
		// No sticky header over the first row, at the top or scrolled.
		for _, scroll := range []int{0, 200} {
			clear, err := browser.Eval[bool](ctx, fmt.Sprintf(`(() => { window.scrollTo(0, %d); const t = document.querySelector('[data-testid="run-units"]');
				const th = t.querySelector("thead th").getBoundingClientRect(), td = t.querySelector("tbody td").getBoundingClientRect();
				const bar = document.querySelector(".topbar").getBoundingClientRect();
				return (th.bottom <= td.top + 1 || td.bottom <= bar.bottom) && (td.top >= bar.bottom - 1 || td.bottom <= bar.bottom); })()`, scroll))
			require.NoError(t, err)
			require.True(t, clear, "%dx%d scrolled %d: the first unit row is covered", size[0], size[1], scroll)
		}
		require.NoError(t, browser.Navigate(ctx, runURL+"?unit=work#log"))
		tabs, err := browser.Eval[[]string](ctx, `[...document.querySelectorAll('[data-testid="log-attempt"]')].map(a => a.dataset.attempt)`)
		require.NoError(t, err)
		require.Equal(t, []string{"1", "2"}, tabs)
		text, err := browser.Text(ctx, browser.TestID("log-text"))
		require.NoError(t, err)
		require.Contains(t, text, "attempt 2 says hello")
		require.NoError(t, browser.ClickNav(ctx, `[data-testid="log-attempt"][data-attempt="1"]`))
		text, err = browser.Text(ctx, browser.TestID("log-text"))
		require.NoError(t, err)
		require.Contains(t, text, "attempt 1 says hello", "the first attempt's log after the rerun")
		browser.ViewportScreenshot(t, ctx, fmt.Sprintf("run log attempts %dx%d", size[0], size[1]))
	}
	// The API serves each attempt too.
	body, err := browser.Eval[string](ctx, fetchText("/api/v1/generations/"+g.ID+"/units/work/logs?attempt=1"))
	require.NoError(t, err)
	require.Contains(t, body, "attempt 1 says hello")
	require.Contains(t, body, `"attempts":[1,2]`)

	// A large log opens at its end.
	g, err = srv.Ops.RunNow(t.Context(), admin, ops.RunNowRequest{Jobnet: "f/big"})
	require.NoError(t, err)
	bigURL := srv.URL + "/runs/" + url.PathEscape(g.ID)
	waitFor(t, ctx, bigURL, `document.querySelector('#run-state .badge')?.dataset.state === "ended_normal"`)
	require.NoError(t, browser.Navigate(ctx, bigURL+"?unit=dump#log"))
	text, err := browser.Eval[string](ctx, `document.getElementById("log-text").textContent`)
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(text, "LAST-LINE-OF-BIG\n"), "the viewer shows the end of the log")
	require.Less(t, len(text), 3<<20)
	notice, err := browser.Text(ctx, browser.TestID("log-truncated"))
	require.NoError(t, err)
	require.Contains(t, notice, "MiB")
	href, err := browser.Eval[string](ctx, `document.querySelector('[data-testid="log-truncated-download"]').href`)
	require.NoError(t, err)
	n, err := browser.Eval[int](ctx, fetchText(href)+".length")
	require.NoError(t, err)
	require.Equal(t, 3145728/99*100+3145728%99+len("LAST-LINE-OF-BIG\n"), n, "the download has the whole log")
	browser.ViewportScreenshot(t, ctx, "run log large")

	// The live tail keeps up with 1 MB/s: once the job has written for ten
	// seconds, the viewer shows lines within three seconds of the newest.
	g, err = srv.Ops.RunNow(t.Context(), admin, ops.RunNowRequest{Jobnet: "f/stream"})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Ops.Kill(context.Background(), admin, g.ID, "") })
	second := regexp.MustCompile(`SECOND (\d+)\n`)
	last := func(s string) int {
		m := second.FindAllStringSubmatch(s, -1)
		if len(m) == 0 {
			return 0
		}
		v, _ := strconv.Atoi(m[len(m)-1][1])
		return v
	}
	written := func() int {
		c, err := srv.Ops.AttemptLogTail(t.Context(), g.ID, "firehose", 0, "", 3<<20)
		if err != nil {
			return 0
		}
		return last(string(c.Data))
	}
	deadline := time.Now().Add(60 * time.Second)
	for written() < 10 {
		require.True(t, time.Now().Before(deadline), "the job did not write for ten seconds")
		time.Sleep(200 * time.Millisecond)
	}
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/runs/"+url.PathEscape(g.ID)+"?unit=firehose#log"))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("log-tail")))
	kept, shown, behind := 0, 0, 0
	deadline = time.Now().Add(40 * time.Second)
	for kept < 3 {
		require.True(t, time.Now().Before(deadline), "the tail fell behind: it shows second %d, %d behind the job", shown, behind)
		shown, err = browser.Eval[int](ctx, `(t => { const m = [...t.matchAll(/SECOND (\d+)\n/g)]; return m.length ? +m[m.length-1][1] : 0; })(document.getElementById("log-text").textContent)`)
		require.NoError(t, err)
		behind = written() - shown
		if shown > 0 && behind <= 3 {
			kept++
		} else {
			kept = 0
		}
		time.Sleep(time.Second)
	}
	browser.ViewportScreenshot(t, ctx, "run log live tail")
}

// fetchText is a JavaScript expression: the body of a GET of u, in the tab's session.
func fetchText(u string) string {
	return fmt.Sprintf(`(() => { const x = new XMLHttpRequest(); x.open("GET", %q, false); x.send(); return x.responseText; })()`, u)
}
