package jobrun

import (
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func job(name string) jobnet.Unit {
	return jobnet.Unit{Name: name, Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobNoop}}
}

func judgment(name string, j jobnet.Judgment) jobnet.Unit {
	return jobnet.Unit{Name: name, Kind: jobnet.UnitJudgment, Judgment: &j}
}

func subnet(name string, net jobnet.Net) jobnet.Unit {
	return jobnet.Unit{Name: name, Kind: jobnet.UnitJobnet, Net: &net}
}

func edge(from, to string, kind jobnet.EdgeKind) jobnet.Edge {
	return jobnet.Edge{From: from, To: to, Kind: kind}
}

func chain(names ...string) []jobnet.Edge {
	var es []jobnet.Edge
	for i := 1; i < len(names); i++ {
		es = append(es, edge(names[i-1], names[i], ""))
	}
	return es
}

// rows turns path → state into UnitRuns (sorted, so not in graph order).
func rows(m map[string]JobState) []UnitRun {
	var out []UnitRun
	for p, s := range m {
		out = append(out, UnitRun{Path: p, State: s})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func paths(cs []Change) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Path)
	}
	return out
}

func derived(cs []Change) map[string]JobState {
	out := map[string]JobState{}
	for _, c := range cs {
		out[c.Path] = c.To
	}
	return out
}

var t0 = time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)

func TestEvaluate(t *testing.T) {
	linear := jobnet.Net{Units: []jobnet.Unit{job("a"), job("b"), job("c")}, Edges: chain("a", "b", "c")}
	recovery := jobnet.Net{
		Units: []jobnet.Unit{job("a"), job("b"), job("r")},
		Edges: []jobnet.Edge{edge("a", "b", jobnet.EdgeNormal), edge("a", "r", jobnet.EdgeRecovery)},
	}
	fanIn := jobnet.Net{Units: []jobnet.Unit{job("a"), job("b"), job("c")}, Edges: []jobnet.Edge{edge("a", "c", ""), edge("b", "c", "")}}
	branch := jobnet.Net{
		Units: []jobnet.Unit{job("a"), judgment("j", jobnet.Judgment{Kind: jobnet.JudgeExitCode, Op: "eq", Value: "3"}), job("t"), job("f")},
		Edges: []jobnet.Edge{edge("a", "j", ""), edge("j", "t", jobnet.EdgeTrue), edge("j", "f", jobnet.EdgeFalse)},
	}
	nested := jobnet.Net{
		Units: []jobnet.Unit{job("a"), subnet("sub", jobnet.Net{Units: []jobnet.Unit{job("x"), job("y")}, Edges: chain("x", "y")}), job("z")},
		Edges: chain("a", "sub", "z"),
	}
	held := jobnet.Net{Units: []jobnet.Unit{job("a"), {Name: "b", Kind: jobnet.UnitJob, Hold: true}}, Edges: chain("a", "b")}

	tests := []struct {
		name    string
		net     jobnet.Net
		states  map[string]JobState
		ready   []string
		bypass  []string
		derived map[string]JobState
		judge   []string
		gen     GenState
	}{
		{name: "start: units without incoming edges are ready", net: linear, states: nil, ready: []string{"a"}, gen: GenRunning},
		{name: "normal fires after ended normally", net: linear, states: map[string]JobState{"a": en}, ready: []string{"b"}, gen: GenRunning},
		{name: "normal fires after ended with warning", net: linear, states: map[string]JobState{"a": ew}, ready: []string{"b"}, gen: GenRunning},
		{name: "running predecessor: nothing", net: linear, states: map[string]JobState{"a": rn}, gen: GenRunning},
		{name: "abnormal end bypasses successors transitively", net: linear, states: map[string]JobState{"a": ea},
			bypass: []string{"b", "c"}, gen: GenEndedAbnormal},
		{name: "all normal ends normally", net: linear, states: map[string]JobState{"a": en, "b": ew, "c": en}, gen: GenEndedWarning},
		{name: "recovery fires after abnormal", net: recovery, states: map[string]JobState{"a": ea},
			ready: []string{"r"}, bypass: []string{"b"}, gen: GenRunning},
		{name: "recovery fires after killed", net: recovery, states: map[string]JobState{"a": ki}, ready: []string{"r"}, bypass: []string{"b"}, gen: GenRunning},
		{name: "recovery fires after failed to start", net: recovery, states: map[string]JobState{"a": fs}, ready: []string{"r"}, bypass: []string{"b"}, gen: GenRunning},
		{name: "recovery bypassed after normal", net: recovery, states: map[string]JobState{"a": en}, ready: []string{"b"}, bypass: []string{"r"}, gen: GenRunning},
		{name: "a recovered failure still ends the generation abnormally", net: recovery,
			states: map[string]JobState{"a": ea, "b": by, "r": en}, gen: GenEndedAbnormal},
		{name: "killed alone ends killed", net: recovery, states: map[string]JobState{"a": ki, "b": by, "r": en}, gen: GenKilled},
		{name: "fan-in waits for all", net: fanIn, states: map[string]JobState{"a": en, "b": rn}, gen: GenRunning},
		{name: "fan-in bypassed by one dead edge", net: fanIn, states: map[string]JobState{"a": en, "b": ea}, bypass: []string{"c"}, gen: GenEndedAbnormal},
		{name: "fan-in bypassed even while another predecessor runs", net: fanIn, states: map[string]JobState{"a": rn, "b": ea}, bypass: []string{"c"}, gen: GenRunning},
		{name: "judgment due after its predecessor", net: branch, states: map[string]JobState{"a": en}, judge: []string{"j"}, gen: GenRunning},
		{name: "judgment without a result fires neither branch", net: branch, states: map[string]JobState{"a": en, "j": en}, bypass: []string{"t", "f"}, gen: GenEndedNormal},
		{name: "judgment abnormal bypasses both branches", net: branch, states: map[string]JobState{"a": en, "j": ea}, bypass: []string{"t", "f"}, gen: GenEndedAbnormal},
		{name: "held unit does not start", net: held, states: map[string]JobState{"a": en}, gen: GenRunning},
		{name: "held unit with dead edges is bypassed", net: held, states: map[string]JobState{"a": ea}, bypass: []string{"b"}, gen: GenEndedAbnormal},
		{name: "held from the definition when no row exists", net: held, states: map[string]JobState{"a": en}, gen: GenRunning},
		{name: "marked bypassed bypasses successors", net: linear, states: map[string]JobState{"a": by}, bypass: []string{"b", "c"}, gen: GenEndedNormal},
		{name: "marked ended normally runs successors", net: linear, states: map[string]JobState{"a": en, "b": en}, ready: []string{"c"}, gen: GenRunning},
		{name: "nested waits for its predecessor", net: nested, states: nil, ready: []string{"a"}, gen: GenRunning},
		{name: "nested starts: derived running, first child ready", net: nested, states: map[string]JobState{"a": en},
			ready: []string{"sub/x"}, derived: map[string]JobState{"sub": rn}, gen: GenRunning},
		{name: "nested ends from its children and its successor is ready", net: nested,
			states: map[string]JobState{"a": en, "sub": rn, "sub/x": en, "sub/y": ew},
			ready:  []string{"z"}, derived: map[string]JobState{"sub": ew}, gen: GenRunning},
		{name: "nested child abnormal: nested abnormal, successor bypassed", net: nested,
			states: map[string]JobState{"a": en, "sub": rn, "sub/x": ea},
			bypass: []string{"sub/y", "z"}, derived: map[string]JobState{"sub": ea}, gen: GenEndedAbnormal},
		{name: "bypassed nested bypasses its body", net: nested, states: map[string]JobState{"a": ea},
			bypass: []string{"sub/x", "sub/y", "z"}, derived: map[string]JobState{"sub": by}, gen: GenEndedAbnormal},
		{name: "nested marked ended normally bypasses its pending body", net: nested,
			states: map[string]JobState{"a": en, "sub": en, "sub/x": ea},
			bypass: []string{"sub/y"}, ready: []string{"z"}, gen: GenRunning},
		{name: "generation ends normally when all ended normally", net: nested,
			states: map[string]JobState{"a": en, "sub": en, "sub/x": en, "sub/y": en, "z": en}, gen: GenEndedNormal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			step, err := Evaluate(tt.net, rows(tt.states), t0)
			require.NoError(t, err)
			require.Equal(t, tt.ready, paths(step.Ready), "ready")
			require.Equal(t, tt.bypass, paths(step.Bypass), "bypass")
			if tt.derived == nil {
				tt.derived = map[string]JobState{}
			}
			require.Equal(t, tt.derived, derived(step.Derived), "derived")
			var judge []string
			for _, j := range step.Judge {
				judge = append(judge, j.Path)
			}
			require.Equal(t, tt.judge, judge, "judge")
			require.Equal(t, tt.gen, step.Gen, "generation")
			for _, c := range append(append(append([]Change{}, step.Ready...), step.Bypass...), step.Derived...) {
				require.True(t, CanTransition(c.From, c.To, CauseEvaluate), "%s: %s → %s", c.Path, c.From, c.To)
			}
		})
	}
}

func TestEvaluateJudgmentBranches(t *testing.T) {
	net := jobnet.Net{
		Units: []jobnet.Unit{job("a"), judgment("j", jobnet.Judgment{Kind: jobnet.JudgeExitCode, Op: "ge", Value: "3"}), job("t"), job("f")},
		Edges: []jobnet.Edge{edge("a", "j", ""), edge("j", "t", jobnet.EdgeTrue), edge("j", "f", jobnet.EdgeFalse)},
	}
	g, err := Compile(net)
	require.NoError(t, err)
	exit := 4
	states := []UnitRun{{Path: "a", State: en, ExitCode: &exit}}
	step, err := g.Evaluate(states, t0)
	require.NoError(t, err)
	require.Len(t, step.Judge, 1)
	due := step.Judge[0]
	require.Equal(t, "a", due.Predecessor)
	require.Equal(t, 4, *due.ExitCode)
	state, result, err := due.Resolve(nil, nil)
	require.NoError(t, err)
	require.Equal(t, en, state)
	require.True(t, *result)

	states = append(states, UnitRun{Path: "j", State: state, JudgmentResult: result})
	step, err = g.Evaluate(states, t0)
	require.NoError(t, err)
	require.Equal(t, []string{"t"}, paths(step.Ready))
	require.Equal(t, []string{"f"}, paths(step.Bypass))

	no := false
	states[1].JudgmentResult = &no
	step, err = g.Evaluate(states, t0)
	require.NoError(t, err)
	require.Equal(t, []string{"f"}, paths(step.Ready))
	require.Equal(t, []string{"t"}, paths(step.Bypass))

	// A judgment that cannot be evaluated ends abnormally.
	bad := JudgmentDue{Path: "j", Judgment: jobnet.Judgment{Kind: jobnet.JudgeVariable, Variable: "MISSING"}}
	state, result, err = bad.Resolve(map[string]string{}, nil)
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.Equal(t, ea, state)
	require.Nil(t, result)
}

func TestEvaluateRetryNotBefore(t *testing.T) {
	g, err := Compile(jobnet.Net{Units: []jobnet.Unit{job("a")}})
	require.NoError(t, err)
	due := t0.Add(5 * time.Minute)
	states := []UnitRun{{Path: "a", State: wt, Attempt: 1, NotBefore: due}}
	step, err := g.Evaluate(states, t0)
	require.NoError(t, err)
	require.Empty(t, step.Ready)
	require.Equal(t, due, step.Wake)
	require.Equal(t, GenRunning, step.Gen)

	step, err = g.Evaluate(states, due)
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, paths(step.Ready))
	require.True(t, step.Wake.IsZero())
}

func TestEvaluateBadStates(t *testing.T) {
	g, err := Compile(jobnet.Net{Units: []jobnet.Unit{job("a")}})
	require.NoError(t, err)
	_, err = g.Evaluate([]UnitRun{{Path: "nope", State: wt}}, t0)
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.ErrorContains(t, err, `"nope"`)
	_, err = g.Evaluate([]UnitRun{{Path: "a", State: wt}, {Path: "a", State: wt}}, t0)
	require.ErrorIs(t, err, fault.ErrInvalid)
	_, err = g.Evaluate([]UnitRun{{Path: "a", State: "done"}}, t0)
	require.ErrorIs(t, err, fault.ErrInvalid)
}

func TestCompileProblems(t *testing.T) {
	tests := []struct {
		name string
		net  jobnet.Net
		want string
	}{
		{"cycle", jobnet.Net{Units: []jobnet.Unit{job("a"), job("b")}, Edges: []jobnet.Edge{edge("a", "b", ""), edge("b", "a", "")}}, "cycle: "},
		{"duplicate", jobnet.Net{Units: []jobnet.Unit{job("a"), job("a")}}, `units[1]: duplicate unit name "a"`},
		{"unknown edge unit", jobnet.Net{Units: []jobnet.Unit{job("a")}, Edges: []jobnet.Edge{edge("a", "lodd", "")}}, `edges[0]: unknown unit "lodd"`},
		{"slash", jobnet.Net{Units: []jobnet.Unit{job("a/b")}}, `units[0]: unit name "a/b" must not contain "/"`},
		{"empty name", jobnet.Net{Units: []jobnet.Unit{job("")}}, `units[0]: unit has no name`},
		{"edge kind", jobnet.Net{Units: []jobnet.Unit{job("a"), job("b")}, Edges: []jobnet.Edge{edge("a", "b", "sometimes")}}, `edges[0]: unknown edge kind "sometimes"`},
		{"nested without net", jobnet.Net{Units: []jobnet.Unit{{Name: "s", Kind: jobnet.UnitJobnet}}}, `units[0]: jobnet unit "s" has no net`},
		{"nested problem path", jobnet.Net{Units: []jobnet.Unit{subnet("s", jobnet.Net{Units: []jobnet.Unit{job("x"), job("x")}})}}, `units[0].net.units[1]: duplicate unit name "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.net)
			require.ErrorIs(t, err, fault.ErrInvalid)
			require.ErrorContains(t, err, tt.want)
		})
	}
}

func TestGraphPathsAndInitialStates(t *testing.T) {
	net := jobnet.Net{
		Units: []jobnet.Unit{job("z"), subnet("sub", jobnet.Net{Units: []jobnet.Unit{job("y"), job("x")}, Edges: chain("x", "y")}), {Name: "h", Kind: jobnet.UnitJob, Hold: true}},
		Edges: []jobnet.Edge{edge("sub", "z", "")},
	}
	g, err := Compile(net)
	require.NoError(t, err)
	require.Equal(t, []string{"sub", "sub/x", "sub/y", "z", "h"}, g.Paths())
	init := g.InitialStates()
	require.Equal(t, hd, init[4].State)
	require.Equal(t, wt, init[0].State)
	require.Equal(t, []string{"sub"}, g.Predecessors("z"))
	u, ok := g.Unit("sub/x")
	require.True(t, ok)
	require.Equal(t, "x", u.Name)
}
