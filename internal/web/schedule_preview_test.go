package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// minuteJobnet runs every minute of the business day (05:00–28:59) on every
// day: 1,440 generations a day, 525,600 in the year the preview shows.
const minuteJobnet = `kind: Calendar
name: company
time_zone: Asia/Tokyo
base_time: "05:00"
closed_weekdays: [sat, sun]
---
kind: Folder
name: f
calendar: company
---
kind: Jobnet
name: ticker
folder: f
schedule:
  - {name: every-minute, kind: daily, closed: run, start: ["05:00"], repeat: {every: 1m, until: "28:59"}}
units:
  - {name: a, kind: job, job: {type: local, local: {command: "true"}}}
`

// BenchmarkSchedulePreview renders the schedule page (rules and year
// preview) of a jobnet that runs every minute of every day.
func BenchmarkSchedulePreview(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			now := time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC)
			st := storetest.Open(b, d, func() time.Time { return now })
			svc := ops.New(ops.Params{Store: st, Now: func() time.Time { return now }})
			bundle, err := jobnet.ParseFile("ticker.yaml", []byte(minuteJobnet))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := svc.Apply(ctx, ops.System, bundle, false); err != nil {
				b.Fatal(err)
			}
			if _, _, err := svc.EnsureAdmin(ctx, adminPassword); err != nil {
				b.Fatal(err)
			}
			admin, err := st.UserByName(ctx, "admin")
			if err != nil {
				b.Fatal(err)
			}
			tok, _, err := svc.CreateToken(ctx, ops.Actor{UserID: admin.ID, Username: "admin", Role: store.RoleAdmin}, "bench")
			if err != nil {
				b.Fatal(err)
			}
			hs := httptest.NewServer(web.New(web.Params{Ops: svc, Sessions: st, DB: st, Now: func() time.Time { return now }}).Handler())
			b.Cleanup(hs.Close)
			get := func() string {
				req, _ := http.NewRequest(http.MethodGet, hs.URL+"/jobnets/f/ticker/schedule?year=2026", nil)
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
			if !strings.Contains(body, `data-testid="sched-counts"`) {
				b.Fatalf("no run count on the page: %.500s", body)
			}
			b.ResetTimer()
			for b.Loop() {
				get()
			}
			b.ReportMetric(float64(len(body)), "bytes/page")
		})
	}
}

// TestSchedulePreviewCollapsesRepeats: a rule repeated every minute shows
// one line per day ("1440 runs 05:00–28:59"), not 1,440.
func TestSchedulePreviewCollapsesRepeats(t *testing.T) {
	ts := newTestServer(t, store.DialectSQLite)
	bundle, err := jobnet.ParseFile("ticker.yaml", []byte(minuteJobnet))
	require.NoError(t, err)
	_, err = ts.Ops.Apply(t.Context(), ops.System, bundle, false)
	require.NoError(t, err)
	c := ts.client(t).login("admin", adminPassword)
	resp, body := c.get("/jobnets/f/ticker/schedule?year=2026")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "525600 runs on 365 days")
	require.Contains(t, body, `data-explain="2026-04-01 1440 runs 05:00–28:59 [every-minute]: every day`)
	require.Less(t, len(body), 2<<20, "the page stays small")
}
