package runner_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/dispatch/noop"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/runner"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
)

// hungRunTask is a proxy in front of the ECS endpoint that holds every
// RunTask for up to 60 s (or until released or the caller gives up), as a
// hung ECS endpoint does; other calls pass.
type hungRunTask struct {
	release chan struct{}
	held    atomic.Int32
	seen    chan struct{}
	once    sync.Once
	proxy   http.Handler
}

func (h *hungRunTask) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if strings.HasSuffix(req.Header.Get("X-Amz-Target"), ".RunTask") {
		h.held.Add(1)
		h.once.Do(func() { close(h.seen) })
		select {
		case <-h.release:
		case <-time.After(60 * time.Second):
		case <-req.Context().Done():
			h.held.Add(-1)
			return
		}
		h.held.Add(-1)
	}
	h.proxy.ServeHTTP(w, req)
}

// ecsWorld is the real ECS executor against ecsfake with two connections
// to it: "stuck", whose RunTask calls hang, and "fine".
type ecsWorld struct {
	fake *ecsfake.Fake
	ex   *ecs.Executor
	hung *hungRunTask
}

func newECSWorld(t testing.TB) *ecsWorld {
	t.Helper()
	f := ecsfake.New(ecsfake.Config{Tick: 20 * time.Millisecond, ScriptFor: func(ecsfake.Launch) ecsfake.Script { return ecsfake.Script{RunSteps: 1} }})
	t.Cleanup(f.Close)
	f.AddCluster("batch")
	f.RegisterTaskDefinition(ecsfake.TaskDefinition{Family: "app", RequiresCompatibilities: []string{"FARGATE"}, CPU: "256", Memory: "512",
		Containers: []ecsfake.ContainerDefinition{{Name: "app", Image: "example/app:1"}}})
	u, err := url.Parse(f.URL)
	require.NoError(t, err)
	hung := &hungRunTask{release: make(chan struct{}), seen: make(chan struct{}), proxy: quietProxy(u)}
	proxy := httptest.NewServer(hung)
	t.Cleanup(proxy.Close)
	t.Cleanup(hung.free)
	stuck := proxy.URL
	ex, err := ecs.New(ecs.Config{
		Connections: []ecs.Connection{{Name: "stuck", Region: f.Region(), EndpointURL: stuck}, {Name: "fine", Region: f.Region(), EndpointURL: f.URL}},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDKOYOMITEST", "not-a-secret", ""),
		MaxAttempts: 1,
	})
	require.NoError(t, err)
	return &ecsWorld{fake: f, ex: ex, hung: hung}
}

func (h *hungRunTask) free() {
	select {
	case <-h.release:
	default:
		close(h.release)
	}
}

func ecsUnit(name, conn string) jobnet.Unit {
	return jobnet.Unit{Name: name, Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobECS, ECS: &jobnet.ECSSpec{
		Connection: conn, Cluster: "batch", TaskDefinition: "app", LaunchType: "FARGATE",
		Subnets: []string{"subnet-0a1b2c"}, SecurityGroups: []string{"sg-0d4e5f"}}}}
}

// running runs r until the test ends.
func running(t testing.TB, r *runner.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			require.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return stop
}

func unitsOf(t testing.TB, st *store.Store, id string) map[string]store.UnitRun {
	t.Helper()
	us, err := st.UnitRuns(context.Background(), id)
	require.NoError(t, err)
	m := map[string]store.UnitRun{}
	for _, u := range us {
		m[u.Path] = u
	}
	return m
}

func genState(t testing.TB, st *store.Store, id string) jobrun.GenState {
	t.Helper()
	g, err := st.Generation(context.Background(), id)
	require.NoError(t, err)
	return g.State
}

// TestHungStartDelaysOnlyItsConnection: while ECS RunTask hangs on one
// connection, a local jobnet started meanwhile runs to its end, and so does
// an ECS job on another connection; once RunTask answers, the held job runs
// once.
func TestHungStartDelaysOnlyItsConnection(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		w := newECSWorld(t)
		e := newEnv(t, st, 50*time.Millisecond)
		r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobLocal: e.local, jobnet.JobNoop: noop.New(nil), jobnet.JobECS: w.ex},
			Node: "test-node", PollInterval: 50 * time.Millisecond, KillGrace: time.Second, Logger: testLogger()})
		require.NoError(t, err)
		cloud := submit(t, st, &jobnet.Jobnet{Name: "cloud", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{ecsUnit("held", "stuck"), ecsUnit("other", "fine")}}}, nil)
		running(t, r)
		select {
		case <-w.hung.seen:
		case <-time.After(30 * time.Second):
			t.Fatalf("RunTask was not called on the stuck connection: %v", reasons(unitsOf(t, st, cloud.ID)))
		}
		local := submit(t, st, &jobnet.Jobnet{Name: "nightly", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{sh("a", "true"), sh("b", "true"), nop("c")},
			Edges: []jobnet.Edge{edge("a", "b", ""), edge("b", "c", "")}}}, nil)
		require.Eventually(t, func() bool { return genState(t, st, local.ID).IsTerminal() }, 30*time.Second, 10*time.Millisecond,
			"the local jobnet waits for the hung RunTask: %v", states(unitsOf(t, st, local.ID)))
		require.Equal(t, jobrun.GenEndedNormal, genState(t, st, local.ID))
		require.Eventually(t, func() bool { return unitsOf(t, st, cloud.ID)["other"].State == jobrun.StateEndedNormal }, 30*time.Second, 10*time.Millisecond,
			"the job on the other connection runs")
		require.EqualValues(t, 1, w.hung.held.Load(), "RunTask on the stuck connection is still held")
		require.Equal(t, jobrun.StateStarting, unitsOf(t, st, cloud.ID)["held"].State)

		w.hung.free()
		require.Eventually(t, func() bool { return genState(t, st, cloud.ID).IsTerminal() }, 30*time.Second, 10*time.Millisecond)
		require.Equal(t, jobrun.GenEndedNormal, genState(t, st, cloud.ID), "units: %v", reasons(unitsOf(t, st, cloud.ID)))
		require.Len(t, w.fake.Tasks(), 2, "one task per job")
	})
}

// TestNotifiedEndStartsSuccessorAtOnce: with an hour between polls, a chain
// of jobs still runs hop by hop as soon as the executor tells that a job
// ended, also with two replicas on one database.
func TestNotifiedEndStartsSuccessorAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		gate := newGate(jobnet.JobNoop)
		reg := dispatch.Registry{jobnet.JobNoop: gate}
		var rs []*runner.Runner
		for _, node := range []string{"node-a", "node-b"} {
			r, err := runner.New(runner.Params{Store: st, Executors: reg, Node: node, PollInterval: time.Hour, Logger: testLogger()})
			require.NoError(t, err)
			rs = append(rs, r)
		}
		g := submit(t, st, &jobnet.Jobnet{Name: "hops", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a"), nop("b"), nop("c"), nop("d")},
			Edges: []jobnet.Edge{edge("a", "b", ""), edge("b", "c", ""), edge("c", "d", "")}}}, nil)
		for _, r := range rs {
			running(t, r)
		}
		for _, name := range []string{"a", "b", "c", "d"} {
			require.Eventually(t, func() bool { return gate.running(name) }, 10*time.Second, 5*time.Millisecond, "%s starts", name)
			require.Eventually(t, func() bool { return unitsOf(t, st, g.ID)[name].State == jobrun.StateRunning }, 10*time.Second, 5*time.Millisecond)
			_, ok := gate.finish(name, 0)
			require.True(t, ok)
		}
		require.Eventually(t, func() bool { return genState(t, st, g.ID).IsTerminal() }, 10*time.Second, 5*time.Millisecond)
		require.Equal(t, jobrun.GenEndedNormal, genState(t, st, g.ID))
		require.Equal(t, 4, gate.executions())
	})
}

// TestEndBeforeStartRecorded: jobs that end at once, notified before their
// start is even recorded, with and without their status in the
// notification, still make a chain run hop by hop with an hour between
// polls: the notification waits for the unit to be read with its handle.
func TestEndBeforeStartRecorded(t *testing.T) {
	for _, tell := range []bool{false, true} {
		t.Run(fmt.Sprintf("tell=%v", tell), func(t *testing.T) {
			storetest.Each(t, func(t *testing.T, st *store.Store) {
				gate := newGate(jobnet.JobNoop)
				gate.endAtOnce, gate.tell = true, tell
				r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobNoop: gate}, Node: "n", PollInterval: time.Hour, Logger: testLogger()})
				require.NoError(t, err)
				g := submit(t, st, &jobnet.Jobnet{Name: "quick", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a"), nop("b"), nop("c"), nop("d")},
					Edges: []jobnet.Edge{edge("a", "b", ""), edge("b", "c", ""), edge("c", "d", "")}}}, nil)
				running(t, r)
				require.Eventually(t, func() bool { return genState(t, st, g.ID).IsTerminal() }, 20*time.Second, 5*time.Millisecond)
				require.Equal(t, jobrun.GenEndedNormal, genState(t, st, g.ID))
				require.Equal(t, 4, gate.executions())
			})
		})
	}
}

// TestEndedAtIsTheExecutorsRecord: a runner that learns of an end late
// (here its clock is an hour ahead, as after downtime) records the end the
// executor recorded, not the time it noticed.
func TestEndedAtIsTheExecutorsRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		gate := newGate(jobnet.JobNoop)
		var late atomic.Int64
		now := func() time.Time { return time.Now().Add(time.Duration(late.Load())) }
		r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobNoop: gate}, Node: "n", PollInterval: 20 * time.Millisecond,
			Logger: testLogger(), Now: now})
		require.NoError(t, err)
		g := submit(t, st, &jobnet.Jobnet{Name: "late", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a")}}}, nil)
		running(t, r)
		require.Eventually(t, func() bool { return unitsOf(t, st, g.ID)["a"].State == jobrun.StateRunning }, 10*time.Second, 5*time.Millisecond)
		gate.mu.Lock()
		gate.quiet = true
		gate.mu.Unlock()
		late.Store(int64(time.Hour))
		at, ok := gate.finish("a", 0)
		require.True(t, ok)
		require.Eventually(t, func() bool { return genState(t, st, g.ID).IsTerminal() }, 10*time.Second, 5*time.Millisecond)
		u := unitsOf(t, st, g.ID)["a"]
		require.Equal(t, jobrun.StateEndedNormal, u.State)
		require.True(t, u.EndedAt.Equal(at), "ended_at %s is the executor's end %s", u.EndedAt, at)
	})
}

// TestRestartAdoptsAtOnce: a runner restarted after a crash watches the
// units its predecessor left running without waiting for their claims to
// expire when it is the only process on the database (an exclusively locked
// SQLite file) or has the same node name; a runner with another name on a
// shared database waits for the claims.
func TestRestartAdoptsAtOnce(t *testing.T) {
	type restart struct {
		name      string
		exclusive bool
		node      string
		adopts    bool
	}
	cases := []restart{
		{name: "same node", node: "node-1", adopts: true},
		{name: "other node, shared database", node: "node-2", adopts: false},
		{name: "other node, exclusive sqlite", exclusive: true, node: "node-2", adopts: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dialects := storetest.Dialects
			if tc.exclusive {
				dialects = []string{store.DialectSQLite}
			}
			for _, d := range dialects {
				t.Run(d, func(t *testing.T) {
					ctx := context.Background()
					var st *store.Store
					if tc.exclusive {
						var err error
						st, err = store.Open(ctx, store.Config{URL: storetest.URL(t, d), ExclusiveSQLite: true})
						require.NoError(t, err)
						t.Cleanup(func() { _ = st.Close() })
						_, err = st.MigrateUp(ctx)
						require.NoError(t, err)
						require.True(t, st.Exclusive())
					} else {
						st = storetest.Open(t, d, nil)
					}
					gate := newGate(jobnet.JobNoop)
					reg := dispatch.Registry{jobnet.JobNoop: gate}
					g := submit(t, st, &jobnet.Jobnet{Name: "long", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a")}}}, nil)
					first, err := runner.New(runner.Params{Store: st, Executors: reg, Node: "node-1", PollInterval: 20 * time.Millisecond, Logger: testLogger()})
					require.NoError(t, err)
					stop := running(t, first)
					require.Eventually(t, func() bool { return unitsOf(t, st, g.ID)["a"].State == jobrun.StateRunning }, 10*time.Second, 5*time.Millisecond)
					stop() // the crash: its claims stay until they expire (30 s)

					second, err := runner.New(runner.Params{Store: st, Executors: reg, Node: tc.node, PollInterval: time.Hour, Logger: testLogger()})
					require.NoError(t, err)
					_, err = second.Pass(ctx)
					require.NoError(t, err)
					u := unitsOf(t, st, g.ID)["a"]
					if !tc.adopts {
						require.Equal(t, "node-1", u.ClaimedBy, "a live claim of another node is not taken")
						return
					}
					require.Equal(t, tc.node, u.ClaimedBy)
					_, ok := gate.finish("a", 0)
					require.True(t, ok)
					running(t, second)
					require.Eventually(t, func() bool { return genState(t, st, g.ID).IsTerminal() }, 10*time.Second, 5*time.Millisecond,
						"the end is seen at once (notification), not after the poll interval")
					require.Equal(t, jobrun.GenEndedNormal, genState(t, st, g.ID))
					require.Equal(t, 1, gate.executions())
				})
			}
		})
	}
}

// TestOtherHostNeverAdoptsLocalUnits: a replica on another host (another
// data directory) neither records a dead replica's local job as lost nor
// starts its starting local unit a second time; a replica on the same host
// adopts both, and another host adopts units of other job types.
func TestOtherHostNeverAdoptsLocalUnits(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		loc := newGate(jobnet.JobLocal)
		cloud := newGate(jobnet.JobNoop)
		reg := dispatch.Registry{jobnet.JobLocal: loc, jobnet.JobNoop: cloud}
		localUnit := func(name string) jobnet.Unit {
			return jobnet.Unit{Name: name, Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: "true"}}}
		}
		g := submit(t, st, &jobnet.Jobnet{Name: "hosts", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{localUnit("run"), nop("remote"), localUnit("held")},
			Edges: []jobnet.Edge{edge("run", "held", "")}}}, nil)
		away := submit(t, st, &jobnet.Jobnet{Name: "away", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{localUnit("orphan")}}}, nil)
		a, err := runner.New(runner.Params{Store: st, Executors: reg, Node: "a", HostID: "host-1", PollInterval: 20 * time.Millisecond,
			ClaimLease: time.Minute, Logger: testLogger()})
		require.NoError(t, err)
		stopA := running(t, a)
		require.Eventually(t, func() bool {
			us := unitsOf(t, st, g.ID)
			return us["run"].State == jobrun.StateRunning && us["remote"].State == jobrun.StateRunning && unitsOf(t, st, away.ID)["orphan"].State == jobrun.StateRunning
		}, 10*time.Second, 5*time.Millisecond)
		release := loc.holdStarts()
		defer release()
		_, ok := loc.finish("run", 0)
		require.True(t, ok)
		select {
		case <-loc.holding:
		case <-time.After(10 * time.Second):
			t.Fatal("the successor was not started")
		}
		stopA() // dies with "held" in starting (its Start never answered) and "run"'s end recorded
		release()
		require.Equal(t, jobrun.StateStarting, unitsOf(t, st, g.ID)["held"].State)

		require.NoError(t, st.KillUnit(ctx, away.ID, "orphan", store.AuditEntry{Actor: "op", Action: "kill"}))
		// Node a's claims expired an hour ago as far as the others know.
		later := func() time.Time { return time.Now().Add(time.Hour) }
		b, err := runner.New(runner.Params{Store: st, Executors: reg, Node: "b", HostID: "host-2", PollInterval: time.Hour, Logger: testLogger(), Now: later})
		require.NoError(t, err)
		for range 3 {
			_, err = b.Pass(ctx)
			require.NoError(t, err)
			time.Sleep(20 * time.Millisecond)
		}
		us := unitsOf(t, st, g.ID)
		require.Equal(t, "a", us["held"].ClaimedBy, "another host leaves the starting local unit alone")
		require.Equal(t, jobrun.StateStarting, us["held"].State)
		require.Equal(t, 1, loc.startCalls("held"), "and never starts it")
		require.Equal(t, "b", us["remote"].ClaimedBy, "another host adopts units of other job types")
		orphan := unitsOf(t, st, away.ID)["orphan"]
		require.Equal(t, jobrun.StateKilled, orphan.State, "an operator's kill of a local job on a host that is away is recorded")
		require.Contains(t, orphan.Reason, "was not stopped")
		require.True(t, loc.running("orphan"), "without touching the job, which is on the other host")

		c, err := runner.New(runner.Params{Store: st, Executors: reg, Node: "c", HostID: "host-1", PollInterval: 20 * time.Millisecond, Logger: testLogger(), Now: later})
		require.NoError(t, err)
		running(t, c)
		require.Eventually(t, func() bool { return unitsOf(t, st, g.ID)["held"].State == jobrun.StateRunning }, 10*time.Second, 5*time.Millisecond,
			"the same host adopts it and re-attaches with the recorded key")
		require.Equal(t, "c", unitsOf(t, st, g.ID)["held"].ClaimedBy)
		_, ok = loc.finish("held", 0)
		require.True(t, ok)
		stopB := running(t, b)
		_, ok = cloud.finish("remote", 0)
		require.True(t, ok)
		require.Eventually(t, func() bool { return genState(t, st, g.ID).IsTerminal() }, 10*time.Second, 5*time.Millisecond)
		stopB()
		require.Equal(t, jobrun.GenEndedNormal, genState(t, st, g.ID), "units: %v", reasons(unitsOf(t, st, g.ID)))
		require.Equal(t, 3, loc.executions(), "each local job ran once")
	})
}

// quietProxy forwards to u without logging the calls its clients give up.
func quietProxy(u *url.URL) http.Handler {
	p := httputil.NewSingleHostReverseProxy(u)
	p.ErrorLog = log.New(io.Discard, "", 0)
	return p
}

// TestOtherProcessWakesRunner: on PostgreSQL a generation inserted by
// another process (`koyomi run now`, another replica) wakes an idle runner
// at once, not after its poll interval.
func TestOtherProcessWakesRunner(t *testing.T) {
	ctx := context.Background()
	url := storetest.URL(t, store.DialectPostgres)
	open := func() *store.Store {
		st, err := store.Open(ctx, store.Config{URL: url})
		require.NoError(t, err)
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	st, other := open(), open()
	_, err := st.MigrateUp(ctx)
	require.NoError(t, err)
	r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobNoop: noop.New(nil)}, Node: "idle", PollInterval: time.Hour, Logger: testLogger()})
	require.NoError(t, err)
	first := submit(t, st, &jobnet.Jobnet{Name: "first", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a")}}}, nil)
	running(t, r)
	require.Eventually(t, func() bool { return genState(t, st, first.ID).IsTerminal() }, 10*time.Second, 5*time.Millisecond)

	g := first
	g.Rule, g.ScheduledAt = "later", time.Now()
	g.ID = store.GenerationID(g.JobnetID, g.BusinessDate, g.Rule, g.StartClock)
	require.NoError(t, other.InsertGeneration(ctx, g))
	require.Eventually(t, func() bool { return genState(t, st, g.ID).IsTerminal() }, 10*time.Second, 5*time.Millisecond,
		"the runner woke for the other process's generation")
	require.Equal(t, jobrun.GenEndedNormal, genState(t, st, g.ID))
}

// TestKillActedOnAtOnce: with an hour between polls, an operator's kill
// (audited, so notified: NOTIFY on PostgreSQL, in-process on SQLite) stops a
// running job at once.
func TestKillActedOnAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		gate := newGate(jobnet.JobNoop)
		r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobNoop: gate}, Node: "n", PollInterval: time.Hour, Logger: testLogger()})
		require.NoError(t, err)
		g := submit(t, st, &jobnet.Jobnet{Name: "killed", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a")}}}, nil)
		running(t, r)
		require.Eventually(t, func() bool { return unitsOf(t, st, g.ID)["a"].State == jobrun.StateRunning }, 10*time.Second, 5*time.Millisecond)
		require.NoError(t, st.KillUnit(context.Background(), g.ID, "a", store.AuditEntry{Actor: "op", Action: "kill", Target: g.ID}))
		require.Eventually(t, func() bool { return unitsOf(t, st, g.ID)["a"].State == jobrun.StateKilled }, 10*time.Second, 5*time.Millisecond)
	})
}

// TestEndThatNoLongerApplies: a job's end is written with the evaluation
// that counts it; when the unit changed meanwhile (here another writer
// ended it abnormally, as a replica that adopted it would), the end is not
// written, nothing the evaluation derived from it is applied (its
// successor is not started), the unit keeps what the other wrote and the
// generation goes on from that.
func TestEndThatNoLongerApplies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		gate := newGate(jobnet.JobNoop)
		var polled atomic.Int32
		r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobNoop: gate}, Node: "n", PollInterval: time.Hour, Logger: testLogger()})
		require.NoError(t, err)
		g := submit(t, st, &jobnet.Jobnet{Name: "pair", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a"), nop("b")},
			Edges: []jobnet.Edge{edge("a", "b", "")}}}, nil)
		require.Eventually(t, func() bool {
			_, err := r.Pass(ctx)
			require.NoError(t, err)
			return unitsOf(t, st, g.ID)["a"].State == jobrun.StateRunning
		}, 10*time.Second, 5*time.Millisecond)

		// a ends; the notification (without its status) makes the next
		// pass ask for it, and the answer comes back after that pass.
		gate.onStatus = func(string) { polled.Add(1) }
		_, ok := gate.finish("a", 0)
		require.True(t, ok)
		_, err = r.Pass(ctx)
		require.NoError(t, err)
		require.Eventually(t, func() bool { return polled.Load() > 0 }, 10*time.Second, time.Millisecond)
		time.Sleep(50 * time.Millisecond) // the answer is delivered
		// Meanwhile another writer ends a abnormally.
		a := unitsOf(t, st, g.ID)["a"]
		code := 9
		require.NoError(t, st.MarkEnded(ctx, store.UnitEnd{UnitID: a.ID, From: jobrun.StateRunning, State: jobrun.StateEndedAbnormal,
			ExitCode: &code, Reason: "ended by another runner", EndedAt: time.Now()}))
		for range 20 {
			_, err := r.Pass(ctx)
			require.NoError(t, err)
			time.Sleep(5 * time.Millisecond)
		}
		us := unitsOf(t, st, g.ID)
		require.Equal(t, jobrun.StateEndedAbnormal, us["a"].State)
		require.Equal(t, "ended by another runner", us["a"].Reason)
		require.Equal(t, jobrun.StateBypassed, us["b"].State, "its successor never ran: a ended abnormally")
		require.Equal(t, 1, gate.executions())
		require.Equal(t, jobrun.GenEndedAbnormal, genState(t, st, g.ID))
	})
}
