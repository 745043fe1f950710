package jobrun

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// randomNet builds a random DAG: edges only go from earlier to later units,
// judgments get true/false edges, some units are nested jobnets or held.
func randomNet(rng *rand.Rand, depth int, prefix string) jobnet.Net {
	n := 1 + rng.IntN(8)
	var net jobnet.Net
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("%su%d", prefix, i)
		var u jobnet.Unit
		switch r := rng.IntN(10); {
		case r == 0 && depth < 2:
			u = subnet(name, randomNet(rng, depth+1, name+"_"))
		case r == 1:
			u = judgment(name, jobnet.Judgment{Kind: jobnet.JudgeExitCode, Value: "0"})
		default:
			u = job(name)
		}
		u.Hold = rng.IntN(12) == 0
		net.Units = append(net.Units, u)
		for j := 0; j < i; j++ {
			if rng.IntN(3) != 0 {
				continue
			}
			kind := jobnet.EdgeNormal
			switch from := net.Units[j]; {
			case from.Kind == jobnet.UnitJudgment && rng.IntN(3) != 0:
				kind = []jobnet.EdgeKind{jobnet.EdgeTrue, jobnet.EdgeFalse}[rng.IntN(2)]
			case rng.IntN(4) == 0:
				kind = jobnet.EdgeRecovery
			}
			net.Edges = append(net.Edges, edge(net.Units[j].Name, name, kind))
		}
	}
	return net
}

// edgeOK is an independent statement of the edge semantics.
func edgeOK(kind jobnet.EdgeKind, r UnitRun) bool {
	switch kind {
	case jobnet.EdgeNormal:
		return r.State == en || r.State == ew
	case jobnet.EdgeRecovery:
		return r.State == ea || r.State == ki || r.State == fs || r.State == ue
	case jobnet.EdgeTrue:
		return r.State == en && r.JudgmentResult != nil && *r.JudgmentResult
	case jobnet.EdgeFalse:
		return r.State == en && r.JudgmentResult != nil && !*r.JudgmentResult
	}
	return false
}

// expectAggregate is an independent statement of how ends combine.
func expectAggregate(states []JobState) JobState {
	out := en
	for _, s := range states {
		switch {
		case s == ea || s == fs || s == ue:
			return ea
		case s == ki:
			out = ki
		case s == ew && out == en:
			out = ew
		}
	}
	return out
}

func simulate(t testing.TB, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	net := randomNet(rng, 0, "")
	g, err := Compile(net)
	require.NoError(t, err)
	states := g.InitialStates()
	byPath := map[string]*UnitRun{}
	for i := range states {
		byPath[states[i].Path] = &states[i]
	}
	move := func(p string, to JobState, c Cause) {
		r := byPath[p]
		got, err := Transition(p, r.State, to, c)
		require.NoError(t, err, "seed %d", seed)
		r.State = got
	}
	var step Step
	for iter := 0; ; iter++ {
		require.Less(t, iter, 10*len(states)+20, "seed %d: no progress", seed)
		step, err = g.Evaluate(states, t0)
		require.NoError(t, err)
		// Derived ends of nested units come first: Ready may depend on them.
		for _, c := range step.Bypass {
			move(c.Path, StateBypassed, CauseEvaluate)
		}
		for _, c := range step.Derived {
			move(c.Path, c.To, CauseEvaluate)
		}
		for _, c := range step.Ready {
			for _, e := range edgesInto(net, c.Path) {
				require.True(t, edgeOK(e.kind, *byPath[e.from]), "seed %d: %s queued but edge from %s (%s) has not fired", seed, c.Path, e.from, byPath[e.from].State)
			}
			move(c.Path, StateQueued, CauseEvaluate)
		}
		for _, j := range step.Judge {
			if rng.IntN(5) == 0 {
				move(j.Path, ea, CauseJudged)
				continue
			}
			res := rng.IntN(2) == 0
			byPath[j.Path].JudgmentResult = &res
			move(j.Path, en, CauseJudged)
		}
		progressed := !step.Empty()
		for i := range states {
			r := &states[i]
			if r.State != StateQueued {
				continue
			}
			progressed = true
			move(r.Path, StateStarting, CauseDispatch)
			r.Attempt++
			switch rng.IntN(10) {
			case 0:
				move(r.Path, StateFailedToStart, CauseStartFailed)
			case 1:
				move(r.Path, StateRunning, CauseStarted)
				move(r.Path, StateUnknownEnd, CauseLost)
			case 2:
				move(r.Path, StateKilled, CauseKill)
			default:
				code := []int{0, 0, 0, 1, 5}[rng.IntN(5)]
				r.ExitCode = &code
				move(r.Path, Judge(jobnet.EndJudgment{WarningThreshold: 0, AbnormalThreshold: 1}, code), CauseExited)
			}
		}
		if progressed {
			continue
		}
		released := false
		for i := range states {
			if states[i].State == StateHeld {
				move(states[i].Path, StateWaiting, CauseRelease)
				released = true
				break
			}
		}
		if !released {
			break
		}
	}
	var roots []JobState
	for i := range states {
		r := states[i]
		require.True(t, r.State.IsTerminal(), "seed %d: %s ends %s", seed, r.Path, r.State)
		if !strings.Contains(r.Path, "/") {
			roots = append(roots, r.State)
		}
		u, _ := g.Unit(r.Path)
		if u.Kind == jobnet.UnitJobnet && r.State != StateBypassed {
			var kids []JobState
			for j := range states {
				if p := states[j].Path; strings.HasPrefix(p, r.Path+"/") && !strings.Contains(p[len(r.Path)+1:], "/") {
					kids = append(kids, states[j].State)
				}
			}
			require.Equal(t, expectAggregate(kids), r.State, "seed %d: nested %s", seed, r.Path)
		}
	}
	require.Equal(t, genOf(expectAggregate(roots)), step.Gen, "seed %d", seed)
	require.True(t, step.Gen.IsTerminal())
}

type testEdge struct {
	from string
	kind jobnet.EdgeKind
}

// edgesInto finds the incoming edges of a unit path by walking the definition.
func edgesInto(net jobnet.Net, path string) []testEdge {
	prefix := ""
	cur := &net
	parts := strings.Split(path, "/")
	for _, p := range parts[:len(parts)-1] {
		for i := range cur.Units {
			if cur.Units[i].Name == p {
				cur = cur.Units[i].Net
				break
			}
		}
		prefix += p + "/"
	}
	var out []testEdge
	for _, e := range cur.Edges {
		if e.To == parts[len(parts)-1] {
			out = append(out, testEdge{from: prefix + e.From, kind: e.EffectiveKind()})
		}
	}
	return out
}

func TestRandomRunsTerminate(t *testing.T) {
	for seed := uint64(1); seed <= 500; seed++ {
		simulate(t, seed)
	}
}

func FuzzRandomRunsTerminate(f *testing.F) {
	for _, s := range []uint64{1, 7, 42, 1234} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, seed uint64) { simulate(t, seed) })
}

// fanNet is start → n parallel jobs → end.
func fanNet(n int) jobnet.Net {
	net := jobnet.Net{Units: []jobnet.Unit{job("start"), job("end")}}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("job%04d", i)
		net.Units = append(net.Units, job(name))
		net.Edges = append(net.Edges, edge("start", name, ""), edge(name, "end", ""))
	}
	return net
}

func BenchmarkEvaluateFan2000(b *testing.B) {
	g, err := Compile(fanNet(1998))
	require.NoError(b, err)
	states := g.InitialStates()
	// Mid-run: start ended, half the fan ended, a quarter running, a quarter waiting.
	states[0].State = en
	for i := 1; i < len(states)-1; i++ {
		switch i % 4 {
		case 0, 1:
			states[i].State = en
		case 2:
			states[i].State = rn
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := g.Evaluate(states, t0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileFan2000(b *testing.B) {
	net := fanNet(1998)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Compile(net); err != nil {
			b.Fatal(err)
		}
	}
}
