package forecast_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/koyomi-dev/koyomi/internal/forecast"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// benchInput is 10,000 generations of 20 units each: a chain of 5 feeding
// three parallel chains of 5 that join in a last unit, in 4 shared pools;
// a third of the generations have started.
func benchInput(b *testing.B) forecast.Input {
	var units []jobnet.Unit
	var es []jobnet.Edge
	pools := []string{"", "db", "ecs", "etl"}
	name := func(i int) string { return fmt.Sprintf("u%02d", i) }
	for i := 0; i < 20; i++ {
		units = append(units, job(name(i), pools[i%4]))
	}
	for i := 1; i < 5; i++ {
		es = append(es, jobnet.Edge{From: name(i - 1), To: name(i)})
	}
	for c := 0; c < 3; c++ {
		first := 5 + c*5
		es = append(es, jobnet.Edge{From: name(4), To: name(first)})
		for i := first + 1; i < first+5; i++ {
			es = append(es, jobnet.Edge{From: name(i - 1), To: name(i)})
		}
		if c < 2 {
			es = append(es, jobnet.Edge{From: name(first + 4), To: name(19)})
		}
	}
	s, err := forecast.Compile(jobnet.Net{Units: units, Edges: es})
	if err != nil {
		b.Fatal(err)
	}
	now := at(23, 0)
	in := forecast.Input{Now: now, Pools: map[string]int{"db": 200, "ecs": 500, "etl": 100}}
	exp := make([]time.Duration, len(s.Units))
	for i := range exp {
		exp[i] = time.Duration(1+i%7) * time.Minute
	}
	for g := 0; g < 10000; g++ {
		p := forecast.GenParams{ID: fmt.Sprintf("g%05d", g), Start: at(20, 0).Add(time.Duration(g%600) * time.Minute),
			MaxConcurrent: 4, Deadline: at(30, 0), Expected: exp}
		if g%3 == 0 {
			st := p.Start
			p.States = map[string]forecast.UnitState{name(0): ended(jobrun.StateEndedNormal, st, st.Add(time.Minute)), name(1): running(st.Add(time.Minute))}
		}
		in.Gens = append(in.Gens, forecast.Build(s, p))
	}
	return in
}

func BenchmarkRun10000x20(b *testing.B) {
	in := benchInput(b)
	b.ReportAllocs()
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		out := forecast.Run(in)
		if len(out) != 10000 {
			b.Fatal(len(out))
		}
		n++
	}
	// On a shared machine the wall time per op includes waiting for a CPU;
	// the process CPU time per op is reported beside it.
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(n), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
