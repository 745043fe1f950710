package web_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/deadline"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// batch drives generations of sales/nightly through the store the way the
// runner does.
type batch struct {
	t     *testing.T
	s     *store.Store
	v     store.JobnetVersion
	graph *jobrun.Graph
	loc   *time.Location
}

func (b *batch) at(d calendar.Date, hh, mm int) time.Time {
	return d.At(time.Duration(hh)*time.Hour+time.Duration(mm)*time.Minute, b.loc)
}

func (b *batch) generation(d calendar.Date) string {
	g := store.Generation{JobnetID: b.v.JobnetID, JobnetVersion: b.v.Version, Jobnet: "sales/nightly", Folder: "sales",
		BusinessDate: d, Rule: "nightly", StartClock: 22 * 60, ScheduledAt: b.at(d, 22, 0), Overlap: jobnet.OverlapWait}
	g.ID = store.GenerationID(g.JobnetID, d, g.Rule, g.StartClock)
	require.NoError(b.t, b.s.InsertGeneration(context.Background(), g))
	return g.ID
}

func (b *batch) step(id string, now time.Time) {
	us, err := b.s.UnitRuns(context.Background(), id)
	require.NoError(b.t, err)
	states := make([]jobrun.UnitRun, len(us))
	for i, u := range us {
		states[i] = u.Core()
	}
	step, err := b.graph.Evaluate(states, now)
	require.NoError(b.t, err)
	require.NoError(b.t, b.s.ApplyStep(context.Background(), store.StepApply{GenID: id, GenFrom: jobrun.GenRunning, Step: step, Now: now}))
}

func (b *batch) begin(id, path string, now time.Time) int64 {
	claimed, err := b.s.ClaimForDispatch(context.Background(), "node", "", 10, time.Hour, now)
	require.NoError(b.t, err)
	for _, u := range claimed {
		if u.GenerationID == id && u.Path == path {
			require.NoError(b.t, b.s.MarkRunning(context.Background(), u.ID, u.State, nil, now))
			return u.ID
		}
	}
	b.t.Fatalf("%s of %s was not queued", path, id)
	return 0
}

func (b *batch) end(id string, unit int64, now time.Time) {
	require.NoError(b.t, b.s.MarkEnded(context.Background(), store.UnitEnd{UnitID: unit, From: jobrun.StateRunning, State: jobrun.StateEndedNormal, EndedAt: now}))
	b.step(id, now)
}

// TestForecastPages: tonight's load is slow; Today lists the generation as
// at risk, the generation page names and highlights the critical path, the
// schedule draws the predicted end and the deadline, and the jobnet's run
// durations are charted.
func TestForecastPages(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.DialectSQLite, nil)
	svc := ops.New(ops.Params{Store: st})
	_, _, err := svc.EnsureAdmin(ctx, adminPassword)
	require.NoError(t, err)
	loc, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	due, err := jobnet.ParseDue("23:30")
	require.NoError(t, err)
	job := func(name string) jobnet.Unit {
		return jobnet.Unit{Name: name, Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobNoop}}
	}
	_, err = st.ApplyDefinitions(ctx, store.Definitions{
		Calendars: []calendar.Definition{{Name: "tokyo", TimeZone: "Asia/Tokyo"}},
		Folders:   []jobnet.Folder{{Name: "sales", Calendar: "tokyo"}},
		Jobnets: []*jobnet.Jobnet{{Name: "nightly", Folder: "sales", Deadline: &due,
			Net: jobnet.Net{Units: []jobnet.Unit{job("extract"), job("load"), job("report")},
				Edges: []jobnet.Edge{{From: "extract", To: "load"}, {From: "load", To: "report"}}},
			Rules: []jobnet.Rule{{Name: "nightly", Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{22 * 60}}}}},
	}, "test")
	require.NoError(t, err)
	v, err := st.JobnetByPath(ctx, "sales", "nightly", 0)
	require.NoError(t, err)
	graph, err := jobrun.Compile(v.Jobnet.Net)
	require.NoError(t, err)
	b := &batch{t: t, s: st, v: v, graph: graph, loc: loc}
	today := calendar.NewDate(2026, 4, 1)
	for i := 3; i >= 1; i-- {
		d := today - calendar.Date(i)
		id := b.generation(d)
		tm := b.at(d, 22, 0)
		require.NoError(t, st.StartGeneration(ctx, id, tm))
		b.step(id, tm)
		for _, p := range []string{"extract", "load", "report"} {
			u := b.begin(id, p, tm)
			tm = tm.Add(10 * time.Minute)
			b.end(id, u, tm)
		}
	}
	id := b.generation(today)
	require.NoError(t, st.StartGeneration(ctx, id, b.at(today, 22, 0)))
	b.step(id, b.at(today, 22, 0))
	u := b.begin(id, "extract", b.at(today, 22, 0))
	b.end(id, u, b.at(today, 22, 10))
	b.begin(id, "load", b.at(today, 22, 10))

	now := b.at(today, 23, 25) // load runs 75 minutes instead of 10: 23:25 + 10 > 23:30
	clk := func() time.Time { return now }
	fc, err := deadline.New(deadline.Params{Store: st, Now: clk})
	require.NoError(t, err)
	hs := httptest.NewServer(web.New(web.Params{Ops: svc, Sessions: st, DB: st, Forecast: fc}).Handler())
	t.Cleanup(hs.Close)
	c := (&testServer{Server: hs, Store: st, Ops: svc}).client(t).login("admin", adminPassword)

	resp, body := c.get("/?date=2026-04-01&calendar=tokyo")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	attention := body[strings.Index(body, `data-testid="today-attention"`):]
	attention = attention[:strings.Index(attention, "</section>")]
	require.Contains(t, attention, `data-run="`+id+`"`)
	require.Contains(t, attention, `data-risk="at_risk"`)
	require.Contains(t, attention, "~23:35:00")
	require.Contains(t, attention, "/ 23:30:00")

	resp, body = c.get("/runs/" + id)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `data-testid="critical-path">extract → load → report<`)
	crit := regexp.MustCompile(`data-unit="([a-z]+)" data-state="[a-z_]+"><g class="[^"]*" data-critical="true"`).FindAllStringSubmatch(body, -1)
	var names []string
	for _, m := range crit {
		names = append(names, m[1])
	}
	require.Equal(t, []string{"extract", "load", "report"}, names)
	require.Contains(t, body, "-5m0s")

	resp, body = c.get("/schedule?date=2026-04-01&calendar=tokyo")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `data-testid="gantt-pred"`)
	require.Contains(t, body, `data-testid="gantt-deadline"`)

	resp, body = c.get("/jobnets/sales/nightly/durations")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, 3, strings.Count(body, `data-testid="duration-chart"`))
	require.Equal(t, 10, strings.Count(body, "<rect "), "three nights of three units, and tonight's extract")
	require.Contains(t, body, "10m0s")
}
