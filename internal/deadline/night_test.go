package deadline_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/deadline"
	"github.com/koyomi-dev/koyomi/internal/forecast"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/slackd"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// clock is a fake clock the test moves.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

var tokyo = func() *time.Location {
	l, err := time.LoadLocation("Asia/Tokyo")
	if err != nil {
		panic(err)
	}
	return l
}()

func at(d calendar.Date, hh, mm int) time.Time {
	return d.At(time.Duration(hh)*time.Hour+time.Duration(mm)*time.Minute, tokyo)
}

// night drives generations of sales/nightly through the store the way the
// runner does: evaluate, queue, claim, start, end.
type night struct {
	t     *testing.T
	s     *store.Store
	v     store.JobnetVersion
	graph *jobrun.Graph
}

func setup(t *testing.T, s *store.Store) *night {
	ctx := context.Background()
	due, err := jobnet.ParseDue("23:30")
	require.NoError(t, err)
	job := func(name string) jobnet.Unit {
		return jobnet.Unit{Name: name, Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobNoop}}
	}
	defs := store.Definitions{
		Calendars: []calendar.Definition{{Name: "jp-all-open", TimeZone: "Asia/Tokyo"}},
		Folders:   []jobnet.Folder{{Name: "sales", Calendar: "jp-all-open"}},
		Jobnets: []*jobnet.Jobnet{{Name: "nightly", Folder: "sales", Deadline: &due,
			Net: jobnet.Net{Units: []jobnet.Unit{job("extract"), job("load"), job("report")},
				Edges: []jobnet.Edge{{From: "extract", To: "load"}, {From: "load", To: "report"}}},
			Rules: []jobnet.Rule{{Name: "nightly", Kind: jobnet.RuleDaily, Start: []calendar.ClockTime{22 * 60}}}}},
	}
	_, err = s.ApplyDefinitions(ctx, defs, "test")
	require.NoError(t, err)
	v, err := s.JobnetByPath(ctx, "sales", "nightly", 0)
	require.NoError(t, err)
	graph, err := jobrun.Compile(v.Jobnet.Net)
	require.NoError(t, err)
	return &night{t: t, s: s, v: v, graph: graph}
}

func (n *night) generation(d calendar.Date) string {
	g := store.Generation{JobnetID: n.v.JobnetID, JobnetVersion: n.v.Version, Jobnet: "sales/nightly", Folder: "sales",
		BusinessDate: d, Rule: "nightly", StartClock: 22 * 60, ScheduledAt: at(d, 22, 0), Overlap: jobnet.OverlapWait}
	g.ID = store.GenerationID(g.JobnetID, d, g.Rule, g.StartClock)
	require.NoError(n.t, n.s.InsertGeneration(context.Background(), g))
	return g.ID
}

// step evaluates the generation and applies it (units become queued, or
// the generation ends).
func (n *night) step(id string, now time.Time) {
	ctx := context.Background()
	us, err := n.s.UnitRuns(ctx, id)
	require.NoError(n.t, err)
	states := make([]jobrun.UnitRun, len(us))
	for i, u := range us {
		states[i] = u.Core()
	}
	step, err := n.graph.Evaluate(states, now)
	require.NoError(n.t, err)
	require.NoError(n.t, n.s.ApplyStep(ctx, store.StepApply{GenID: id, GenFrom: jobrun.GenRunning, Step: step, Now: now}))
}

func (n *night) start(id string, now time.Time) {
	require.NoError(n.t, n.s.StartGeneration(context.Background(), id, now))
	n.step(id, now)
}

// begin dispatches the queued unit and records it running from now.
func (n *night) begin(id, path string, now time.Time) int64 {
	ctx := context.Background()
	claimed, err := n.s.ClaimForDispatch(ctx, "node", "", 10, time.Hour, now)
	require.NoError(n.t, err)
	for _, u := range claimed {
		if u.GenerationID == id && u.Path == path {
			require.NoError(n.t, n.s.MarkRunning(ctx, u.ID, u.State, nil, now))
			return u.ID
		}
	}
	n.t.Fatalf("%s of %s was not queued", path, id)
	return 0
}

func (n *night) end(id string, unitID int64, now time.Time) {
	require.NoError(n.t, n.s.MarkEnded(context.Background(), store.UnitEnd{UnitID: unitID, From: jobrun.StateRunning,
		State: jobrun.StateEndedNormal, EndedAt: now}))
	n.step(id, now)
}

// history runs a whole night: each unit for its minutes, one after another.
func (n *night) history(d calendar.Date, minutes ...int) {
	id := n.generation(d)
	t := at(d, 22, 0)
	n.start(id, t)
	for i, path := range []string{"extract", "load", "report"} {
		u := n.begin(id, path, t)
		t = t.Add(time.Duration(minutes[i]) * time.Minute)
		n.end(id, u, t)
	}
	g, err := n.s.Generation(context.Background(), id)
	require.NoError(n.t, err)
	require.Equal(n.t, jobrun.GenEndedNormal, g.State)
}

func deadlineEvents(t *testing.T, s *store.Store) []alert.Event {
	evs, err := s.PendingEvents(context.Background(), 100)
	require.NoError(t, err)
	var out []alert.Event
	for _, e := range evs {
		if e.Event.Kind == alert.EventDeadlineAtRisk || e.Event.Kind == alert.EventDeadlineMissed {
			out = append(out, e.Event)
		}
	}
	return out
}

// TestScriptedNight: ten ordinary nights take 10+20+30 minutes from 22:00;
// tonight the load job is slow. The forecast raises deadline_at_risk while
// the deadline (23:30) is still ahead, once, even across a restart, and
// deadline_missed when it passes.
func TestScriptedNight(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		n := setup(t, s)
		today := calendar.NewDate(2026, 4, 1)
		for i := 10; i >= 1; i-- {
			n.history(today-calendar.Date(i), 10, 20, 30)
		}
		id := n.generation(today)
		clk := &clock{t: at(today, 21, 0)}
		newService := func() *deadline.Service {
			svc, err := deadline.New(deadline.Params{Store: s, Now: clk.Now, BaseURL: "http://koyomi.test"})
			require.NoError(t, err)
			return svc
		}
		svc := newService()

		// 21:00: the generation is planned; the forecast is the history's.
		r, err := svc.Day(ctx, today)
		require.NoError(t, err)
		g, ok := r.Find(id)
		require.True(t, ok)
		require.Equal(t, at(today, 23, 0).UTC(), g.End.UTC())
		require.Equal(t, at(today, 23, 30).UTC(), g.Deadline.UTC())
		require.Equal(t, "23:30", g.DeadlineText)
		require.Equal(t, forecast.RiskOK, g.Risk)
		require.Equal(t, []string{"extract", "load", "report"}, g.CriticalPath)
		require.EqualValues(t, 20*60, g.Units[1].ExpectedSeconds)
		require.Equal(t, 10, g.Units[1].Samples)
		require.NoError(t, svc.Check(ctx))
		require.Empty(t, deadlineEvents(t, s))

		// 22:00 extract runs as usual; load starts at 22:10.
		n.start(id, at(today, 22, 0))
		u := n.begin(id, "extract", at(today, 22, 0))
		n.end(id, u, at(today, 22, 10))
		load := n.begin(id, "load", at(today, 22, 10))

		// 22:50: load is 20 minutes over; 22:50 + 30 = 23:20, still in time.
		clk.t = at(today, 22, 50)
		require.NoError(t, svc.Check(ctx))
		require.Empty(t, deadlineEvents(t, s))

		// 23:05: 23:05 + 30 = 23:35 passes 23:30: at risk, 25 minutes early.
		clk.t = at(today, 23, 5)
		require.NoError(t, svc.Check(ctx))
		evs := deadlineEvents(t, s)
		require.Len(t, evs, 1)
		require.Equal(t, alert.EventDeadlineAtRisk, evs[0].Kind)
		require.Equal(t, id, evs[0].RunID)
		require.Equal(t, "sales", evs[0].Folder)
		require.Equal(t, "nightly", evs[0].Jobnet)
		require.True(t, evs[0].At.Before(at(today, 23, 30)), "the warning comes before the deadline")
		require.Equal(t, "predicted end 2026-04-01 23:35 JST, deadline 2026-04-01 23:30 JST (5m0s late); critical path: extract → load → report", evs[0].Detail)
		require.Equal(t, "http://koyomi.test/runs/"+id, evs[0].URL)

		// Pages reuse a forecast for ReportTTL, then read the store again.
		clk.t = at(today, 23, 5).Add(5 * time.Second)
		r, err = svc.Day(ctx, today)
		require.NoError(t, err)
		require.True(t, r.Now.Equal(at(today, 23, 5)), "reused: %s", r.Now)
		clk.t = at(today, 23, 5).Add(deadline.ReportTTLDefault)
		r, err = svc.Day(ctx, today)
		require.NoError(t, err)
		require.True(t, r.Now.Equal(clk.t), "read again: %s", r.Now)

		// Checked again, and after a restart: not raised again.
		clk.t = at(today, 23, 6)
		require.NoError(t, svc.Check(ctx))
		require.NoError(t, newService().Check(ctx))
		require.Len(t, deadlineEvents(t, s), 1)

		// 23:10 load ends, report runs; 23:31 the deadline has passed.
		n.end(id, load, at(today, 23, 10))
		n.begin(id, "report", at(today, 23, 10))
		clk.t = at(today, 23, 31)
		require.NoError(t, svc.Check(ctx))
		evs = deadlineEvents(t, s)
		require.Len(t, evs, 2)
		require.Equal(t, alert.EventDeadlineMissed, evs[1].Kind)
		require.Equal(t, alert.SeverityCritical, evs[1].Severity)
		require.True(t, strings.HasPrefix(evs[1].Detail, "deadline 2026-04-01 23:30 JST passed; predicted end 2026-04-01 23:40 JST"), evs[1].Detail)

		marks, err := s.DeadlineAlerts(ctx, []string{id})
		require.NoError(t, err)
		require.Len(t, marks, 2)
		require.NoError(t, newService().Check(ctx))
		require.Len(t, deadlineEvents(t, s), 2)

		// Both go through the alert rules and channels like any event.
		slack := slackd.Start(t, slackd.Options{})
		svc2 := ops.New(ops.Params{Store: s})
		admin := ops.Actor{Username: "test", Role: store.RoleAdmin}
		ch, err := svc2.CreateAlertChannel(ctx, admin, ops.ChannelInput{Name: "ops-slack", Kind: alert.ChannelSlack, Enabled: true,
			Config: []byte(`{}`), Secrets: alert.Secrets{WebhookURL: slack.WebhookURL()}})
		require.NoError(t, err)
		_, err = svc2.CreateAlertRule(ctx, admin, alert.Rule{Name: "nightly deadline", Enabled: true,
			Kinds: []alert.EventKind{alert.EventDeadlineAtRisk, alert.EventDeadlineMissed}, Scope: "sales/nightly", Channels: []int64{ch.ID}})
		require.NoError(t, err)
		d, err := alert.NewDeliverer(alert.DelivererParams{Store: s, Open: ops.AlertOpener, Now: clk.Now})
		require.NoError(t, err)
		require.NoError(t, d.Tick(ctx))
		posts := slack.Posts()
		require.Len(t, posts, 2, "one message per kind")
		var texts []string
		for _, p := range posts {
			texts = append(texts, p.Text, string(p.Blocks))
		}
		all := strings.Join(texts, "\n")
		require.Contains(t, all, "sales/nightly is predicted to miss its deadline")
		require.Contains(t, all, "sales/nightly missed its deadline")
		require.Contains(t, all, "critical path: extract → load → report")
	})
}
