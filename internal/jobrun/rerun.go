package jobrun

import (
	"fmt"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// RerunMode selects what a rerun resets.
type RerunMode string

const (
	// RerunFromAbnormal reruns the units that ended abnormally (killed,
	// failed to start, unknown end included) and the units downstream that
	// were bypassed because of them.
	RerunFromAbnormal RerunMode = "from_abnormal"
	// RerunAfterAbnormal treats the abnormally ended units as ended normally
	// (JP1 "rerun from the next job") and reruns the units downstream that
	// were bypassed because of them.
	RerunAfterAbnormal RerunMode = "after_abnormal"
	// RerunFromTop reruns every unit.
	RerunFromTop RerunMode = "from_top"
	// RerunWarningOnly reruns only the units that ended with warning.
	RerunWarningOnly RerunMode = "warning_only"
	// RerunUnitAlone reruns one unit (a nested jobnet with its whole body).
	RerunUnitAlone RerunMode = "unit_alone"
	// RerunUnitWithSuccessors reruns one unit and everything downstream.
	RerunUnitWithSuccessors RerunMode = "unit_with_successors"
	// RerunSuccessorsOnly reruns everything downstream of one unit, not the unit.
	RerunSuccessorsOnly RerunMode = "successors_only"
)

// RerunRequest is an operator's rerun. Unit is the unit path for the unit
// modes and must be empty for the generation modes.
type RerunRequest struct {
	Mode RerunMode
	Unit string
}

// RerunPlan says which units change. The caller applies MarkEndedNormal
// (CauseMark) and Reset (→ waiting, CauseRerun) in one transaction, clears
// the reset units' flags, exit codes, judgment results and NotBefore, keeps
// their Attempt counting, and moves an ended generation back to running
// (CauseRerun). Lists are in graph order.
type RerunPlan struct {
	Reset           []string
	MarkEndedNormal []string
}

// PlanRerun decides what a rerun resets. A unit that is starting or running
// cannot be rerun (fault.ErrConflict, `cannot rerun unit "load": it is
// running`); nor can a unit that has not run, and a generation mode with
// nothing to rerun is a conflict too. Units already waiting or held are left
// as they are; enclosing jobnet units that ended are reset so that they run
// their body again.
func (g *Graph) PlanRerun(states []UnitRun, req RerunRequest) (RerunPlan, error) {
	cur, err := g.bind(states)
	if err != nil {
		return RerunPlan{}, fmt.Errorf("plan rerun: %w", err)
	}
	p := rerunPlanner{g: g, cur: cur, reset: make([]bool, len(g.nodes)), mark: make([]bool, len(g.nodes))}
	if err := p.plan(req); err != nil {
		return RerunPlan{}, err
	}
	// Enclosing jobnet units of every reset unit run again.
	for i := len(g.nodes) - 1; i >= 0; i-- {
		if !p.reset[i] && !p.mark[i] {
			continue
		}
		for a := g.nodes[i].parent; a >= 0; a = g.nodes[a].parent {
			if s := g.stored(cur, a); s.IsTerminal() {
				p.reset[a] = true
			}
		}
	}
	var out RerunPlan
	for i := range g.nodes {
		if p.mark[i] {
			out.MarkEndedNormal = append(out.MarkEndedNormal, g.nodes[i].path)
		}
		if p.reset[i] {
			out.Reset = append(out.Reset, g.nodes[i].path)
		}
	}
	return out, nil
}

type rerunPlanner struct {
	g     *Graph
	cur   []*UnitRun
	reset []bool
	mark  []bool
}

func (p *rerunPlanner) plan(req RerunRequest) error {
	g := p.g
	switch req.Mode {
	case RerunFromAbnormal, RerunAfterAbnormal, RerunFromTop, RerunWarningOnly:
		if req.Unit != "" {
			return fmt.Errorf("rerun %s: takes no unit (got %q): %w", req.Mode, req.Unit, fault.ErrInvalid)
		}
	case RerunUnitAlone, RerunUnitWithSuccessors, RerunSuccessorsOnly:
	default:
		return fmt.Errorf("rerun: unknown mode %q: %w", req.Mode, fault.ErrInvalid)
	}
	switch req.Mode {
	case RerunFromTop:
		for i := range g.nodes {
			if err := p.resetOne(int32(i)); err != nil {
				return err
			}
		}
		return nil
	case RerunFromAbnormal, RerunAfterAbnormal, RerunWarningOnly:
		var seeds []int32
		for i := range g.nodes {
			s := g.stored(p.cur, int32(i))
			if g.nodes[i].nested() {
				continue
			}
			if req.Mode == RerunWarningOnly && s == StateEndedWarning || req.Mode != RerunWarningOnly && s.EndedAbnormally() {
				seeds = append(seeds, int32(i))
			}
		}
		if len(seeds) == 0 {
			what := "ended abnormally"
			if req.Mode == RerunWarningOnly {
				what = "ended with warning"
			}
			return fmt.Errorf("cannot rerun %s: no unit %s: %w", req.Mode, what, fault.ErrConflict)
		}
		for _, i := range seeds {
			if req.Mode == RerunAfterAbnormal {
				p.mark[i] = true
			} else {
				p.reset[i] = true
			}
		}
		if req.Mode != RerunWarningOnly {
			return p.downstream(seeds, false)
		}
		return nil
	}
	id, ok := g.index[req.Unit]
	if !ok {
		return fmt.Errorf("rerun unit %q: %w", req.Unit, fault.ErrNotFound)
	}
	s := g.stored(p.cur, id)
	if !s.IsTerminal() {
		return fmt.Errorf("cannot rerun unit %q: %s: %w", req.Unit, s.phrase(), fault.ErrConflict)
	}
	if req.Mode != RerunSuccessorsOnly {
		if err := p.resetTree(id); err != nil {
			return err
		}
	}
	if req.Mode != RerunUnitAlone {
		return p.downstream([]int32{id}, true)
	}
	return nil
}

// resetOne resets a unit that is not pending; starting and running are conflicts.
func (p *rerunPlanner) resetOne(i int32) error {
	s := p.g.stored(p.cur, i)
	switch {
	case s.IsPending():
		return nil
	case s == StateStarting || s == StateRunning:
		return fmt.Errorf("cannot rerun unit %q: %s: %w", p.g.nodes[i].path, s.phrase(), fault.ErrConflict)
	}
	p.reset[i] = true
	return nil
}

// resetTree resets a unit and, for a nested jobnet, its whole body.
func (p *rerunPlanner) resetTree(i int32) error {
	for j := i; j <= p.g.nodes[i].last; j++ {
		if err := p.resetOne(j); err != nil {
			return err
		}
	}
	return nil
}

// downstream walks from seeds along edges, and from a unit to its enclosing
// jobnet unit (whose end depends on it) and on to that one's successors.
// With all, every unit reached is reset with its body. Otherwise only units
// that did not run because of the seeds are: bypassed ones (with their
// bypassed body); the walk passes through pending units and stops at units
// that ran.
func (p *rerunPlanner) downstream(seeds []int32, all bool) error {
	g := p.g
	seen := make([]bool, len(g.nodes))
	queue := append([]int32(nil), seeds...)
	for _, s := range seeds {
		seen[s] = true
	}
	for len(queue) > 0 {
		x := queue[0]
		queue = queue[1:]
		n := &g.nodes[x]
		for _, y := range n.out {
			if seen[y] {
				continue
			}
			seen[y] = true
			s := g.stored(p.cur, y)
			switch {
			case all:
				if err := p.resetTree(y); err != nil {
					return err
				}
			case s == StateBypassed:
				for j := y; j <= g.nodes[y].last; j++ {
					if g.stored(p.cur, j) == StateBypassed {
						p.reset[j] = true
					}
				}
			case s.IsPending():
			default:
				continue
			}
			queue = append(queue, y)
		}
		if a := n.parent; a >= 0 && !seen[a] {
			seen[a] = true
			queue = append(queue, a)
		}
	}
	return nil
}

// PlanRerun compiles net and plans a rerun on it; see Graph.PlanRerun.
func PlanRerun(net jobnet.Net, states []UnitRun, req RerunRequest) (RerunPlan, error) {
	g, err := Compile(net)
	if err != nil {
		return RerunPlan{}, err
	}
	return g.PlanRerun(states, req)
}
