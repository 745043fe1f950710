package runner_test

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/runner"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

func eachDialect(b *testing.B, fn func(b *testing.B, dialect string)) {
	for _, d := range storetest.Dialects {
		b.Run(d, func(b *testing.B) { fn(b, d) })
	}
}

// BenchmarkChainHop measures one hop of a chain: from a job's end to its
// successor's start (p50/p99 over every hop), 200 noop jobs or 100 local
// `true` jobs.
func BenchmarkChainHop(b *testing.B) {
	for _, kind := range []string{"noop", "local"} {
		b.Run(kind, func(b *testing.B) {
			eachDialect(b, func(b *testing.B, dialect string) {
				n, job := 200, nop
				if kind == "local" {
					n, job = 100, func(name string) jobnet.Unit { return sh(name, "true") }
				}
				var hops []time.Duration
				for i := 0; b.Loop(); i++ {
					st := storetest.Open(b, dialect, nil)
					var units []jobnet.Unit
					var edges []jobnet.Edge
					for k := range n {
						units = append(units, job(fmt.Sprintf("j%03d", k)))
						if k > 0 {
							edges = append(edges, edge(fmt.Sprintf("j%03d", k-1), fmt.Sprintf("j%03d", k), ""))
						}
					}
					g := submit(b, st, &jobnet.Jobnet{Name: "chain", Folder: "f", Net: jobnet.Net{Units: units, Edges: edges}}, nil)
					e := newEnv(b, st, time.Second)
					got, us := e.runUntilEnded(b, g.ID, nil)
					require.Equal(b, jobrun.GenEndedNormal, got.State)
					for k := 1; k < n; k++ {
						prev, next := us[fmt.Sprintf("j%03d", k-1)], us[fmt.Sprintf("j%03d", k)]
						hops = append(hops, next.StartedAt.Sub(*prev.EndedAt))
					}
				}
				slices.Sort(hops)
				b.ReportMetric(float64(hops[len(hops)/2])/1e6, "p50-ms/hop")
				b.ReportMetric(float64(hops[len(hops)*99/100])/1e6, "p99-ms/hop")
			})
		})
	}
}

// BenchmarkFanOut measures completions per second of a generation with one
// start job, 2,000 parallel jobs and one end job.
func BenchmarkFanOut(b *testing.B) {
	for _, kind := range []string{"noop", "local"} {
		b.Run(kind, func(b *testing.B) {
			eachDialect(b, func(b *testing.B, dialect string) {
				n := 2000
				if kind == "local" {
					n = 200
				}
				var total time.Duration
				for b.Loop() {
					b.StopTimer()
					st := storetest.Open(b, dialect, nil)
					job := func(name string) jobnet.Unit {
						if kind == "local" {
							return sh(name, "true")
						}
						return nop(name)
					}
					units := []jobnet.Unit{job("start"), job("end")}
					var edges []jobnet.Edge
					for k := range n {
						name := fmt.Sprintf("w%04d", k)
						units = append(units, job(name))
						edges = append(edges, edge("start", name, ""), edge(name, "end", ""))
					}
					g := submit(b, st, &jobnet.Jobnet{Name: "fan", Folder: "f", Net: jobnet.Net{Units: units, Edges: edges}}, nil)
					e := newEnv(b, st, runner.PollIntervalDefault)
					b.StartTimer()
					t0 := time.Now()
					got, _ := e.runUntilEndedWithin(b, g.ID, 10*time.Minute)
					total += time.Since(t0)
					require.Equal(b, jobrun.GenEndedNormal, got.State)
				}
				b.ReportMetric(float64((n+2)*b.N)/total.Seconds(), "completions/s")
			})
		})
	}
}

// BenchmarkPlannedGenerations reports the heap in use after 10,000
// generations waiting for their start times were stored and the runner made
// a pass over them.
func BenchmarkPlannedGenerations(b *testing.B) {
	eachDialect(b, func(b *testing.B, dialect string) {
		for b.Loop() {
			st := storetest.Open(b, dialect, nil)
			ctx := context.Background()
			j := &jobnet.Jobnet{Name: "daily", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a"), nop("b")}, Edges: []jobnet.Edge{edge("a", "b", "")}}}
			g := submit(b, st, j, nil)
			var gs []store.Generation
			for k := range 10000 {
				x := g
				x.ID, x.Rule = "", fmt.Sprintf("r%05d", k)
				x.ScheduledAt = time.Now().Add(time.Duration(k+1) * time.Minute)
				gs = append(gs, x)
			}
			for k := 0; k < len(gs); k += 1000 {
				_, err := st.InsertGenerations(ctx, gs[k:k+1000])
				require.NoError(b, err)
			}
			e := newEnv(b, st, time.Second)
			_, err := e.r.Pass(ctx)
			require.NoError(b, err)
			all, err := st.Generations(ctx, store.GenerationQuery{})
			require.NoError(b, err)
			require.Len(b, all, 10001)
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-MB")
			runtime.KeepAlive(all)
		}
	})
}

func (e *env) runUntilEndedWithin(t testing.TB, id string, limit time.Duration) (store.Generation, map[string]store.UnitRun) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.r.Run(ctx) }()
	defer func() { cancel(); require.NoError(t, <-done) }()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		g, err := e.st.Generation(ctx, id)
		require.NoError(t, err)
		if g.State.IsTerminal() {
			return g, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("generation %s did not end", id)
	return store.Generation{}, nil
}

// BenchmarkLocalStartWithHungConnection measures the start delay of a local
// jobnet (from the generation's insertion to its job's start) on a runner
// that is idle, and on one whose ECS connection has a RunTask hanging for
// the whole benchmark (target: no difference).
func BenchmarkLocalStartWithHungConnection(b *testing.B) {
	for _, hung := range []bool{false, true} {
		name := "idle"
		if hung {
			name = "hung-connection"
		}
		b.Run(name, func(b *testing.B) {
			eachDialect(b, func(b *testing.B, dialect string) {
				ctx := context.Background()
				st := storetest.Open(b, dialect, nil)
				w := newECSWorld(b)
				e := newEnv(b, st, time.Second)
				r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobLocal: e.local, jobnet.JobECS: w.ex},
					Node: "bench", PollInterval: time.Second, Logger: testLogger()})
				require.NoError(b, err)
				j := &jobnet.Jobnet{Name: "nightly", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{sh("a", "true")}}}
				tmpl := submit(b, st, j, nil)
				running(b, r)
				r.Notify()
				require.Eventually(b, func() bool { return genState(b, st, tmpl.ID).IsTerminal() }, 30*time.Second, time.Millisecond)
				if hung {
					submit(b, st, &jobnet.Jobnet{Name: "cloud", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{ecsUnit("held", "stuck")}}}, nil)
					r.Notify()
					<-w.hung.seen
				}
				var delays []time.Duration
				for i := 0; b.Loop(); i++ {
					g := tmpl
					g.Rule = fmt.Sprintf("b%06d", i)
					g.ScheduledAt = time.Now().Add(-time.Second)
					g.ID = store.GenerationID(g.JobnetID, g.BusinessDate, g.Rule, g.StartClock)
					t0 := time.Now()
					require.NoError(b, st.InsertGeneration(ctx, g))
					r.Notify()
					var u store.UnitRun
					require.Eventually(b, func() bool {
						u = unitsOf(b, st, g.ID)["a"]
						return u.StartedAt != nil
					}, 30*time.Second, time.Millisecond)
					delays = append(delays, u.StartedAt.Sub(t0))
				}
				if hung {
					require.EqualValues(b, 1, w.hung.held.Load(), "RunTask was held throughout")
				}
				slices.Sort(delays)
				b.ReportMetric(float64(delays[len(delays)/2])/1e6, "p50-ms/start")
				b.ReportMetric(float64(delays[len(delays)-1])/1e6, "max-ms/start")
			})
		})
	}
}
