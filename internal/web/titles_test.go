package web_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// TestTitlesOnScheduleAndRun: a jobnet's title names its group and focus
// rows on the day Gantt beside its path, and a unit's title names its node
// on the run page's graph (its path in the tooltip) and its row.
func TestTitlesOnScheduleAndRun(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 4, 1, 3, 0, 0, 0, time.UTC) // 12:00 in Tokyo
	ts := newTestServerWith(t, store.DialectSQLite, func(p *web.Params) { p.Now = func() time.Time { return now } })
	date := seedBusyDay(t, ts.Store, ts.Ops, now, 3, 30)
	tok := ts.adminToken(t)
	get := func(path string) string {
		code, body := ts.bearerGet(t, tok, path)
		require.Equal(t, http.StatusOK, code, "%.300s", body)
		return body
	}

	day := get("/schedule?view=day&calendar=company&date=" + date.String())
	require.Contains(t, day, `<b><span data-testid="jobnet-label">月次締め</span> <span class="muted small mono">f/j00</span></b>`)
	require.NotContains(t, day, `<span data-testid="jobnet-label">f/j01`, "no title, no label")

	gs, err := ts.Store.Generations(ctx, store.GenerationQuery{Jobnet: "f/j00", BusinessDate: &date, States: []jobrun.GenState{jobrun.GenWaiting}})
	require.NoError(t, err)
	require.NotEmpty(t, gs)
	require.NoError(t, ts.Store.StartGeneration(ctx, gs[0].ID, gs[0].ScheduledAt))
	run := get("/runs/" + gs[0].ID)
	require.Contains(t, run, `<title>a — 売上集計</title>`)
	require.Contains(t, run, `class="label">売上集計</text>`)
	require.Contains(t, run, `<span class="unit-title" data-testid="unit-title">売上集計</span>`)
	require.Contains(t, run, `data-testid="jobnet-label">月次締め</span>`)
}
