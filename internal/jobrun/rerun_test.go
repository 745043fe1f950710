package jobrun

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func TestPlanRerun(t *testing.T) {
	// a → b → c, a -recovery→ r; sub{x → y} after b; w independent.
	net := jobnet.Net{
		Units: []jobnet.Unit{job("a"), job("b"), job("c"), job("r"),
			subnet("sub", jobnet.Net{Units: []jobnet.Unit{job("x"), job("y")}, Edges: chain("x", "y")}), job("w")},
		Edges: []jobnet.Edge{edge("a", "b", ""), edge("b", "c", ""), edge("a", "r", jobnet.EdgeRecovery), edge("b", "sub", "")},
	}
	failedA := map[string]JobState{"a": ea, "b": by, "c": by, "r": en, "sub": by, "sub/x": by, "sub/y": by, "w": ew}
	failedX := map[string]JobState{"a": en, "b": en, "c": en, "r": by, "sub": ea, "sub/x": ea, "sub/y": by, "w": en}
	tests := []struct {
		name   string
		states map[string]JobState
		req    RerunRequest
		reset  []string
		mark   []string
		err    error
		msg    string
	}{
		{name: "from abnormal resets the failure and what it bypassed", states: failedA, req: RerunRequest{Mode: RerunFromAbnormal},
			reset: []string{"a", "b", "c", "sub", "sub/x", "sub/y"}},
		{name: "after abnormal marks the failure normal and resets what it bypassed", states: failedA, req: RerunRequest{Mode: RerunAfterAbnormal},
			reset: []string{"b", "c", "sub", "sub/x", "sub/y"}, mark: []string{"a"}},
		{name: "from abnormal inside a nested jobnet resets the enclosing unit", states: failedX, req: RerunRequest{Mode: RerunFromAbnormal},
			reset: []string{"sub", "sub/x", "sub/y"}},
		{name: "after abnormal inside a nested jobnet", states: failedX, req: RerunRequest{Mode: RerunAfterAbnormal},
			reset: []string{"sub", "sub/y"}, mark: []string{"sub/x"}},
		{name: "warning only", states: failedA, req: RerunRequest{Mode: RerunWarningOnly}, reset: []string{"w"}},
		{name: "from top resets everything that is not pending", states: failedX, req: RerunRequest{Mode: RerunFromTop},
			reset: []string{"a", "b", "c", "r", "sub", "sub/x", "sub/y", "w"}},
		{name: "unit alone", states: failedX, req: RerunRequest{Mode: RerunUnitAlone, Unit: "b"}, reset: []string{"b"}},
		{name: "unit alone nested reruns its body", states: failedX, req: RerunRequest{Mode: RerunUnitAlone, Unit: "sub"},
			reset: []string{"sub", "sub/x", "sub/y"}},
		{name: "unit alone inside nested resets the enclosing unit", states: failedX, req: RerunRequest{Mode: RerunUnitAlone, Unit: "sub/x"},
			reset: []string{"sub", "sub/x"}},
		{name: "unit with successors", states: failedX, req: RerunRequest{Mode: RerunUnitWithSuccessors, Unit: "b"},
			reset: []string{"b", "c", "sub", "sub/x", "sub/y"}},
		{name: "successors only", states: failedX, req: RerunRequest{Mode: RerunSuccessorsOnly, Unit: "b"},
			reset: []string{"c", "sub", "sub/x", "sub/y"}},
		{name: "running unit cannot be rerun", states: map[string]JobState{"a": en, "b": rn}, req: RerunRequest{Mode: RerunUnitAlone, Unit: "b"},
			err: fault.ErrConflict, msg: `cannot rerun unit "b": it is running`},
		{name: "running successor blocks unit with successors", states: map[string]JobState{"a": en, "b": en, "c": st}, req: RerunRequest{Mode: RerunUnitWithSuccessors, Unit: "b"},
			err: fault.ErrConflict, msg: `cannot rerun unit "c": it is starting`},
		{name: "running unit blocks from top", states: map[string]JobState{"a": rn}, req: RerunRequest{Mode: RerunFromTop},
			err: fault.ErrConflict, msg: `cannot rerun unit "a": it is running`},
		{name: "waiting unit has not run", states: nil, req: RerunRequest{Mode: RerunUnitAlone, Unit: "a"},
			err: fault.ErrConflict, msg: `cannot rerun unit "a": it is waiting`},
		{name: "nothing abnormal", states: map[string]JobState{"a": en}, req: RerunRequest{Mode: RerunFromAbnormal},
			err: fault.ErrConflict, msg: "no unit ended abnormally"},
		{name: "unknown unit", states: failedX, req: RerunRequest{Mode: RerunUnitAlone, Unit: "nope"}, err: fault.ErrNotFound},
		{name: "unknown mode", states: failedX, req: RerunRequest{Mode: "sideways"}, err: fault.ErrInvalid},
		{name: "generation mode with a unit", states: failedX, req: RerunRequest{Mode: RerunFromTop, Unit: "a"}, err: fault.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan, err := PlanRerun(net, rows(tt.states), tt.req)
			if tt.err != nil {
				require.ErrorIs(t, err, tt.err)
				require.ErrorContains(t, err, tt.msg)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.reset, plan.Reset, "reset")
			require.Equal(t, tt.mark, plan.MarkEndedNormal, "mark")
			// Every planned change is a legal transition.
			for _, p := range plan.Reset {
				require.True(t, CanTransition(tt.states[p], StateWaiting, CauseRerun), "%s from %s", p, tt.states[p])
			}
			for _, p := range plan.MarkEndedNormal {
				require.True(t, CanTransition(tt.states[p], StateEndedNormal, CauseMark), p)
			}
		})
	}
}

// After a from_abnormal rerun the graph runs the reset units again.
func TestPlanRerunThenEvaluate(t *testing.T) {
	net := jobnet.Net{Units: []jobnet.Unit{job("a"), job("b")}, Edges: chain("a", "b")}
	g, err := Compile(net)
	require.NoError(t, err)
	states := []UnitRun{{Path: "a", State: ea, Attempt: 2}, {Path: "b", State: by}}
	plan, err := g.PlanRerun(states, RerunRequest{Mode: RerunFromAbnormal})
	require.NoError(t, err)
	require.Equal(t, []string{"a", "b"}, plan.Reset)
	for i := range states {
		states[i].State = StateWaiting
	}
	step, err := g.Evaluate(states, t0)
	require.NoError(t, err)
	require.Equal(t, []string{"a"}, paths(step.Ready))
	require.Equal(t, GenRunning, step.Gen)
}
