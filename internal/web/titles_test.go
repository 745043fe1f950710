package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// TestTitlesOnScheduleAndRun: a jobnet's title names its group and focus
// rows on the day Gantt beside its path, and a unit's title names its node
// on the run page's graph (its path in the tooltip) and its row.
func TestTitlesOnScheduleAndRun(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC) // 12:00 in Tokyo
	st := storetest.Open(t, store.DialectSQLite, func() time.Time { return now })
	svc := ops.New(ops.Params{Store: st, Now: func() time.Time { return now }})
	date := seedBusyDay(t, st, svc, now, 3, 30)
	_, _, err := svc.EnsureAdmin(ctx, "correct-horse-9")
	require.NoError(t, err)
	admin, err := st.UserByName(ctx, "admin")
	require.NoError(t, err)
	tok, _, err := svc.CreateToken(ctx, ops.Actor{UserID: admin.ID, Username: "admin", Role: store.RoleAdmin}, "test")
	require.NoError(t, err)
	hs := httptest.NewServer(web.New(web.Params{Ops: svc, Sessions: st, DB: st, Now: func() time.Time { return now }}).Handler())
	t.Cleanup(hs.Close)
	get := func(path string) string {
		req, _ := http.NewRequest(http.MethodGet, hs.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		require.Equal(t, http.StatusOK, resp.StatusCode, "%.300s", body)
		return string(body)
	}

	day := get("/schedule?view=day&calendar=company&date=" + date.String())
	require.Contains(t, day, `<b><span data-testid="jobnet-label">月次締め</span> <span class="muted small mono">f/j00</span></b>`)
	require.NotContains(t, day, `<span data-testid="jobnet-label">f/j01`, "no title, no label")

	gs, err := st.Generations(ctx, store.GenerationQuery{Jobnet: "f/j00", BusinessDate: &date, States: []jobrun.GenState{jobrun.GenWaiting}})
	require.NoError(t, err)
	require.NotEmpty(t, gs)
	require.NoError(t, st.StartGeneration(ctx, gs[0].ID, gs[0].ScheduledAt))
	run := get("/runs/" + gs[0].ID)
	require.Contains(t, run, `<title>a — 売上集計</title>`)
	require.Contains(t, run, `class="label">売上集計</text>`)
	require.Contains(t, run, `<span class="unit-title" data-testid="unit-title">売上集計</span>`)
	require.Contains(t, run, `data-testid="jobnet-label">月次締め</span>`)
}
