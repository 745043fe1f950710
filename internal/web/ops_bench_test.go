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

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// BenchmarkTodayPage renders Today for a business date with 10,000
// generations (10 jobnets × 1,000 start times; 2% ended abnormally, 1% held,
// 5% running, the rest ended normally or waiting).
func BenchmarkTodayPage(b *testing.B) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) {
			ctx := context.Background()
			now := time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC) // 12:00 in Tokyo
			st := storetest.Open(b, d, func() time.Time { return now })
			svc := ops.New(ops.Params{Store: st, Now: func() time.Time { return now }})
			defs := "kind: Calendar\nname: company\ntime_zone: Asia/Tokyo\nbase_time: \"05:00\"\n---\nkind: Folder\nname: f\ncalendar: company\n"
			for i := range 10 {
				defs += fmt.Sprintf("---\nkind: Jobnet\nname: j%d\nfolder: f\nunits:\n  - {name: a, kind: job, job: {type: local, local: {command: \"true\"}}}\n", i)
			}
			bundle, err := jobnet.ParseFile("bench.yaml", []byte(defs))
			if err != nil {
				b.Fatal(err)
			}
			if _, err := svc.Apply(ctx, ops.System, bundle, false); err != nil {
				b.Fatal(err)
			}
			date := calendar.MustParseDate("2026-04-01")
			loc, _ := time.LoadLocation("Asia/Tokyo")
			for i := range 10 {
				jv, err := st.JobnetByPath(ctx, "f", fmt.Sprintf("j%d", i), 0)
				if err != nil {
					b.Fatal(err)
				}
				gs := make([]store.Generation, 0, 1000)
				for k := range 1000 {
					clock := calendar.ClockTime(5*60 + k)
					at := date.At(time.Duration(clock)*time.Minute, loc)
					g := store.Generation{JobnetID: jv.JobnetID, JobnetVersion: jv.Version, Jobnet: "f/" + jv.Jobnet.Name, Folder: "f",
						BusinessDate: date, Rule: "daily", StartClock: clock, ScheduledAt: at, State: jobrun.GenEndedNormal, Explanation: "every day"}
					switch n := (i*1000 + k) % 100; {
					case n < 2:
						g.State = jobrun.GenEndedAbnormal
					case n < 3:
						g.State, g.Held = jobrun.GenHeld, true
					case n < 8:
						g.State = jobrun.GenRunning
					case at.After(now):
						g.State = jobrun.GenWaiting
					}
					if g.State != jobrun.GenWaiting {
						g.StartedAt = &at
					}
					if g.State.IsTerminal() {
						end := at.Add(90 * time.Second)
						g.EndedAt = &end
					}
					gs = append(gs, g)
				}
				if _, err := st.InsertGenerations(ctx, gs); err != nil {
					b.Fatal(err)
				}
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
				req, _ := http.NewRequest(http.MethodGet, hs.URL+"/?date=2026-04-01", nil)
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
			if !strings.Contains(body, `data-testid="count-total"><b>10000</b>`) || strings.Count(body, `data-testid="gen-row"`) != ops.TodayPageSize ||
				strings.Count(body, `data-testid="attention-row"`) != ops.AttentionLimit {
				b.Fatalf("unexpected page: total/rows/attention wrong")
			}
			b.ResetTimer()
			for b.Loop() {
				get()
			}
		})
	}
}
