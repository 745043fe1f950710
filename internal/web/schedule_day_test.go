package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// busyDefs: a Tokyo calendar with base time 05:00 and jobs jobnets on it
// (j00 and its unit with titles), and a second calendar "other" with one
// jobnet of its own.
func busyDefs(jobnets int) string {
	defs := "kind: Calendar\nname: company\ntime_zone: Asia/Tokyo\nbase_time: \"05:00\"\n---\nkind: Calendar\nname: other\ntime_zone: UTC\n" +
		"---\nkind: Folder\nname: f\ncalendar: company\n---\nkind: Folder\nname: o\ncalendar: other\n" +
		"---\nkind: Jobnet\nname: elsewhere\nfolder: o\nunits:\n  - {name: a, kind: job, job: {type: local, local: {command: \"true\"}}}\n"
	for i := range jobnets {
		title, unitTitle := "", ""
		if i == 0 {
			// Titles as people read them (a JP1 import brings them).
			title, unitTitle = "title: 月次締め\n", ", title: 売上集計"
		}
		defs += fmt.Sprintf("---\nkind: Jobnet\nname: j%02d\n%sfolder: f\nunits:\n  - {name: a%s, kind: job, job: {type: local, local: {command: \"true\"}}}\n", i, title, unitTitle)
	}
	return defs
}

// seedBusyDay applies busyDefs and inserts n generations of the business
// date of company that contains now, spread over its jobnets one a minute
// from 05:00: those started before now ended (one in fifty abnormally),
// the last few before now run, the rest wait. Jobnet j03 has no failure and
// no run around now. It returns the business date.
func seedBusyDay(tb testing.TB, st *store.Store, svc *ops.Service, now time.Time, jobnets, n int) calendar.Date {
	tb.Helper()
	ctx := context.Background()
	bundle, err := jobnet.ParseFile("busy.yaml", []byte(busyDefs(jobnets)))
	require.NoError(tb, err)
	_, err = svc.Apply(ctx, ops.System, bundle, false)
	require.NoError(tb, err)
	loc, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(tb, err)
	// Business date: the day whose 05:00 is the last one at or before now.
	local := now.In(loc).Add(-5 * time.Hour)
	date := calendar.NewDate(local.Year(), local.Month(), local.Day())
	ids := make([]store.JobnetVersion, jobnets)
	for i := range jobnets {
		ids[i], err = st.JobnetByPath(ctx, "f", fmt.Sprintf("j%02d", i), 0)
		require.NoError(tb, err)
	}
	gs := make([]store.Generation, 0, n)
	for k := range n {
		i := k % jobnets
		jv := ids[i]
		clock := calendar.ClockTime(5*60 + k*24*60/n)
		at := date.At(time.Duration(clock)*time.Minute, loc)
		g := store.Generation{JobnetID: jv.JobnetID, JobnetVersion: jv.Version, Jobnet: "f/" + jv.Jobnet.Name, Folder: "f",
			BusinessDate: date, Rule: fmt.Sprintf("r%d", k), StartClock: clock, ScheduledAt: at, State: jobrun.GenWaiting, Explanation: "every day"}
		switch {
		case at.After(now):
		case i != 3 && now.Sub(at) < 5*time.Minute:
			g.State = jobrun.GenRunning
			g.StartedAt = &at
		default:
			g.State = jobrun.GenEndedNormal
			if i != 3 && k%50 == 7 {
				g.State = jobrun.GenEndedAbnormal
			}
			end := at.Add(40 * time.Second)
			g.StartedAt, g.EndedAt = &at, &end
		}
		gs = append(gs, g)
	}
	_, err = st.InsertGenerations(ctx, gs)
	require.NoError(tb, err)
	return date
}

// BenchmarkScheduleDay renders the day Gantt of a business date with 3,000
// generations of 30 jobnets (grouped, with the focus list), through the
// real server.
func BenchmarkScheduleDay(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			now := time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC) // 12:00 in Tokyo
			st := storetest.Open(b, d, func() time.Time { return now })
			svc := ops.New(ops.Params{Store: st, Now: func() time.Time { return now }})
			date := seedBusyDay(b, st, svc, now, 30, 3000)
			_, _, err := svc.EnsureAdmin(ctx, adminPassword)
			require.NoError(b, err)
			admin, err := st.UserByName(ctx, "admin")
			require.NoError(b, err)
			tok, _, err := svc.CreateToken(ctx, ops.Actor{UserID: admin.ID, Username: "admin", Role: store.RoleAdmin}, "bench")
			require.NoError(b, err)
			hs := httptest.NewServer(web.New(web.Params{Ops: svc, Sessions: st, DB: st, Now: func() time.Time { return now }}).Handler())
			b.Cleanup(hs.Close)
			get := func() string {
				req, _ := http.NewRequest(http.MethodGet, hs.URL+"/schedule?view=day&calendar=company&date="+date.String(), nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d: %.300s", resp.StatusCode, body)
				}
				return string(body)
			}
			body := get()
			if n := strings.Count(body, `data-testid="gantt-group"`); n != 30 {
				b.Fatalf("%d jobnet groups, want 30", n)
			}
			if !strings.Contains(body, `data-testid="gantt-focus"`) {
				b.Fatal("no focus list")
			}
			for b.Loop() {
				get()
			}
			b.ReportMetric(float64(len(body))/1024, "KiB/page")
		})
	}
}

// TestScheduleDayBrowser: a business date with 3,000 generations of 30
// jobnets. The day Gantt lists what failed, what runs and what starts next
// first, groups the rest by jobnet (those with failures first, long
// groups folded and unfoldable), and shows "now" without scrolling at both
// laptop and desktop sizes; the month grid counts the calendar chosen.
func TestScheduleDayBrowser(t *testing.T) {
	b := browser.Start(t)
	// The business day starts at 05:00 in Tokyo: in its last hours nothing
	// of it is left to start, in its first hour nothing has failed yet.
	// The test's clock is three hours off then.
	clock := time.Now
	switch h := time.Now().In(time.FixedZone("JST", 9*3600)).Hour(); {
	case h >= 3 && h < 5:
		clock = func() time.Time { return time.Now().Add(-3 * time.Hour) }
	case h == 5:
		clock = func() time.Time { return time.Now().Add(3 * time.Hour) }
	}
	srv := browser.ServerForTestAt(t, store.DialectSQLite, clock)
	now := clock()
	date := seedBusyDay(t, srv.Store, srv.Ops, now, 30, 3000)
	ctx := b.NewTab(t)
	require.NoError(t, browser.Login(ctx, srv.URL, browser.AdminUser, browser.AdminPassword))
	dayURL := srv.URL + "/schedule?view=day&calendar=company&date=" + date.String()

	for _, size := range [][2]int64{{1366, 768}, {1920, 1080}} {
		require.NoError(t, browser.Viewport(ctx, size[0], size[1]))
		require.NoError(t, browser.Navigate(ctx, dayURL))
		require.NoError(t, browser.WaitVisible(ctx, browser.TestID("gantt")))
		name := fmt.Sprintf("schedule day busy %dx%d", size[0], size[1])

		// "Now" is inside the chart's visible box and the window, unscrolled.
		seen, err := browser.Eval[bool](ctx, `(() => {
			const box = document.querySelector('[data-testid="gantt-scroll"]').getBoundingClientRect();
			const now = document.querySelector('[data-testid="gantt-now"]');
			if (!now) return false;
			const r = now.getBoundingClientRect();
			const label = document.querySelector('.gantt-label').getBoundingClientRect();
			return r.left > label.right && r.left < box.right && r.left < innerWidth && box.top < innerHeight;
		})()`)
		require.NoError(t, err)
		if !seen {
			browser.ViewportScreenshot(t, ctx, name+" now hidden")
		}
		require.True(t, seen, "%s: the now line is out of view", name)

		// Failed first, then running, then next, at the top of the chart.
		states, err := browser.Eval[[]string](ctx, `[...document.querySelectorAll('[data-testid="gantt-focus"] [data-testid="gantt-row"]')].map(r => r.dataset.state)`)
		require.NoError(t, err)
		require.NotEmpty(t, states)
		rank := map[string]int{"ended_abnormal": 0, "running": 1, "waiting": 2}
		for i, s := range states {
			_, ok := rank[s]
			require.True(t, ok, "focus row %d is %s", i, s)
			if i > 0 {
				require.LessOrEqual(t, rank[states[i-1]], rank[s], "focus order %v", states)
			}
		}
		require.Contains(t, states, "ended_abnormal")
		require.Contains(t, states, "running")
		require.Contains(t, states, "waiting")
		inView, err := browser.InViewport(ctx, `[data-testid="gantt-focus"] [data-testid="gantt-row"] .gantt-label`)
		require.NoError(t, err)
		require.True(t, inView, "%s: the first failed run is visible without scrolling", name)
		browser.ViewportScreenshot(t, ctx, name)
	}

	// Groups: one per jobnet; those with failures first, then those running,
	// then the rest; a long group is folded and unfolds.
	ranks, err := browser.Eval[[]int](ctx, `[...document.querySelectorAll('[data-testid="gantt-group"]')].map(g =>
		g.querySelector('[data-state="ended_abnormal"]') ? 0 : g.querySelector('[data-state="running"]') ? 1 : 2)`)
	require.NoError(t, err)
	require.Len(t, ranks, 30)
	require.IsNonDecreasing(t, ranks)
	require.Contains(t, ranks, 0)
	require.Contains(t, ranks, 1)
	folded, err := browser.Eval[bool](ctx, `document.querySelector('[data-testid="gantt-group"][data-jobnet="f/j03"]').open`)
	require.NoError(t, err)
	require.False(t, folded, "a quiet jobnet with 100 runs starts folded")
	require.NoError(t, browser.Click(ctx, `[data-testid="gantt-group"][data-jobnet="f/j03"] summary`))
	open, err := browser.Eval[bool](ctx, `document.querySelector('[data-testid="gantt-group"][data-jobnet="f/j03"]').open`)
	require.NoError(t, err)
	require.True(t, open)

	// The month grid of "other" does not count company's generations.
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/schedule?view=month&calendar=company&date="+date.String()))
	cell, err := browser.Text(ctx, fmt.Sprintf(`[data-testid="month-day"][data-date="%s"]`, date))
	require.NoError(t, err)
	require.Contains(t, cell, "3000")
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/schedule?view=month&calendar=other&date="+date.String()))
	cell, err = browser.Text(ctx, fmt.Sprintf(`[data-testid="month-day"][data-date="%s"]`, date))
	require.NoError(t, err)
	require.NotContains(t, cell, "3000", "the month of calendar other counts its own jobnets only")
	browser.Screenshot(t, ctx, "schedule month other calendar")
}
